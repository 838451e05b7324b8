"""A trial's data: streamed readings downloads and the metrics JSON."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.orm import Session

from portal_api.auth import Principal, visible_trial
from portal_api.deps import PrincipalDep, SessionDep, StateDep, StoreDep
from portal_api.downloads import MEDIA_TYPES, SERIALISERS, plan_export
from portal_api.errors import BadRequest, NotFound
from portal_api.routes.common import NOT_FOUND, OPTIONAL_AUTH, parse_int64
from registry.queries import rejected_counts, trial_spec_of
from telemetry.metrics import TrialMetrics
from telemetry.store.base import TimeSeriesStore
from telemetry.trial_spec import TrialSpec

router = APIRouter(prefix="/trials", tags=["trial data"])
TimeParam = Annotated[
    str | None,
    Query(max_length=64, description="epoch ms or RFC 3339 time (default: trial window)"),
]


def parse_time_ms(value: str | None, default_ms: int, name: str) -> int:
    """Epoch ms from a decimal integer within int64 or an RFC 3339 time with offset; 422 for
    anything else (`--5`, `²`, `+5`, numbers beyond int64)."""
    if value is None or value == "":
        return default_ms
    if value[0] in "+-" or value.isdigit():  # isdigit: also `²` and other digits, refused
        number = parse_int64(value)
        if number is None:
            raise BadRequest(f"{name}: expected epoch ms (a whole number within 64 bits) or an "
                             f"RFC 3339 time, got {value!r}")
        return number
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadRequest(f"{name}: expected epoch ms or an RFC 3339 time, got {value!r}") from exc
    if parsed.tzinfo is None:
        raise BadRequest(f"{name}: a time needs a UTC offset, got {value!r}")
    return int(parsed.timestamp() * 1000)


def _trial_spec(session: Session, principal: Principal, trial_id: str) -> TrialSpec:
    return trial_spec_of(session, visible_trial(session, principal, trial_id))


@router.get(
    "/{trial_id}/readings",
    openapi_extra=OPTIONAL_AUTH,
    responses={
        **NOT_FOUND,
        200: {
            "description": "The readings, streamed",
            "content": {
                "text/csv": {},
                "application/json": {},
                "application/vnd.apache.parquet": {},
            },
        },
    },
)
def download_readings(
    session: SessionDep,
    principal: PrincipalDep,
    store: StoreDep,
    trial_id: str,
    device_id: Annotated[str | None, Query(max_length=64)] = None,
    start: TimeParam = None,
    end: TimeParam = None,
    format: Literal["csv", "json", "parquet"] = "csv",
) -> StreamingResponse:
    """A trial's readings (one device or all), streamed as CSV, JSON or Parquet. Only the
    trial's own devices, and only inside the trial window: `start` and `end` narrow the window,
    never widen it, so a device id reused by another trial never shows that trial's readings."""
    spec = _trial_spec(session, principal, trial_id)
    devices = [(d.id, d.profile) for d in spec.trial.devices if device_id in (None, d.id)]
    if not devices:
        raise NotFound("device")
    window = spec.trial
    start_ms = max(parse_time_ms(start, window.start_ms, "start"), window.start_ms)
    end_ms = min(parse_time_ms(end, window.end_ms, "end"), window.end_ms)
    export = plan_export(devices, start_ms, max(start_ms, end_ms))
    filename = f"{trial_id}{'-' + device_id if device_id else ''}.{format}"
    return StreamingResponse(
        SERIALISERS[format](store, export),
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def metrics_fingerprint(
    session: Session, store: TimeSeriesStore, spec: TrialSpec, updated_ms: int
) -> tuple[Any, ...]:
    """What the metrics depend on: new readings, duplicates or dead letters change it."""
    body = spec.trial
    ids = [d.id for d in body.devices]
    rejected = rejected_counts(session, ids)
    per_device = []
    for device_id in ids:
        stats = store.device_stats(device_id)
        per_device.append(
            (
                device_id,
                store.count(device_id, body.start_ms, body.end_ms),
                store.last_reading_ms(device_id),
                stats.duplicates,
                stats.seq_distinct,
                rejected[device_id],
            )
        )
    return (updated_ms, tuple(per_device))


@router.get("/{trial_id}/metrics", openapi_extra=OPTIONAL_AUTH, responses=NOT_FOUND)
def trial_metrics(
    session: SessionDep, principal: PrincipalDep, store: StoreDep, state: StateDep, trial_id: str
) -> JSONResponse:
    """The metrics JSON of a trial (as `innotrial analyze`), cached until new data arrives."""
    from analytics.runner import analyze_trial

    trial = visible_trial(session, principal, trial_id)
    spec = trial_spec_of(session, trial)
    now_ms = int(time.time() * 1000)
    running = spec.trial.start_ms <= now_ms < spec.trial.end_ms

    def compute() -> TrialMetrics:
        rejected = rejected_counts(session, [d.id for d in spec.trial.devices])
        return analyze_trial(spec, store, rejected, now_ms)

    metrics = state.metrics_cache.get(
        trial_id,
        now_ms,
        running,
        lambda: metrics_fingerprint(session, store, spec, trial.updated_ms),
        compute,
    )
    return JSONResponse(metrics)
