"""Issue and publish reports of the sample trials (browser tests, screenshots, benchmarks)."""

from __future__ import annotations

from pathlib import Path

from registry.db import Registry
from registry.queries import get_trial_spec, rejected_counts
from reports.publish import PublishResult, publish_version
from reports.versions import reports_root
from telemetry.store import TimeSeriesStore


def issue_report(
    registry: Registry,
    store: TimeSeriesStore,
    data_dir: Path,
    trial_id: str,
    *,
    with_pdf: bool,
    version_note: str | None = None,
) -> int:
    """Build a trial's report into DATA_DIR/reports (as `innotrial report build`); its version."""
    from reports.build import build_report

    with registry.session() as session:
        spec = get_trial_spec(session, trial_id)
        rejected = rejected_counts(session, [d.id for d in spec.trial.devices])
    result = build_report(
        spec,
        store,
        rejected,
        reports_root(data_dir),
        data_dir,
        version_note=version_note,
        with_pdf=with_pdf,
    )
    return result.version


def publish(
    registry: Registry,
    data_dir: Path,
    trial_id: str,
    version: int | None = None,
    by: str = "assessor",
) -> PublishResult:
    """Publish an issued version (default: the newest), as `innotrial report publish` does."""
    with registry.session() as session:
        return publish_version(session, data_dir, trial_id, version, by)
