"""Verify a data package with no server: signature, file hashes, and recomputed metrics."""

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
from reports.errors import KeyProblem, RecomputeError
from reports.frames import read_csv_frame
from reports.package import MANIFEST, SIGNATURE, Package, read_package, sha256_hex
from reports.signing import issuer_key_path, load_public_key, signature_valid
from telemetry.metrics import TrialMetrics
from telemetry.trial_spec import TrialSpec, TrialSpecError, parse_trial_spec


@dataclass(slots=True)
class VerifyResult:
    """Everything verify found; `ok` only when every check passed."""

    key_label: str
    signature_ok: bool = False
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
        return (self.signature_ok and not self.file_problems and self.recompute_problem is None
                and bool(self.metric_rows) and not self.mismatches)


def choose_key(public_key: Path | None, data_dir: Path) -> tuple[Ed25519PublicKey, str]:
    """The key to verify with and a label saying where it came from."""
    if public_key is not None:
        return load_public_key(public_key), f"{public_key} (--public-key)"
    local = issuer_key_path(data_dir)
    if not local.exists():
        raise KeyProblem(str(local), "no --public-key given and no local issuer key; pass "
                         "--public-key FILE (the issuer's public key, e.g. from the portal API)")
    return load_public_key(local), f"{local} (local issuer key in the data dir)"


def check_files(package: Package) -> tuple[int, list[tuple[str, str]]]:
    """(files checked, [(file, problem)]) comparing members with the manifest's SHA-256."""
    problems: list[tuple[str, str]] = []
    listed: dict[str, str] = {}
    for entry in package.manifest.get("files", []):
        listed[str(entry.get("path"))] = str(entry.get("sha256"))
    for path, digest in sorted(listed.items()):
        data = package.members.get(path)
        if data is None:
            problems.append((path, "listed in the manifest but missing from the package"))
        elif sha256_hex(data) != digest:
            problems.append((path, "SHA-256 does not match the manifest"))
    for path in sorted(set(package.members) - set(listed) - {MANIFEST, SIGNATURE}):
        problems.append((path, "in the package but not listed in the manifest"))
    return len(listed), problems


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
    """Run every check on the package at `path`; UnusablePackage when it cannot be read."""
    package = read_package(path)
    result = VerifyResult(key_label)
    result.signature_ok = signature_valid(key, package.manifest_bytes, package.signature)
    result.files_checked, result.file_problems = check_files(package)
    try:
        issued = package.json_member("metrics.json")
        if not isinstance(issued, dict):
            raise RecomputeError("metrics.json", "not a JSON object")
        recomputed = recompute(package, result.file_problems)
    except RecomputeError as exc:
        result.recompute_problem = str(exc)
        return result
    result.metric_rows = compare(recomputed, issued)
    return result
