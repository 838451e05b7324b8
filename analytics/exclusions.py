"""Exclusion windows and a device's active time (METRICS-v2.md §1)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analytics.model import TS, Window
from registry.trial_spec import ExclusionSpec


def merge_intervals(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The union of half-open intervals as sorted disjoint intervals (empty ones dropped)."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(i for i in intervals if i[1] > i[0]):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def overlap_ms(a: Sequence[tuple[int, int]], b: Sequence[tuple[int, int]]) -> int:
    """|A ∩ B| of two sorted lists of disjoint half-open intervals."""
    total, i, j = 0, 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        total += max(0, hi - lo)
        if a[i][1] <= b[j][1]:
            i += 1
        else:
            j += 1
    return total


@dataclass(frozen=True, slots=True)
class ActiveTime:
    """A device's active time A = W minus its exclusion windows: disjoint segments in order."""

    window: Window
    segments: tuple[Window, ...]

    @classmethod
    def of(cls, window: Window, excluded: Iterable[tuple[int, int]] = ()) -> ActiveTime:
        """W minus the union of `excluded` [start_ms, end_ms) intervals."""
        cut = merge_intervals(
            (max(lo, window.start_ms), min(hi, window.end_ms)) for lo, hi in excluded
        )
        segments, at = [], window.start_ms
        for lo, hi in cut:
            if lo > at:
                segments.append(Window(at, lo))
            at = max(at, hi)
        if window.end_ms > at:
            segments.append(Window(at, window.end_ms))
        return cls(window, tuple(segments))

    @property
    def length_ms(self) -> int:
        """|A| in ms."""
        return sum(s.length_ms for s in self.segments)

    @property
    def excluded_ms(self) -> int:
        """|W ∩ X| in ms."""
        return self.window.length_ms - self.length_ms

    @property
    def bounds(self) -> list[tuple[int, int]]:
        """The segments as (start_ms, end_ms) tuples."""
        return [(s.start_ms, s.end_ms) for s in self.segments]

    @property
    def is_whole_window(self) -> bool:
        """True when nothing of W is excluded."""
        return self.excluded_ms == 0

    def keep(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Rows of a ts-sorted in-window frame whose ts lies in the active time."""
        if self.is_whole_window:
            return frame
        if not self.segments:
            return frame.iloc[0:0].reset_index(drop=True)
        ts = frame[TS].to_numpy(dtype=np.int64)
        starts = np.array([s.start_ms for s in self.segments], dtype=np.int64)
        ends = np.array([s.end_ms for s in self.segments], dtype=np.int64)
        idx = np.searchsorted(starts, ts, side="right") - 1
        inside = (idx >= 0) & (ts < ends[np.maximum(idx, 0)])
        if inside.all():
            return frame
        return frame[inside].reset_index(drop=True)


def active_time(window: Window, exclusions: Sequence[ExclusionSpec]) -> ActiveTime:
    """A device's active time from the exclusion windows that name it."""
    return ActiveTime.of(window, ((x.start_ms, x.end_ms) for x in exclusions))


def applied_exclusions(window: Window, exclusions: Sequence[ExclusionSpec]) -> list[dict[str, Any]]:
    """The trial's exclusion windows that overlap W, as the metrics JSON lists them."""
    return [
        {
            "id": x.id,
            "start_ms": x.start_ms,
            "end_ms": x.end_ms,
            "devices": x.devices if x.devices == "all" else list(x.devices),
            "reason": x.reason,
            "approved_by": x.approved_by,
        }
        for x in exclusions
        if x.start_ms < window.end_ms and x.end_ms > window.start_ms
    ]
