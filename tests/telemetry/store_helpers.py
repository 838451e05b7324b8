"""Small builders shared by the store tests."""

from __future__ import annotations

from telemetry.wire import FieldValue, Reading, ReceivedReading

T0_MS = 1_764_201_600_000  # 2025-11-27T00:00:00Z


def rr(device_id: str, ts_ms: int, received_ms: int | None = None, /, **values: FieldValue) -> ReceivedReading:
    """A ReceivedReading; received_ms defaults to ts_ms + 250."""
    return ReceivedReading(
        Reading(device_id=device_id, ts_ms=ts_ms, values=values),
        ts_ms + 250 if received_ms is None else received_ms,
    )


def rain_series(device_id: str, n: int, start_ms: int = T0_MS, period_ms: int = 1000) -> list[ReceivedReading]:
    """n periodic readings with a float field and an optional one missing every 7th reading."""
    out = []
    for i in range(n):
        values: dict[str, FieldValue] = {"rain_mm": round((i % 50) * 0.1, 1)}
        if i % 7:
            values["battery_v"] = 3.0 + (i % 100) / 100
        out.append(rr(device_id, start_ms + i * period_ms, start_ms + i * period_ms + 400 + i % 30, **values))
    return out
