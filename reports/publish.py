"""Publish an issued report version: freeze its files in public, record it, notify subscribers.

`innotrial report build` issues versions under <reports dir>/<trial_id>/v<n>/ (by default
DATA_DIR/reports). Publishing version n copies report.html, report.pdf, package.zip,
metrics.json and changes.json to DATA_DIR/public/<trial_id>/v<n>/, read-only, records a
Publication with each file's SHA-256, sets the trial's status to `published` and puts a
`report_published` notification in the outbox for every subscription matching the trial's
wish. Publishing a version that is already public changes nothing. The public side serves
only the frozen copies, so a later re-issue never alters what was published.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from registry.models import Solution, Trial, Wish
from registry.notifications import count_matching, enqueue_event, wish_payload
from registry.publications import (
    PUBLISHED,
    Publication,
    find_publication,
    trial_publications,
)
from registry.queries import UnknownTrial
from reports.versions import reports_root, version_numbers
from telemetry.metrics import read_metrics

REPORT_PUBLISHED = "report_published"
PUBLIC_DIR = "public"
PUBLIC_FILES = ("report.html", "report.pdf", "package.zip", "metrics.json", "changes.json")
READ_ONLY = 0o444


class NotIssued(LookupError):
    """The trial has no issued report version (or not the one asked for)."""


@dataclass(frozen=True, slots=True)
class PublishResult:
    """What publishing did: the version, when, the version it supersedes, notifications queued."""

    trial_id: str
    version: int
    published_ms: int
    supersedes: int | None
    notified: int
    already_published: bool


def public_dir(data_dir: Path, trial_id: str, version: int) -> Path:
    """The frozen copy of a published version."""
    return Path(data_dir) / PUBLIC_DIR / trial_id / f"v{version}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _digests(folder: Path) -> dict[str, dict[str, Any]]:
    return {
        name: {"sha256": _sha256(folder / name), "bytes": (folder / name).stat().st_size}
        for name in PUBLIC_FILES
        if (folder / name).is_file()
    }


def freeze(source: Path, target: Path) -> dict[str, dict[str, Any]]:
    """Copy the public files of an issued version to `target`, read-only; returns their hashes.

    The copy is made in a temporary folder and renamed into place, so `target` is either
    complete or absent. A complete copy left by an earlier attempt is reused when it matches.
    """
    wanted = _digests(source)
    if target.is_dir():
        if _digests(target) == wanted:
            return wanted
        shutil.rmtree(target)  # an unrecorded, different copy: it was never public
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    for name in wanted:
        shutil.copyfile(source / name, staging / name)
        (staging / name).chmod(READ_ONLY)
    staging.chmod(0o755)  # mkdtemp makes it 0700; readers (the web server) need to list it
    staging.rename(target)
    return wanted


def _issued_version(trial_dir: Path, trial_id: str, version: int | None) -> int:
    issued = version_numbers(trial_dir)
    if not issued:
        raise NotIssued(
            f"trial {trial_id!r} has no issued report in {trial_dir} "
            f"(innotrial report build {trial_id} --out {trial_dir.parent})"
        )
    if version is None:
        return issued[-1]
    if version not in issued:
        listed = ", ".join(f"v{n}" for n in issued)
        raise NotIssued(f"trial {trial_id!r} has no issued report v{version} (issued: {listed})")
    return version


def report_payload(
    trial: Trial, wish: Wish, publication: Publication, solution: Solution | None
) -> dict[str, Any]:
    """The webhook body for a published report of a wish's trial."""
    base = f"/public/trials/{trial.id}"
    return {
        **wish_payload(wish, REPORT_PUBLISHED),
        "report": {
            "trial_id": trial.id,
            "version": publication.version,
            "verdict": publication.verdict,
            "published_ms": publication.published_ms,
            "solution": {
                "id": trial.solution_id,
                "title": solution.title if solution else "",
                "provider": solution.provider_id if solution else "",
            },
            "package_sha256": publication.package_sha256,
            "page": base,
            "package": f"{base}/v{publication.version}/package.zip",
        },
    }


def publish_version(
    session: Session,
    data_dir: Path,
    trial_id: str,
    version: int | None,
    published_by: str,
    *,
    reports_dir: Path | None = None,
    now_ms: int | None = None,
) -> PublishResult:
    """Publish issued `version` (default: the newest) of a trial's report; see the module doc."""
    trial = session.get(Trial, trial_id)
    if trial is None:
        raise UnknownTrial(trial_id)
    trial_dir = (reports_dir or reports_root(data_dir)) / trial_id
    version = _issued_version(trial_dir, trial_id, version)
    existing = find_publication(session, trial_id, version)
    if existing is not None:
        return PublishResult(trial_id, version, existing.published_ms, None, 0, True)
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    earlier = trial_publications(session, trial_id)
    source = trial_dir / f"v{version}"
    files = freeze(source, public_dir(data_dir, trial_id, version))
    metrics = read_metrics(source / "metrics.json")
    changes_path = source / "changes.json"
    changes = json.loads(changes_path.read_text("utf-8")) if changes_path.is_file() else {}
    publication = Publication(
        trial_id=trial_id,
        version=version,
        published_ms=now_ms,
        published_by=published_by,
        verdict=str(metrics.get("verdict", "unknown")),
        package_sha256=files["package.zip"]["sha256"],
        files=files,
        metrics=metrics,
        changes=changes,
        note=str(changes.get("note") or ""),
    )
    session.add(publication)
    trial.status = PUBLISHED
    trial.updated_ms = now_ms
    session.flush()
    wish = session.get(Wish, trial.wish_id)
    notified = 0
    if wish is not None:
        payload = report_payload(trial, wish, publication, session.get(Solution, trial.solution_id))
        enqueue_event(session, wish, REPORT_PUBLISHED, payload, now_ms)
        notified = count_matching(session, wish)  # notifications are made by the delivery thread
    lower = [p.publication.version for p in earlier if p.publication.version < version]
    supersedes = max(lower) if lower else None
    return PublishResult(trial_id, version, now_ms, supersedes, notified, False)
