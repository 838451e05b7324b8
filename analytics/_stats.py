"""Numeric helpers that apply METRICS.md conventions: null, not 0, when undefined."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

WILSON_Z = 1.959964
FloatArray = npt.NDArray[np.float64]


def num(value: float | np.floating | None) -> float | None:
    """A plain float, or None for None / NaN / inf."""
    if value is None:
        return None
    out = float(value)
    return out if math.isfinite(out) else None


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, None when the denominator is zero."""
    return None if denominator == 0 else float(numerator) / float(denominator)


def percentile(values: Sequence[float] | FloatArray, q: float) -> float | None:
    """Linear-interpolation percentile (numpy default), None without values."""
    arr = np.asarray(values, dtype=np.float64)
    return None if arr.size == 0 else float(np.percentile(arr, q))


def mean(values: FloatArray) -> float | None:
    """Arithmetic mean, None without values."""
    return None if values.size == 0 else float(np.mean(values))


def std(values: FloatArray) -> float | None:
    """Sample standard deviation (ddof = 1), None with fewer than two values."""
    return None if values.size < 2 else float(np.std(values, ddof=1))


def pearson(x: FloatArray, y: FloatArray) -> float | None:
    """Pearson correlation; None with fewer than two values or when either is constant."""
    if x.size < 2:
        return None
    dx = x - x.mean()
    dy = y - y.mean()
    # Sums of products, not np.dot: BLAS threads stall on a busy machine for no gain here.
    sxx = float(np.sum(dx * dx))
    syy = float(np.sum(dy * dy))
    if sxx == 0.0 or syy == 0.0:
        return None
    r = float(np.sum(dx * dy)) / math.sqrt(sxx * syy)
    return max(-1.0, min(1.0, r))


def wilson(successes: int, n: int, z: float = WILSON_Z) -> tuple[float | None, float | None]:
    """Wilson score interval (low, high) for successes / n; (None, None) when n = 0."""
    if n == 0:
        return None, None
    p = successes / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    return centre - half, centre + half


def f1(tp: int, fp: int, fn: int) -> float | None:
    """Harmonic mean of precision and recall; None when either is undefined."""
    if tp + fp == 0 or tp + fn == 0:
        return None
    return 2 * tp / (2 * tp + fp + fn)


def t_quantile(dof: int) -> float:
    """Student's t 0.975 quantile with `dof` degrees of freedom (scipy.stats.t.ppf)."""
    from scipy import stats  # imported on first use: scipy.stats takes a while to load

    return float(stats.t.ppf(0.975, dof))
