"""rain_gauge v2 additions (METRICS-v2.md §2): intensity classes, wet days, hours, clock lag."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from analytics._stats import mean, pearson, percentile, ratio

HOUR_MS = 3_600_000
MINUTE_MS = 60_000
LOW_INTENSITY_MM_H = 2.0
LOW_TOLERANCE_MM_H = 0.1
HIGH_TOLERANCE_FRACTION = 0.05
# (name, lower bound inclusive, upper bound exclusive) in mm/h
INTENSITY_CLASSES = (("0.2-2", 0.2, 2.0), ("2-10", 2.0, 10.0), ("10-50", 10.0, 50.0))
OPEN_CLASS = ("50+", 50.0)
WET_LOW_TOTAL_MM = 5.0
WET_LOW_TOLERANCE_MM = 0.1
WET_HIGH_TOLERANCE_FRACTION = 0.02
MAX_LAG_MIN = 10
MIN_LAG_BINS = 10
# Correlations closer than this are a tie (see docs/methodology.md, Decisions).
LAG_TIE = 1e-9


def within_tolerance(i_d: np.ndarray, i_r: np.ndarray) -> np.ndarray:
    """v1's per-minute tolerance: ±0.1 mm/h when I_r <= 2 mm/h, else ±5 %."""
    err = np.abs(i_d - i_r)
    return np.asarray(
        np.where(
            i_r <= LOW_INTENSITY_MM_H,
            err <= LOW_TOLERANCE_MM_H,
            err <= HIGH_TOLERANCE_FRACTION * i_r,
        ),
        dtype=bool,
    )


def _class_metrics(i_d: np.ndarray, i_r: np.ndarray) -> dict[str, Any]:
    if i_r.size == 0:
        return {
            "n": 0,
            "catch_ratio": None,
            "median_rel_error_pct": None,
            "pct_within_tolerance": None,
        }
    return {
        "n": int(i_r.size),
        "catch_ratio": float(i_d.sum()) / float(i_r.sum()),
        "median_rel_error_pct": percentile(100.0 * (i_d - i_r) / i_r, 50),
        "pct_within_tolerance": 100.0 * float(within_tolerance(i_d, i_r).sum()) / i_r.size,
    }


def by_intensity(i_d: np.ndarray, i_r: np.ndarray) -> dict[str, dict[str, Any]]:
    """Per reference-intensity class over valid minutes (I_r >= 0.2 mm/h)."""
    out = {
        name: _class_metrics(i_d[(i_r >= lo) & (i_r < hi)], i_r[(i_r >= lo) & (i_r < hi)])
        for name, lo, hi in INTENSITY_CLASSES
    }
    name, lo = OPEN_CLASS
    out[name] = _class_metrics(i_d[i_r >= lo], i_r[i_r >= lo])
    return out


def wet_days(
    day: np.ndarray, rain_d: np.ndarray, rain_r: np.ndarray, wet_day_mm: float
) -> dict[str, Any]:
    """Daily totals over paired minutes (day = local day index per minute) on wet days."""
    d_day = r_day = np.empty(0, dtype=np.float64)
    if day.size:
        seen = np.bincount(day) > 0
        d_day = np.bincount(day, weights=rain_d).astype(np.float64)[seen]
        r_day = np.bincount(day, weights=rain_r).astype(np.float64)[seen]
    wet = r_day >= wet_day_mm
    diff = d_day[wet] - r_day[wet]
    ref = r_day[wet]
    ok = np.where(
        ref <= WET_LOW_TOTAL_MM,
        np.abs(diff) <= WET_LOW_TOLERANCE_MM,
        np.abs(diff) <= WET_HIGH_TOLERANCE_FRACTION * ref,
    )
    return {
        "wet_days": int(wet.sum()),
        "wet_daily_bias_mm": mean(diff),
        "wet_daily_rmse_mm": None if diff.size == 0 else float(np.sqrt(np.mean(diff**2))),
        "wet_daily_within_tolerance_pct": ratio(100.0 * float(ok.sum()), float(diff.size)),
    }


def hourly(bins: np.ndarray, rain_d: np.ndarray, rain_r: np.ndarray) -> dict[str, Any]:
    """Hourly totals over paired minutes, over hours where either total is > 0."""
    hour = bins * MINUTE_MS // HOUR_MS
    if hour.size:
        starts = np.flatnonzero(np.r_[True, hour[1:] != hour[:-1]])
        h_d, h_r = np.add.reduceat(rain_d, starts), np.add.reduceat(rain_r, starts)
    else:
        h_d = h_r = np.empty(0)
    wet = (h_d > 0) | (h_r > 0)
    h_d, h_r = h_d[wet], h_r[wet]
    diff = h_d - h_r
    return {
        "hourly_n": int(diff.size),
        "hourly_bias_mm": mean(diff),
        "hourly_rmse_mm": None if diff.size == 0 else float(np.sqrt(np.mean(diff**2))),
        "hourly_pearson_r": pearson(h_d, h_r),
    }


def wet_pearson(i_d: np.ndarray, i_r: np.ndarray) -> float | None:
    """v1's pearson_r over paired minutes where either intensity is > 0."""
    wet = (i_d > 0) | (i_r > 0)
    return pearson(i_d[wet], i_r[wet])


@dataclass(frozen=True, slots=True)
class _Dense:
    """One gauge's minute intensities on a common bin range: NaN where it has no bin."""

    present: np.ndarray  # bool per bin
    zeroed: np.ndarray  # intensity per bin, 0 where absent
    nonzero: np.ndarray  # positions with a non-zero intensity
    values: np.ndarray  # the intensities there

    @classmethod
    def of(cls, bins: np.ndarray, intensity: np.ndarray, first: int, size: int) -> _Dense:
        present = np.zeros(size, dtype=bool)
        zeroed = np.zeros(size)
        present[bins - first] = True
        zeroed[bins - first] = intensity
        nonzero = np.flatnonzero(zeroed)
        return cls(present, zeroed, nonzero, zeroed[nonzero])


def _side(values: np.ndarray, keep: np.ndarray, n: int) -> tuple[float, float] | None:
    """(Σv, Σv²) over the kept non-zero values of one side, None when that side is constant."""
    kept = values[keep]
    if kept.size == 0 or (kept.size == n and kept.min() == kept.max()):
        return None
    return float(kept.sum()), float((kept * kept).sum())


def _lag_pearson(r: _Dense, d: _Dense, lag: int) -> float | None:
    """corr(I_r(b), I_d(b + L)) over bins where both exist; zeros enter only through n.

    Rain is mostly zero, so the sums run over the non-zero minutes of each side only.
    """
    size = r.present.size
    lo, hi = max(0, -lag), min(size, size - lag)
    if hi - lo < MIN_LAG_BINS:
        return None
    n = int(np.count_nonzero(r.present[lo:hi] & d.present[lo + lag : hi + lag]))
    if n < MIN_LAG_BINS:
        return None
    r_pos, d_pos = r.nonzero, d.nonzero
    r_in = (r_pos + lag >= 0) & (r_pos + lag < size)
    d_in = (d_pos - lag >= 0) & (d_pos - lag < size)
    r_keep = r_in & d.present[np.clip(r_pos + lag, 0, size - 1)]
    d_keep = d_in & r.present[np.clip(d_pos - lag, 0, size - 1)]
    x, y = _side(r.values, r_keep, n), _side(d.values, d_keep, n)
    if x is None or y is None:
        return None
    sxy = float((r.values * d.zeroed[np.clip(r_pos + lag, 0, size - 1)])[r_keep].sum())
    sxx, syy = x[1] - x[0] * x[0] / n, y[1] - y[0] * y[0] / n
    if sxx <= 0.0 or syy <= 0.0:
        return None
    return max(-1.0, min(1.0, (sxy - x[0] * y[0] / n) / math.sqrt(sxx * syy)))


def clock_lag_min(
    d_bins: np.ndarray, i_d: np.ndarray, r_bins: np.ndarray, i_r: np.ndarray
) -> int | None:
    """The lag L in [-10, 10] minutes maximising corr(I_r(b), I_d(b + L)); ties -> small |L|."""
    if d_bins.size == 0 or r_bins.size == 0:
        return None
    first = int(min(d_bins[0], r_bins[0]))
    size = int(max(d_bins[-1], r_bins[-1])) - first + 1
    r, d = _Dense.of(r_bins, i_r, first, size), _Dense.of(d_bins, i_d, first, size)
    found: dict[int, float] = {}
    for lag in range(-MAX_LAG_MIN, MAX_LAG_MIN + 1):
        value = _lag_pearson(r, d, lag)
        if value is not None:
            found[lag] = value
    if not found:
        return None
    top = max(found.values())
    return min((lag for lag, r in found.items() if r >= top - LAG_TIE), key=lambda k: (abs(k), k))
