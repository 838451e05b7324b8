"""lift: a remote-monitoring unit against the lift controller's own event log."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analytics._stats import f1, percentile, ratio, wilson
from analytics.exclusions import ActiveTime, merge_intervals, overlap_ms
from analytics.model import TS, Window

MONITORED_TYPES = ("fault_door", "fault_levelling", "entrapment", "out_of_service", "in_service")
ALERT_TYPES = ("fault_door", "fault_levelling", "entrapment")
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
    recall_low, recall_high = wilson(tp, tp + fn)
    precision_low, precision_high = wilson(tp, tp + fp)
    return {
        "tp": tp,
        "fn": fn,
        "fp": fp,
        "recall": ratio(tp, tp + fn),
        "recall_ci_low": recall_low,
        "recall_ci_high": recall_high,
        "precision": ratio(tp, tp + fp),
        "precision_ci_low": precision_low,
        "precision_ci_high": precision_high,
        "f1": f1(tp, fp, fn),
    }


def _stamps(events: pd.DataFrame, event_type: str) -> list[int]:
    picked = events[TS].to_numpy(dtype=np.int64)[events["event_type"].to_numpy() == event_type]
    return [int(ts) for ts in picked]


def downtime(events: pd.DataFrame, window: Window) -> list[tuple[int, int]]:
    """Union of out_of_service -> next in_service (or end_ms), clipped to W, as intervals."""
    kinds = events["event_type"].to_numpy()
    ts = events[TS].to_numpy(dtype=np.int64)
    starts = ts[kinds == "out_of_service"]
    back = ts[kinds == "in_service"]
    nxt = np.searchsorted(back, starts, side="right")
    ends = np.append(back, np.int64(window.end_ms))[nxt]  # next in_service, or end_ms
    return merge_intervals(
        (max(int(lo), window.start_ms), min(int(hi), window.end_ms))
        for lo, hi in zip(starts, ends, strict=True)
    )


def availability(
    events: pd.DataFrame, window: Window, active: ActiveTime | None = None
) -> float | None:
    """1 - |D ∩ A| / |A| (A = active time, W by default); None without events or active time."""
    active = ActiveTime.of(window) if active is None else active
    if active.length_ms == 0 or events.empty:
        return None
    down_ms = overlap_ms(downtime(events, window), active.bounds)
    return 1.0 - down_ms / active.length_ms


def heartbeat_max_gap_s(events: pd.DataFrame, active: ActiveTime) -> float | None:
    """Largest delta between heartbeats, from each segment's start and to its end, in s."""
    if active.length_ms == 0:
        return None
    ts = np.array(_stamps(events, "heartbeat"), dtype=np.int64)
    longest = 0
    for segment in active.segments:
        lo, hi = np.searchsorted(ts, [segment.start_ms, segment.end_ms], side="left")
        edges = np.concatenate(([segment.start_ms], ts[lo:hi], [segment.end_ms]))
        longest = max(longest, int(np.diff(edges).max()))
    return longest / 1000.0


def lift_metrics(
    monitor: pd.DataFrame,
    controller: pd.DataFrame,
    window: Window,
    match_window_s: float,
    active: tuple[ActiveTime, ActiveTime] | None = None,
) -> dict[str, Any]:
    """METRICS.md (v2) lift metrics of monitor d against controller log r.

    `active` is (A_d, A_r), the devices' active times (whole window by default); readings
    outside them are removed first.
    """
    a_d, a_r = active or (ActiveTime.of(window), ActiveTime.of(window))
    d = a_d.keep(window.clip(monitor))
    r = a_r.keep(window.clip(controller))
    window_ms = match_window_s * 1000.0
    by_type: dict[str, dict[str, Any]] = {}
    delays_s: list[float] = []
    tp = n_ref = n_dut = false_alerts = 0
    for event_type in MONITORED_TYPES:
        ref_ms, dut_ms = _stamps(r, event_type), _stamps(d, event_type)
        matches = greedy_match(ref_ms, dut_ms, window_ms)
        delays_s.extend((ts_d - ts_r) / 1000.0 for ts_r, ts_d in matches)
        by_type[event_type] = _counts(len(matches), len(ref_ms), len(dut_ms))
        if event_type in ALERT_TYPES:
            false_alerts += by_type[event_type]["fp"]
        tp, n_ref, n_dut = tp + len(matches), n_ref + len(ref_ms), n_dut + len(dut_ms)
    totals = _counts(tp, n_ref, n_dut)
    active_days = a_d.length_ms / DAY_MS
    monitor_availability = availability(d, window, a_d)
    reference_availability = availability(r, window, a_r)
    return {
        **totals,
        "false_alerts_per_30d": ratio(false_alerts, active_days / 30.0),
        "detection_delay_p50_s": percentile(delays_s, 50),
        "detection_delay_p95_s": percentile(delays_s, 95),
        "availability": reference_availability,
        "availability_monitor": monitor_availability,
        "availability_error": None
        if monitor_availability is None or reference_availability is None
        else monitor_availability - reference_availability,
        "heartbeat_max_gap_s": heartbeat_max_gap_s(d, a_d),
        "heartbeats": len(_stamps(d, "heartbeat")),
        "by_type": by_type,
    }
