"""Gateway health: the status payload, the clock sanity check, and `gateway status` output."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from gateway.buffer import BufferStats
from telemetry.wire import encode_status

log = logging.getLogger("gateway.status")

PLAUSIBLE_AFTER_MS = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)


def clock_is_plausible(now_ms: int | None = None) -> bool:
    """False when the system clock says before 2024 (an unset RTC on an edge box)."""
    now_ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    return now_ms >= PLAUSIBLE_AFTER_MS


def warn_if_clock_implausible() -> bool:
    """Log a loud warning when the clock is implausible; return whether it is plausible."""
    ok = clock_is_plausible()
    if not ok:
        log.error(
            "SYSTEM CLOCK IS IMPLAUSIBLE (%s): readings will carry wrong timestamps; "
            "enable NTP (timedatectl set-ntp true)",
            datetime.now(UTC).isoformat(),
        )
    return ok


def oldest_age_s(stats: BufferStats, now_ms: int) -> float | None:
    """Age in seconds of the oldest unsent reading or message, None when the buffer is empty."""
    if stats.oldest_created_ms is None:
        return None
    return max(0.0, (now_ms - stats.oldest_created_ms) / 1000)


def status_payload(gateway_id: str, version: str, stats: BufferStats, state: str) -> bytes:
    """The retained status message: state, version, buffer depth and clock sanity."""
    now_ms = time.time_ns() // 1_000_000
    return encode_status(
        state,
        gateway_id=gateway_id,
        version=version,
        ts_ms=now_ms,
        buffer_messages=stats.messages,
        buffer_pending_readings=stats.pending_readings,
        buffer_bytes=stats.stored_bytes,
        oldest_unsent_age_s=oldest_age_s(stats, now_ms),
        dropped_messages=sum(d.dropped_messages for d in stats.devices),
        waiting_for_ingest=stats.waiting_for_ingest_since_ms is not None,
        clock_plausible=clock_is_plausible(now_ms),
    )


def _waiting_line(stats: BufferStats) -> str:
    since_ms = stats.waiting_for_ingest_since_ms
    if since_ms is None:
        return "ingest: not waiting (publishing, or the gateway is not running)"
    since = datetime.fromtimestamp(since_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return (
        f"ingest: WAITING FOR INGEST since {since}: no ingest worker is online, "
        f"{stats.messages} messages held in the buffer"
    )


def format_status(stats: BufferStats, now_ms: int) -> str:
    """Human-readable `gateway status` output."""
    age = oldest_age_s(stats, now_ms)
    lines = [
        f"buffer depth: {stats.messages} messages, {stats.pending_readings} readings not yet "
        f"packed, {stats.stored_bytes} bytes",
        f"oldest unsent: {'-' if age is None else f'{age:.1f} s'}",
        _waiting_line(stats),
        "",
        f"{'device':<24} {'last seq':>9} {'confirmed':>11} "
        f"{'dropped msgs':>13} {'dropped rdgs':>13}",
    ]
    for d in stats.devices:
        lines.append(
            f"{d.device_id:<24} {d.last_seq:>9} {d.acked_messages:>11} "
            f"{d.dropped_messages:>13} {d.dropped_readings:>13}"
        )
    if not stats.devices:
        lines.append("(no messages sealed yet)")
    return "\n".join(lines)
