"""Verify a data package with no server: signature, file hashes, and recomputed metrics.

The order is what makes an untrusted package harmless (reports.package_reader): signature
first, then the manifest, then every member hashed as a bounded stream; data files are parsed
(to recompute the metrics) only when all of that checked out.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

import analytics
from analytics.frames import frames_for_analytics, normalise
from analytics.model import DeviceBookkeeping, Window
from device_profiles import get_profile
from reports.compare import LeafDiff, compare
from reports.errors import RecomputeError, UnusablePackage
from reports.frames import read_csv_frame
from reports.package import Package
from reports.package_reader import check_members, load_checked, open_package, parse_manifest
from reports.signing import signature_valid
from reports.trust import TrustedKey
from telemetry.metrics import TrialMetrics
from telemetry.trial_spec import TrialSpec, TrialSpecError, parse_trial_spec


@dataclass(slots=True)
class VerifyResult:
    """Everything verify found; `ok` only when every check passed."""

    key_label: str
    signature_ok: bool = False
    package_problem: str | None = None
    files_checked: int = 0
    file_problems: list[tuple[str, str]] = field(default_factory=list)
    metric_rows: list[LeafDiff] = field(default_factory=list)
    recompute_problem: str | None = None

    @property
    def mismatches(self) -> list[LeafDiff]:
        """Metric paths whose recomputed value differs from metrics.json."""
        return [row for row in self.metric_rows if not row.match]

    @property
    def ok(self) -> bool:
        """True when signature, every hash and every metric check out."""
        return (self.signature_ok and self.package_problem is None and not self.file_problems
                and self.recompute_problem is None and bool(self.metric_rows)
                and not self.mismatches)


def _spec(package: Package) -> TrialSpec:
    try:
        return parse_trial_spec(yaml.safe_load(package.members["trial.yaml"]), "trial.yaml")
    except KeyError as exc:
        raise RecomputeError("trial.yaml", "missing from the package") from exc
    except (yaml.YAMLError, TrialSpecError) as exc:
        raise RecomputeError("trial.yaml", str(exc)) from exc


def _bookkeeping(package: Package) -> dict[str, DeviceBookkeeping]:
    raw = package.json_member("bookkeeping.json")
    if not isinstance(raw, dict):
        raise RecomputeError("bookkeeping.json", "not a JSON object")
    try:
        return {device_id: DeviceBookkeeping(int(row["duplicates"]), int(row["rejected"]),
                                             int(row["seq_missing"]))
                for device_id, row in raw.items()}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RecomputeError("bookkeeping.json", f"unexpected content: {exc}") from exc


def _parquet_problem(package: Package, member: str, expected: pd.DataFrame, device_id: str,
                     profile_name: str) -> str | None:
    try:
        frame = pd.read_parquet(io.BytesIO(package.members[member]))
        frame = normalise(frame, device_id, get_profile(profile_name))
    except KeyError:
        return "missing from the package"
    except (OSError, ValueError, pa.ArrowException) as exc:
        return f"unreadable: {exc}"
    return None if frame.equals(expected) else "readings differ from the CSV"


def recompute(package: Package, problems: list[tuple[str, str]]) -> TrialMetrics:
    """Metrics recomputed from the packaged CSVs with the packaged methodology version."""
    methodology = package.json_member("methodology.json")
    if not isinstance(methodology, dict):
        raise RecomputeError("methodology.json", "not a JSON object")
    version = str(methodology.get("methodology_version"))
    if version != analytics.METHODOLOGY_VERSION:
        raise RecomputeError("methodology.json", f"methodology version {version}; this innotrial "
                             f"implements {analytics.METHODOLOGY_VERSION}")
    spec = _spec(package)
    try:
        window = Window(int(methodology["window"]["start_ms"]),
                        int(methodology["window"]["end_ms"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise RecomputeError("methodology.json", f"no usable window: {exc}") from exc
    frames: dict[str, pd.DataFrame] = {}
    for device in spec.trial.devices:
        member = f"data/{device.id}.csv"
        if member not in package.members:
            raise RecomputeError(member, "missing from the package")
        frames[device.id] = read_csv_frame(member, package.members[member],
                                           get_profile(device.profile))
        parquet = f"data/{device.id}.parquet"
        problem = _parquet_problem(package, parquet, frames[device.id], device.id, device.profile)
        if problem is not None:
            problems.append((parquet, problem))
    return analytics.compute_trial_metrics(
        spec, frames_for_analytics(frames), _bookkeeping(package), window)


def verify_package(path: Path, key: Ed25519PublicKey, key_label: str) -> VerifyResult:
    """Run every check on the package at `path` with one key (see verify_with)."""
    return verify_with(path, [TrustedKey(key, key_label)])


def verify_with(path: Path, keys: list[TrustedKey]) -> VerifyResult:
    """Run every check on the package at `path`: the first key whose signature verifies is
    used. A malformed package gives a result with `package_problem`, never an exception."""
    try:
        opened = open_package(path)
    except UnusablePackage as exc:
        return VerifyResult(keys[0].label if keys else "", package_problem=exc.problem)
    chosen = next((k for k in keys if signature_valid(k.key, opened.manifest_bytes,
                                                       opened.signature)), None)
    result = VerifyResult((chosen or keys[0]).label if keys else "")
    result.signature_ok = chosen is not None
    if chosen is None:
        result.recompute_problem = "not recomputed: the signature does not verify"
        return result
    try:
        manifest, listed = parse_manifest(opened)
        result.files_checked = len(listed)
        result.file_problems = check_members(opened, listed)
        if result.file_problems:
            result.recompute_problem = "not recomputed: the files do not match the manifest"
            return result
        package = load_checked(opened, manifest, listed)
    except UnusablePackage as exc:
        result.package_problem = exc.problem
        return result
    _recompute_into(result, package)
    return result


def _recompute_into(result: VerifyResult, package: Package) -> None:
    try:
        issued = package.json_member("metrics.json")
        if not isinstance(issued, dict):
            raise RecomputeError("metrics.json", "not a JSON object")
        recomputed = recompute(package, result.file_problems)
    except RecomputeError as exc:
        result.recompute_problem = str(exc)
        return
    except (ValueError, KeyError, TypeError, ArithmeticError) as exc:  # signed but unusable data
        result.recompute_problem = f"the packaged data cannot be analysed: {exc!r}"
        return
    result.metric_rows = compare(recomputed, issued)
