"""Small value types shared by the analytics modules."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from telemetry.store.base import DeviceStats

TS = "ts_ms"
RECEIVED = "received_ms"


class AnalyticsError(Exception):
    """Base class of analytics errors."""


class UnknownMetric(AnalyticsError):
    """An acceptance criterion names a metric path that the methodology does not define."""

    def __init__(self, metric: str, problem: str) -> None:
        self.metric = metric
        self.problem = problem
        super().__init__(f"criterion metric {metric!r}: {problem}")


@dataclass(frozen=True, slots=True)
class Window:
    """The trial window W = [start_ms, end_ms), epoch milliseconds UTC."""

    start_ms: int
    end_ms: int

    @property
    def length_ms(self) -> int:
        """end_ms - start_ms, never negative."""
        return max(0, self.end_ms - self.start_ms)

    def clip(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Rows with ts_ms in W, sorted by ts_ms (the frame itself when it already is)."""
        ts = frame[TS].to_numpy()
        inside = (ts >= self.start_ms) & (ts < self.end_ms)
        ordered = ts.size < 2 or bool(np.all(ts[1:] > ts[:-1]))
        if ordered and inside.all():
            return frame
        picked = frame[inside]
        if not ordered:
            picked = picked.sort_values(TS, kind="stable")
        return picked.reset_index(drop=True)


@dataclass(frozen=True, slots=True)
class DeviceBookkeeping:
    """Per-device counters that are not in the readings themselves (METRICS.md data quality)."""

    duplicates: int = 0
    rejected: int = 0
    seq_missing: int = 0

    @classmethod
    def from_stats(cls, stats: DeviceStats, rejected: int) -> DeviceBookkeeping:
        """Bookkeeping from a store's DeviceStats plus the dead-letter count."""
        return cls(duplicates=stats.duplicates, rejected=rejected, seq_missing=stats.seq_missing)
