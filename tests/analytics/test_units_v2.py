"""Building blocks of methodology v2 (METRICS-v2.md) and the decisions docs/methodology.md pins."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analytics._stats import t_quantile
from analytics.criteria import resolve
from analytics.exclusions import ActiveTime, merge_intervals, overlap_ms
from analytics.fever_screener import fever_metrics, roc_auc
from analytics.lift import heartbeat_max_gap_s
from analytics.model import UnknownMetric, Window
from analytics.quality import segment_gap_stats
from analytics.rain_scales import by_intensity, clock_lag_min, wet_days


def test_active_time_merges_overlapping_windows_and_clips_them_to_w() -> None:
    active = ActiveTime.of(Window(0, 1000), [(-50, 100), (300, 500), (450, 600), (990, 2000)])
    assert active.bounds == [(100, 300), (600, 990)]
    assert active.length_ms == 590 and active.excluded_ms == 410
    assert ActiveTime.of(Window(0, 1000), [(-10, 1010)]).segments == ()
    assert merge_intervals([(5, 5), (1, 3), (3, 4)]) == [(1, 4)]
    assert overlap_ms([(0, 10), (20, 30)], [(5, 25)]) == 10


def test_active_time_keeps_only_readings_inside_segments() -> None:
    frame = pd.DataFrame({"ts_ms": np.array([0, 99, 100, 299, 300, 600, 989, 990], dtype=np.int64)})
    active = ActiveTime.of(Window(0, 1000), [(0, 100), (300, 600), (990, 1000)])
    assert active.keep(frame)["ts_ms"].tolist() == [100, 299, 600, 989]
    assert active.keep(frame.iloc[0:0]).empty


def test_gaps_restart_in_every_segment() -> None:
    # p = 10; segments [0, 100) and [200, 260); a reading at 0 only in segment 1: one gap 90,
    # none in segment 2 (readings every 10) -> excluded time [100, 200) is no gap.
    active = ActiveTime.of(Window(0, 260), [(100, 200)])
    ts = np.array([0, 200, 210, 220, 230, 240, 250], dtype=np.int64)
    assert segment_gap_stats(ts, active, 10) == (1, 0.09)
    assert segment_gap_stats(ts[:0], ActiveTime.of(Window(0, 260), [(0, 260)]), 10) == (0, 0.0)


def test_heartbeat_gap_is_measured_per_segment_never_across_an_exclusion() -> None:
    events = pd.DataFrame(
        {"ts_ms": np.array([10_000, 90_000], dtype=np.int64), "event_type": "heartbeat"}
    )
    # Segments [0, 20 000) and [80 000, 100 000): deltas 10 000, 10 000 | 10 000, 10 000.
    # Across the exclusion it would be 80 000.
    active = ActiveTime.of(Window(0, 100_000), [(20_000, 80_000)])
    assert heartbeat_max_gap_s(events, active) == 10.0
    # A segment without a heartbeat contributes its whole length.
    assert heartbeat_max_gap_s(events.iloc[0:0], active) == 20.0
    assert heartbeat_max_gap_s(events, ActiveTime.of(Window(0, 100_000), [(0, 100_000)])) is None


def test_t_quantile_is_students_t() -> None:
    assert t_quantile(1) == pytest.approx(12.706204736, abs=1e-8)
    assert t_quantile(6) == pytest.approx(2.446911851, abs=1e-8)
    assert t_quantile(10_000) == pytest.approx(1.960201, abs=1e-6)


def _pairs(skin: list[float], body: list[float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    ts = np.arange(len(skin), dtype=np.int64) * 1000
    ids = [f"p{i}" for i in range(len(skin))]
    d = pd.DataFrame({"ts_ms": ts, "skin_temp_c": skin, "alarm": False, "pair_id": ids})
    r = pd.DataFrame({"ts_ms": ts, "body_temp_c": body, "pair_id": ids})
    return d, r


def test_agreement_intervals_need_three_pairs() -> None:
    d, r = _pairs([36.0, 36.5], [36.2, 36.4])
    two = fever_metrics(d, r, Window(0, 10_000), 37.5, 900.0)
    assert two["sd_c"] is not None and two["loa_low_c"] is not None
    keys = [f"{k}_ci_{s}_c" for k in ("bias", "loa_low", "loa_high") for s in ("low", "high")]
    assert all(two[k] is None for k in keys)
    d, r = _pairs([36.0, 36.5, 37.0], [36.2, 36.4, 37.3])
    three = fever_metrics(d, r, Window(0, 10_000), 37.5, 900.0)
    # diffs −0.2, 0.1, −0.3: bias −0.1333, sd 0.2082, t(2) = 4.302653
    half = 4.302652729749464 * three["sd_c"] / math.sqrt(3)
    assert three["bias_ci_high_c"] == pytest.approx(three["bias_c"] + half, abs=1e-12)
    half_loa = 4.302652729749464 * three["sd_c"] * math.sqrt(1.0)
    assert three["loa_low_ci_low_c"] == pytest.approx(three["loa_low_c"] - half_loa, abs=1e-12)


def test_pair_delay_limit_is_inclusive() -> None:
    d, r = _pairs([36.0, 36.5], [36.2, 36.4])
    r = r.assign(ts_ms=r["ts_ms"] + np.array([900_000, 900_001]))
    got = fever_metrics(d, r, Window(0, 2_000_000), 37.5, 900.0)
    assert got["n_pairs"] == 1 and got["late_pairs"] == 1


def test_roc_area_counts_ties_as_half() -> None:
    scores = np.array([37.0, 37.0, 38.0, 36.0])
    positive = np.array([True, False, True, False])
    # positives 37, 38 against negatives 37, 36: 0.5 + 1 + 1 + 1 = 3.5 of 4
    assert roc_auc(scores, positive) == 0.875
    assert roc_auc(scores, np.zeros(4, dtype=bool)) is None
    assert roc_auc(np.array([1.0, 1.0]), np.array([True, False])) == 0.5


def test_intensity_class_bounds_are_half_open() -> None:
    i_r = np.array([0.2, 1.999, 2.0, 10.0, 49.99, 50.0])
    out = by_intensity(i_r.copy(), i_r)
    assert [out[k]["n"] for k in ("0.2-2", "2-10", "10-50", "50+")] == [2, 1, 2, 1]
    # I_r = 2.0 sits in "2-10" but keeps v1's ±0.1 mm/h tolerance (I_r <= 2)
    low = by_intensity(np.array([2.09]), np.array([2.0]))["2-10"]
    assert low["pct_within_tolerance"] == 100.0


def test_wet_day_threshold_is_inclusive_and_tolerance_switches_above_5_mm() -> None:
    day = np.array([0, 1, 2])
    rain_r = np.array([1.0, 5.0, 10.0])
    rain_d = np.array([0.5, 5.05, 10.3])
    out = wet_days(day, rain_d, rain_r, 1.0)
    assert out["wet_days"] == 3
    # |−0.5| > 0.1 fails; |0.05| <= 0.1 ok; |0.3| > 0.2 (2 % of 10) fails
    assert out["wet_daily_within_tolerance_pct"] == pytest.approx(100 / 3)


def _series(values: list[float]) -> tuple[np.ndarray, np.ndarray]:
    return np.arange(len(values), dtype=np.int64), np.array(values)


def test_clock_lag_needs_ten_bins_and_breaks_ties_towards_zero_then_negative() -> None:
    r_bins, i_r = _series([0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0])
    d_bins, i_d = _series([0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0])
    assert clock_lag_min(d_bins, i_d, r_bins, i_r) == 2
    # Two equally good lags, +1 and −1 -> the smaller one.
    d_bins, i_d = _series([0, 0, 5, 0, 5, 0, 0, 0, 0, 0, 0, 0])
    assert clock_lag_min(d_bins, i_d, r_bins, i_r) == -1
    # Fewer than 10 common bins at every lag -> null.
    assert clock_lag_min(d_bins[:9], i_d[:9], r_bins[:9], i_r[:9]) is None
    assert clock_lag_min(d_bins[:0], i_d[:0], r_bins, i_r) is None


def test_clock_lag_treats_correlations_within_1e_9_as_ties() -> None:
    r_bins, i_r = _series([0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0])
    # d rains at minutes 2 and 4; the later one slightly more. L = +1 overlaps r's spike with
    # the larger value, so it correlates a little better than L = −1.
    for excess, expected in ((1e-12, -1), (1e-3, 1)):
        d_bins, i_d = _series([0, 0, 5, 0, 5 * (1 + excess), 0, 0, 0, 0, 0, 0, 0])
        assert clock_lag_min(d_bins, i_d, r_bins, i_r) == expected


def test_dotted_paths_reach_keys_that_hold_dots() -> None:
    metrics = {"by_intensity": {"0.2-2": {"n": 4}, "50+": {"n": 1}}, "a": {"b": 1.0}}
    assert resolve(metrics, "by_intensity.0.2-2.n", "m") == 4.0
    assert resolve(metrics, "by_intensity.50+.n", "m") == 1.0
    assert resolve(metrics, "a.b", "m") == 1.0
    with pytest.raises(UnknownMetric, match="no metric '0'"):
        resolve(metrics, "by_intensity.0.3-2.n", "m")
