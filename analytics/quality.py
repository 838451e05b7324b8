"""Data quality of one device over the trial window (METRICS.md "Data quality")."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analytics.exclusions import ActiveTime
from analytics.model import RECEIVED, TS, DeviceBookkeeping, Window


def gap_stats(ts_ms: np.ndarray, window: Window, period_ms: int) -> tuple[int, float]:
    """(gap_count, longest_gap_s) of sorted in-window timestamps of a periodic device.

    Deltas run from the window start (t1 + p - start), between readings, and to the window
    end (end - tn); a delta d > 2p is a gap of length d - p.
    """
    if ts_ms.size == 0:
        deltas = np.array([window.end_ms - window.start_ms + period_ms], dtype=np.int64)
    else:
        deltas = np.concatenate(
            (
                [ts_ms[0] + period_ms - window.start_ms],
                np.diff(ts_ms),
                [window.end_ms - ts_ms[-1]],
            )
        ).astype(np.int64)
    gaps = deltas[deltas > 2 * period_ms] - period_ms
    longest_s = float(gaps.max()) / 1000.0 if gaps.size else 0.0
    return int(gaps.size), longest_s


def segment_gap_stats(ts_ms: np.ndarray, active: ActiveTime, period_ms: int) -> tuple[int, float]:
    """v1's gap rule on each active segment on its own: total count, longest over segments.

    Without active time there is no gap (0, 0.0), as for an empty window in v1.
    """
    count, longest_s = 0, 0.0
    for segment in active.segments:
        lo, hi = np.searchsorted(ts_ms, [segment.start_ms, segment.end_ms], side="left")
        n, longest = gap_stats(ts_ms[lo:hi], segment, period_ms)
        count, longest_s = count + n, max(longest_s, longest)
    return count, longest_s


def device_quality(
    frame: pd.DataFrame,
    window: Window,
    period_ms: int | None,
    bookkeeping: DeviceBookkeeping,
    active: ActiveTime | None = None,
) -> dict[str, Any]:
    """Quality metrics of one device; `period_ms` is None for event profiles.

    `active` is the device's active time (METRICS-v2.md §1), the whole window by default;
    readings in excluded time are removed first.
    """
    active = ActiveTime.of(window) if active is None else active
    inside = active.keep(window.clip(frame))
    ts = inside[TS].to_numpy(dtype=np.int64)
    received = int(ts.size)
    expected: int | None = None
    completeness: float | None = None
    gap_count: int | None = None
    longest_gap_s: float | None = None
    if period_ms is not None:
        expected = sum(segment.length_ms // period_ms for segment in active.segments)
        completeness = None if expected == 0 else min(1.0, received / expected)
        gap_count, longest_gap_s = segment_gap_stats(ts, active, period_ms)
    latency_s = np.empty(0)
    if RECEIVED in inside:
        latency_s = (inside[RECEIVED].to_numpy(dtype=np.int64) - ts) / 1000.0
    p50 = p95 = None
    if latency_s.size:
        p50, p95 = (float(v) for v in np.percentile(latency_s, [50, 95]))
    return {
        "expected": expected,
        "received": received,
        "completeness": completeness,
        "gap_count": gap_count,
        "longest_gap_s": longest_gap_s,
        "latency_p50_s": p50,
        "latency_p95_s": p95,
        "duplicates": bookkeeping.duplicates,
        "rejected": bookkeeping.rejected,
        "seq_missing": bookkeeping.seq_missing,
        "excluded_s": active.excluded_ms / 1000.0,
    }
