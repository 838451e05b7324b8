"""Report versions: out/<trial_id>/v<n>/ holds one issue; a re-issue with changed data is n+1.

Each version dir holds report.html, report.pdf, package.zip, metrics.json and changes.json
(the metrics that moved since v<n-1>, old -> new per dotted path, the exclusion windows
added / removed / changed since v<n-1>, plus the version note).
A build whose packaged files equal the latest version's creates nothing new.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reports.package import MANIFEST
from telemetry.metrics import TrialMetrics, read_metrics

VERSION_DIR = re.compile(r"^v([1-9][0-9]*)$")
REPORTS_DIR = "reports"


def reports_root(data_dir: Path) -> Path:
    """Where issued versions live by default: DATA_DIR/reports (`report build`'s --out)."""
    return Path(data_dir) / REPORTS_DIR


@dataclass(frozen=True, slots=True)
class IssuedVersion:
    """What an earlier issue left on disk."""

    version: int
    path: Path
    metrics: TrialMetrics
    files: list[dict[str, Any]]


def version_numbers(trial_dir: Path) -> list[int]:
    """Complete version numbers under out/<trial_id>/, ascending."""
    if not trial_dir.is_dir():
        return []
    found = []
    for child in trial_dir.iterdir():
        match = VERSION_DIR.match(child.name)
        if match and (child / "package.zip").exists() and (child / "metrics.json").exists():
            found.append(int(match.group(1)))
    return sorted(found)


def latest_version(trial_dir: Path) -> IssuedVersion | None:
    """The newest complete issue, or None before the first."""
    numbers = version_numbers(trial_dir)
    if not numbers:
        return None
    path = trial_dir / f"v{numbers[-1]}"
    metrics = read_metrics(path / "metrics.json")
    with zipfile.ZipFile(path / "package.zip") as archive:
        manifest = json.loads(archive.read(MANIFEST))
    return IssuedVersion(numbers[-1], path, metrics, list(manifest.get("files", [])))
