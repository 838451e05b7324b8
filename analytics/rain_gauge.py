"""rain_gauge: a gauge under test against a reference gauge, on 1-minute intensities."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analytics import rain_scales
from analytics._stats import mean, pearson, percentile, ratio
from analytics.model import TS, Window

MINUTE_MS = 60_000
DAY_MS = 86_400_000
VALID_MIN_INTENSITY_MM_H = 0.2
COLUMNS = ("rain_mm",)


def minute_sums(frame: pd.DataFrame, window: Window) -> tuple[np.ndarray, np.ndarray]:
    """(bins, rain) per minute bin floor(ts_ms / 60000) over readings in W, bins ascending."""
    inside = window.clip(frame)
    bins = inside[TS].to_numpy(dtype=np.int64) // MINUTE_MS
    rain = np.nan_to_num(inside["rain_mm"].to_numpy(dtype=np.float64))
    if bins.size == 0:
        return bins, rain
    starts = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])
    return bins[starts], np.add.reduceat(rain, starts)


def local_midnights_ms(window: Window, timezone: str) -> np.ndarray:
    """Epoch ms at which each local calendar day starts, from the day holding start_ms on.

    A day starts at its first existing instant (01:00 where DST skips midnight).
    """
    first = pd.Timestamp(window.start_ms, unit="ms", tz="UTC").tz_convert(timezone)
    days = window.length_ms // DAY_MS + 3
    dates = pd.date_range(first.tz_localize(None).normalize(), periods=days, freq="D")
    starts = dates.tz_localize(timezone, nonexistent="shift_forward", ambiguous=True)
    return np.asarray(starts.as_unit("ms").asi8, dtype=np.int64)


def local_day_index(bins: np.ndarray, window: Window, timezone: str) -> np.ndarray:
    """Per minute bin, the index of its local calendar day counted from the window's first."""
    if bins.size == 0:
        return np.empty(0, dtype=np.int64)
    midnights = local_midnights_ms(window, timezone)
    return np.searchsorted(midnights, bins * MINUTE_MS, side="right") - 1


def _daily(day: np.ndarray, diff_mm: np.ndarray) -> tuple[float | None, float | None]:
    """(daily_bias_mm, daily_rmse_mm) of per-minute differences summed per local day."""
    if day.size == 0:
        return None, None
    counts = np.bincount(day)
    per_day = np.bincount(day, weights=diff_mm).astype(np.float64)[counts > 0]
    return mean(per_day), float(np.sqrt(np.mean(per_day**2)))


def _relative_errors(i_d: np.ndarray, i_r: np.ndarray) -> dict[str, Any]:
    valid = i_r >= VALID_MIN_INTENSITY_MM_H
    vd, vr = i_d[valid], i_r[valid]
    e = 100.0 * (vd - vr) / vr
    within = rain_scales.within_tolerance(vd, vr)
    p25, p75 = percentile(e, 25), percentile(e, 75)
    return {
        "valid_minutes": int(valid.sum()),
        "median_rel_error_pct": percentile(e, 50),
        "iqr_rel_error_pct": None if p25 is None or p75 is None else p75 - p25,
        "pct_within_tolerance": ratio(100.0 * float(within.sum()), float(vr.size)),
    }


def rain_metrics(
    under_test: pd.DataFrame,
    reference: pd.DataFrame,
    window: Window,
    timezone: str,
    wet_day_mm: float,
) -> dict[str, Any]:
    """METRICS.md (v2) rain_gauge metrics of d against r."""
    d_bins, d_rain = minute_sums(under_test, window)
    r_bins, r_rain = minute_sums(reference, window)
    bins, d_idx, r_idx = np.intersect1d(d_bins, r_bins, assume_unique=True, return_indices=True)
    rain_d, rain_r = d_rain[d_idx], r_rain[r_idx]
    i_d, i_r = 60.0 * rain_d, 60.0 * rain_r
    hits = int(np.sum((rain_d > 0) & (rain_r > 0)))
    misses = int(np.sum((rain_r > 0) & (rain_d == 0)))
    false_alarms = int(np.sum((rain_d > 0) & (rain_r == 0)))
    day = local_day_index(bins, window, timezone)
    bias, rmse = _daily(day, rain_d - rain_r)
    valid = i_r >= VALID_MIN_INTENSITY_MM_H
    sum_r = float(rain_r.sum())
    return {
        "paired_minutes": int(bins.size),
        **_relative_errors(i_d, i_r),
        "total_ratio": None if sum_r == 0 else float(rain_d.sum()) / sum_r,
        "pearson_r": pearson(i_d, i_r),
        "daily_bias_mm": bias,
        "daily_rmse_mm": rmse,
        "hits": hits,
        "misses": misses,
        "false_alarms": false_alarms,
        "pod": ratio(hits, hits + misses),
        "far": ratio(false_alarms, hits + false_alarms),
        "by_intensity": rain_scales.by_intensity(i_d[valid], i_r[valid]),
        **rain_scales.wet_days(day, rain_d, rain_r, wet_day_mm),
        **rain_scales.hourly(bins, rain_d, rain_r),
        "wet_pearson_r": rain_scales.wet_pearson(i_d, i_r),
        "clock_lag_min": rain_scales.clock_lag_min(d_bins, 60.0 * d_rain, r_bins, 60.0 * r_rain),
    }
