"""Does the newest issued report of a trial still hold? (API and dashboard, cached.)

The answer is recomputed only when the issued version or the trial's inputs change: the
fingerprint is the version and the metrics fingerprint (trial `updated_ms`, which every
exclusion change bumps, and per device the reading counts, duplicates and dead letters).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from portal_api.metrics_cache import MetricsCache
from portal_api.routes.trial_data import metrics_fingerprint
from registry.models import Trial
from registry.queries import rejected_counts, trial_spec_of
from reports.reissue import ReissueStatus, reissue_status
from reports.versions import latest_version, reports_root
from telemetry.metrics import TrialMetrics
from telemetry.store.base import TimeSeriesStore


def report_status(
    session: Session,
    store: TimeSeriesStore,
    trial: Trial,
    data_dir: Path,
    cache: MetricsCache[dict[str, Any]],
) -> dict[str, Any]:
    """The report-status JSON of the trial (see reports/reissue.py)."""
    from analytics.runner import analyze_trial

    spec = trial_spec_of(session, trial)
    issued = latest_version(reports_root(data_dir) / trial.id)
    if issued is None:
        return ReissueStatus(trial.id).as_json()

    def recompute(end_ms: int) -> TrialMetrics:
        rejected = rejected_counts(session, [d.id for d in spec.trial.devices])
        return analyze_trial(spec, store, rejected, end_ms)

    def fingerprint() -> tuple[Any, ...]:
        return (str(issued.path), issued.version,
                metrics_fingerprint(session, store, spec, trial.updated_ms))

    return cache.get(trial.id, int(time.time() * 1000), False, fingerprint,
                     lambda: reissue_status(spec, issued, recompute).as_json())
