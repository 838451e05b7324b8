"""Write analytics test frames into a real store."""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from telemetry.store.base import TimeSeriesStore
from telemetry.wire import Reading, ReceivedReading


def frame_readings(device_id: str, frame: pd.DataFrame) -> list[ReceivedReading]:
    """ReceivedReadings from a frame of ts_ms, received_ms and fields (nulls left out)."""
    fields = [c for c in frame.columns if c not in ("ts_ms", "received_ms")]
    out = []
    for row in frame.to_dict("records"):
        values = {
            name: row[name]
            for name in fields
            if row[name] is not None
            and not (isinstance(row[name], float) and math.isnan(row[name]))
        }
        reading = Reading(device_id=device_id, ts_ms=int(row["ts_ms"]), values=values)
        out.append(ReceivedReading(reading, int(row["received_ms"])))
    return out


def write_frames(store: TimeSeriesStore, frames: Mapping[str, pd.DataFrame]) -> None:
    """One message (seq 1, 2, ...) per reading, written in one batch per device."""
    for device_id, frame in frames.items():
        batch = frame_readings(device_id, frame)
        store.write(batch, [(device_id, seq) for seq in range(1, len(batch) + 1)])
