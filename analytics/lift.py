"""lift: a remote-monitoring unit against the lift controller's own event log."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analytics._stats import f1, percentile, ratio
from analytics.model import TS, Window

MONITORED_TYPES = ("fault_door", "fault_levelling", "entrapment", "out_of_service", "in_service")
DAY_MS = 86_400_000
COLUMNS = ("event_type",)


def greedy_match(ref_ms: list[int], dut_ms: list[int], window_ms: float) -> list[tuple[int, int]]:
    """(ts_r, ts_d) pairs: r events in ts order, each to the earliest unmatched d within window.

    Both lists are sorted. A d event earlier than ts_r - window can match no later r event
    either, so one forward pointer over d finds the earliest unmatched candidate.
    """
    matches: list[tuple[int, int]] = []
    i = 0
    for ts_r in ref_ms:
        while i < len(dut_ms) and dut_ms[i] < ts_r - window_ms:
            i += 1
        if i < len(dut_ms) and dut_ms[i] <= ts_r + window_ms:
            matches.append((ts_r, dut_ms[i]))
            i += 1
    return matches


def _counts(tp: int, n_ref: int, n_dut: int) -> dict[str, Any]:
    fn, fp = n_ref - tp, n_dut - tp
    return {
        "tp": tp,
        "fn": fn,
        "fp": fp,
        "recall": ratio(tp, tp + fn),
        "precision": ratio(tp, tp + fp),
        "f1": f1(tp, fp, fn),
    }


def _stamps(events: pd.DataFrame, event_type: str) -> list[int]:
    picked = events[TS].to_numpy(dtype=np.int64)[events["event_type"].to_numpy() == event_type]
    return [int(ts) for ts in picked]


def availability(reference: pd.DataFrame, window: Window) -> float | None:
    """1 - downtime / |W|; downtime = union of out_of_service -> next in_service (or end_ms)."""
    if window.length_ms == 0 or reference.empty:
        return None
    kinds = reference["event_type"].to_numpy()
    ts = reference[TS].to_numpy(dtype=np.int64)
    starts = ts[kinds == "out_of_service"]
    back = ts[kinds == "in_service"]
    nxt = np.searchsorted(back, starts, side="right")
    padded = np.append(back, np.int64(window.end_ms))
    ends = padded[nxt]  # the next in_service, or end_ms when there is none
    down_ms, covered_to = 0, window.start_ms
    for start, end in zip(
        np.maximum(starts, window.start_ms), np.minimum(ends, window.end_ms), strict=True
    ):
        lo = max(int(start), covered_to)
        if end > lo:
            down_ms += int(end) - lo
            covered_to = int(end)
    return 1.0 - down_ms / window.length_ms


def lift_metrics(
    monitor: pd.DataFrame, controller: pd.DataFrame, window: Window, match_window_s: float
) -> dict[str, Any]:
    """METRICS.md lift metrics of monitor d against controller log r."""
    d = window.clip(monitor)
    r = window.clip(controller)
    window_ms = match_window_s * 1000.0
    by_type: dict[str, dict[str, Any]] = {}
    delays_s: list[float] = []
    tp = n_ref = n_dut = 0
    for event_type in MONITORED_TYPES:
        ref_ms, dut_ms = _stamps(r, event_type), _stamps(d, event_type)
        matches = greedy_match(ref_ms, dut_ms, window_ms)
        delays_s.extend((ts_d - ts_r) / 1000.0 for ts_r, ts_d in matches)
        by_type[event_type] = _counts(len(matches), len(ref_ms), len(dut_ms))
        tp, n_ref, n_dut = tp + len(matches), n_ref + len(ref_ms), n_dut + len(dut_ms)
    totals = _counts(tp, n_ref, n_dut)
    window_days = window.length_ms / DAY_MS
    return {
        **totals,
        "false_alerts_per_30d": ratio(totals["fp"], window_days / 30.0),
        "detection_delay_p50_s": percentile(delays_s, 50),
        "detection_delay_p95_s": percentile(delays_s, 95),
        "availability": availability(r, window),
        "by_type": by_type,
    }
