"""What the trial page shows besides charts: gateway and device status, quality, criteria."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.models import DeadLetter, Gateway, Solution, Trial
from registry.queries import rejected_counts
from telemetry.metrics import TrialMetrics
from telemetry.store import StoreError, TimeSeriesStore
from telemetry.trial_spec import TrialSpec

METRICS_TTL_S = 15.0
BUFFER_KEYS = ("buffer_messages", "buffer_depth")
_cache: dict[tuple[str, str], tuple[float, TrialMetrics | None]] = {}
_cache_lock = threading.Lock()


@dataclass
class DeviceStatus:
    """One device as the status panel shows it."""

    device_id: str
    role: str
    profile: str
    last_reading_ms: int | None


@dataclass
class GatewayStatus:
    """One gateway: its last published state and the devices behind it."""

    gateway_id: str
    state: str
    state_changed_ms: int | None
    buffer_depth: int | None
    devices: list[DeviceStatus] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The form the live event stream sends."""
        return {
            "gateway_id": self.gateway_id,
            "state": self.state,
            "state_changed_ms": self.state_changed_ms,
            "buffer_depth": self.buffer_depth,
            "devices": {d.device_id: d.last_reading_ms for d in self.devices},
        }


def _buffer_depth(last_status: dict[str, Any] | None) -> int | None:
    for key in BUFFER_KEYS:
        value = (last_status or {}).get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _display_state(row: Gateway | None) -> str:
    """The gateway's state; an online gateway that holds back readings because it sees no
    ingest worker online (docs/store-and-forward.md) shows as waiting_for_ingest."""
    if row is None:
        return "unknown"
    if row.state == "online" and (row.last_status or {}).get("waiting_for_ingest") is True:
        return "waiting_for_ingest"
    return str(row.state)


def gateway_statuses(
    session: Session, store: TimeSeriesStore, spec: TrialSpec
) -> list[GatewayStatus]:
    """Every gateway of the trial with its state, buffer depth and devices' last readings."""
    ids = [g.id for g in spec.trial.gateways]
    rows = {g.id: g for g in session.scalars(select(Gateway).where(Gateway.id.in_(ids)))}
    out: list[GatewayStatus] = []
    for gateway_id in ids:
        row = rows.get(gateway_id)
        status = GatewayStatus(
            gateway_id=gateway_id,
            state=_display_state(row),
            state_changed_ms=row.state_changed_ms if row is not None else None,
            buffer_depth=_buffer_depth(row.last_status) if row is not None else None,
        )
        for device in spec.trial.devices:
            if device.gateway == gateway_id:
                status.devices.append(
                    DeviceStatus(device.id, device.role.value, device.profile,
                                 store.last_reading_ms(device.id))
                )
        out.append(status)
    return out


def rejected_by_reason(session: Session, device_ids: list[str]) -> list[tuple[str, str, int]]:
    """(device_id, reason, count) of dead-lettered readings of these devices."""
    rows = session.execute(
        select(DeadLetter.device_id, DeadLetter.reason, func.count())
        .where(DeadLetter.device_id.in_(device_ids))
        .group_by(DeadLetter.device_id, DeadLetter.reason)
        .order_by(DeadLetter.device_id, DeadLetter.reason)
    ).all()
    return [(str(device), str(reason), int(n)) for device, reason, n in rows]


def _analyze(
    spec: TrialSpec, store: TimeSeriesStore, rejected: dict[str, int]
) -> TrialMetrics | None:
    try:
        from analytics.model import AnalyticsError
        from analytics.runner import analyze_trial
    except ImportError:
        return None
    try:
        return analyze_trial(spec, store, rejected, int(time.time() * 1000))
    except (AnalyticsError, StoreError):
        return None


def trial_metrics(
    session: Session, store: TimeSeriesStore, spec: TrialSpec
) -> TrialMetrics | None:
    """The metrics JSON so far (cached for a few seconds per trial), or None if unavailable."""
    key = (store.url, spec.trial.id)
    now_s = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and now_s - hit[0] < METRICS_TTL_S:
        return hit[1]
    rejected = rejected_counts(session, [d.id for d in spec.trial.devices])
    metrics = _analyze(spec, store, rejected)
    with _cache_lock:
        _cache[key] = (now_s, metrics)
    return metrics


def forget_metrics() -> None:
    """Drop cached metrics (tests and screenshots change data under a running server)."""
    with _cache_lock:
        _cache.clear()


def trial_summary(session: Session, trial: Trial) -> dict[str, Any]:
    """Header facts of a trial: titles, provider, site, window and status."""
    spec: dict[str, Any] = trial.spec
    solution = session.get(Solution, trial.solution_id)
    return {
        "trial_id": trial.id,
        "wish_title": spec.get("wish", {}).get("title", trial.wish_id),
        "department": spec.get("wish", {}).get("department", ""),
        "solution_title": spec.get("solution", {}).get("title", trial.solution_id),
        "provider": solution.provider_id if solution is not None else "",
        "site": spec.get("trial", {}).get("site", {}).get("name") or "",
        "start_ms": trial.start_ms,
        "end_ms": trial.end_ms,
        "status": trial.status,
    }
