"""Build a verified report: metrics, signed data package, report.html and report.pdf."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

import analytics
from analytics.frames import load_trial_frames, packaged_frame
from analytics.model import Window
from analytics.runner import trial_bookkeeping, trial_device_stats, trial_window
from reports import compare, package, pdf, signing
from reports.charts import comparison_charts
from reports.errors import PdfUnavailable
from reports.frames import to_csv_bytes, to_parquet_bytes
from reports.html import ReportContext, render_html
from reports.reissue import exclusion_changes, issued_exclusions
from reports.versions import IssuedVersion, latest_version
from telemetry.metrics import TrialMetrics
from telemetry.store.base import DeviceStats, TimeSeriesStore
from telemetry.trial_spec import DEFAULT_PARAMS, TrialSpec, trial_to_yaml
from telemetry.version import __version__


@dataclass(slots=True)
class ReportResult:
    """Where the issue landed; `timings_s` breaks the build time down by stage."""

    paths: dict[str, Path]
    version: int
    verdict: str
    package_sha256: str
    timings_s: dict[str, float] = field(default_factory=dict)
    unchanged: bool = False
    pdf_problem: str | None = None


class _Clock:
    def __init__(self) -> None:
        self.timings_s: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings_s[stage] = self.timings_s.get(stage, 0.0) + now - self._last
        self._last = now


def bookkeeping_rows(device_stats: Mapping[str, DeviceStats],
                     rejected: Mapping[str, int]) -> dict[str, dict[str, Any]]:
    """Per device: duplicates, rejected and seq statistics (bookkeeping.json)."""
    rows: dict[str, dict[str, Any]] = {}
    for device_id, stats in device_stats.items():
        rows[device_id] = {"duplicates": stats.duplicates,
                           "rejected": int(rejected.get(device_id, 0)),
                           "seq_min": stats.seq_min, "seq_max": stats.seq_max,
                           "seq_distinct": stats.seq_distinct, "seq_missing": stats.seq_missing}
    return rows


def package_files(spec: TrialSpec, frames: Mapping[str, pd.DataFrame], metrics: TrialMetrics,
                  bookkeeping: Mapping[str, Any], window: Window) -> dict[str, bytes]:
    """Every file of the data package except README, manifest and signature."""
    files: dict[str, bytes] = {
        "trial.yaml": trial_to_yaml(spec).encode("utf-8"),
        "metrics.json": package.dumps(metrics),
        "bookkeeping.json": package.dumps(bookkeeping),
        "methodology.json": package.dumps({
            "methodology_version": analytics.METHODOLOGY_VERSION,
            "window": {"start_ms": window.start_ms, "end_ms": window.end_ms},
            "params": {name: spec.trial.param(name) for name in DEFAULT_PARAMS},
        }),
    }
    for device_id, frame in frames.items():
        files[f"data/{device_id}.csv"] = to_csv_bytes(frame)
        files[f"data/{device_id}.parquet"] = to_parquet_bytes(frame)
    return files


def _listing(files: Mapping[str, bytes]) -> list[tuple[str, str]]:
    contents = {**files, "README.txt": package.README.encode("utf-8")}
    return sorted((path, package.sha256_hex(data)) for path, data in contents.items())


def _reuse(previous: IssuedVersion) -> ReportResult:
    paths = {name: previous.path / name for name in
             ("report.html", "report.pdf", "package.zip", "metrics.json", "changes.json")}
    paths = {name: path for name, path in paths.items() if path.exists()}
    digest = package.sha256_hex((previous.path / "package.zip").read_bytes())
    return ReportResult({"dir": previous.path, **paths}, previous.version,
                        str(previous.metrics.get("verdict")), digest, unchanged=True)


def _write_outputs(target: Path, blobs: Mapping[str, bytes], html: str,
                   make_pdf: Callable[[Path], str | None]) -> str | None:
    """Write into a temporary sibling dir, print the PDF, then rename into place."""
    staging = target.with_name(f".{target.name}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name, data in blobs.items():
        (staging / name).write_bytes(data)
    (staging / "report.html").write_text(html, encoding="utf-8")
    problem = make_pdf(staging)
    staging.rename(target)
    return problem


def _no_pdf(_directory: Path) -> str | None:
    return None


def _pdf_into(directory: Path) -> str | None:
    try:
        pdf.print_pdf(directory / "report.html", directory / "report.pdf")
    except PdfUnavailable as exc:
        return str(exc)
    return None


def build_report(
    spec: TrialSpec,
    store: TimeSeriesStore,
    rejected: Mapping[str, int],
    out_dir: Path,
    data_dir: Path,
    now_ms: int | None = None,
    *,
    version_note: str | None = None,
    with_pdf: bool = True,
) -> ReportResult:
    """Issue the trial's report into out_dir/<trial_id>/v<n>/ (n+1 when the data changed)."""
    clock = _Clock()
    window = trial_window(spec, now_ms)
    typed = load_trial_frames(spec, store, window, all_fields=True)
    frames = {device_id: packaged_frame(frame, device_id) for device_id, frame in typed.items()}
    stats = trial_device_stats(spec, store)
    books = bookkeeping_rows(stats, rejected)
    clock.lap("load")
    metrics = analytics.compute_trial_metrics(
        spec, typed, trial_bookkeeping(stats, rejected), window)
    clock.lap("metrics")
    files = package_files(spec, frames, metrics, books, window)
    trial_dir = Path(out_dir) / spec.trial.id
    previous = latest_version(trial_dir)
    if previous is not None and _listing(files) == sorted(
            (f["path"], f["sha256"]) for f in previous.files):
        return _reuse(previous)
    return _issue(Issue(spec, frames, window, metrics, files, previous, trial_dir, data_dir,
                        now_ms, version_note, with_pdf), clock)


@dataclass(frozen=True, slots=True)
class Issue:
    """Everything one new version is made from."""

    spec: TrialSpec
    frames: Mapping[str, pd.DataFrame]
    window: Window
    metrics: TrialMetrics
    files: dict[str, bytes]
    previous: IssuedVersion | None
    trial_dir: Path
    data_dir: Path
    now_ms: int | None
    version_note: str | None
    with_pdf: bool


def _issue(job: Issue, clock: _Clock) -> ReportResult:
    """Sign the package, draw the charts, render and print: version n+1 on disk."""
    previous, metrics, version_note = job.previous, job.metrics, job.version_note
    version = 1 if previous is None else previous.version + 1
    header = {"trial_id": job.spec.trial.id, "version": version, "version_note": version_note,
              "software_version": __version__,
              "methodology_version": analytics.METHODOLOGY_VERSION}
    zipped = package.build_package(job.files, header, lambda m: signing.sign(job.data_dir, m))
    digest = package.sha256_hex(zipped)
    clock.lap("package")
    charts = comparison_charts(job.spec, job.frames, job.window, metrics["comparisons"])
    clock.lap("charts")
    changes = [] if previous is None else compare.changes(previous.metrics, metrics)
    context = ReportContext(version, int(time.time() * 1000) if job.now_ms is None else job.now_ms,
                            digest, __version__, changes,
                            None if previous is None else previous.version, version_note)
    html = render_html(job.spec, metrics, charts, context)
    clock.lap("html")
    change_log = {"version": version, "previous_version": context.previous_version,
                  "note": version_note, "changes": changes,
                  "exclusions": exclusion_changes(
                      {} if previous is None else issued_exclusions(previous),
                      job.spec.trial.exclusions).as_json()}
    blobs = {"package.zip": zipped, "metrics.json": job.files["metrics.json"],
             "changes.json": package.dumps(change_log)}
    target = job.trial_dir / f"v{version}"
    problem = _write_outputs(target, blobs, html, _pdf_into if job.with_pdf else _no_pdf)
    clock.lap("pdf")
    paths = {"dir": target, **{name: target / name for name in (*blobs, "report.html")}}
    if (target / "report.pdf").exists():
        paths["report.pdf"] = target / "report.pdf"
    return ReportResult(paths, version, str(metrics["verdict"]), digest, clock.timings_s,
                        pdf_problem=problem)

