"""fever_screener: a screening thermograph against a clinical thermometer, paired by pair_id."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from analytics._stats import mean, ratio, std, t_quantile, wilson
from analytics.model import TS, Window

LOA_Z = 1.96
MIN_INTERVAL_PAIRS = 3
MINUTE_MS = 60_000
SCREENER_COLUMNS = ("skin_temp_c", "alarm", "pair_id")
THERMOMETER_COLUMNS = ("body_temp_c", "pair_id")
_TRUE_STRINGS = frozenset({"true", "1", "yes"})


def as_bool(values: pd.Series) -> np.ndarray:
    """Booleans from bool, 0/1 (SQLite) or 'true'/'false' (CSV) columns; null is False."""
    if values.dtype == bool:
        return values.to_numpy(dtype=bool)
    return np.array([_one_bool(v) for v in values.tolist()], dtype=bool)


def _one_bool(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in _TRUE_STRINGS
    if value is None or pd.isna(value):  # type: ignore[call-overload]
        return False
    return bool(value)


def _first_per_pair(frame: pd.DataFrame) -> tuple[pd.DataFrame, set[str]]:
    """The earliest reading per pair_id, and the pair_ids that occur more than once."""
    frame = frame[frame["pair_id"].notna()]
    ids = frame["pair_id"].astype(str)
    counts = ids.value_counts()
    repeated = set(counts.index[counts > 1])
    first = frame.assign(pair_id=ids).drop_duplicates("pair_id", keep="first")
    return first, repeated


def _agreement(diff: np.ndarray) -> dict[str, Any]:
    bias = mean(diff)
    sd = std(diff)
    loa_low = loa_high = None
    if bias is not None and sd is not None:
        loa_low, loa_high = bias - LOA_Z * sd, bias + LOA_Z * sd
    return {
        "n_pairs": int(diff.size),
        "bias_c": bias,
        "sd_c": sd,
        "loa_low_c": loa_low,
        "loa_high_c": loa_high,
        **_agreement_intervals(int(diff.size), bias, sd),
        "mae_c": mean(np.abs(diff)),
        "rmse_c": None if diff.size == 0 else float(np.sqrt(np.mean(diff**2))),
    }


def _agreement_intervals(n: int, bias: float | None, sd: float | None) -> dict[str, Any]:
    """t intervals on the bias and on the limits of agreement (Bland & Altman 1999); n >= 3."""
    keys = ("bias", "loa_low", "loa_high")
    out: dict[str, Any] = {f"{k}_ci_{side}_c": None for k in keys for side in ("low", "high")}
    if n < MIN_INTERVAL_PAIRS or bias is None or sd is None:
        return out
    t = t_quantile(n - 1)
    half_bias = t * sd / math.sqrt(n)
    half_loa = t * sd * math.sqrt(3.0 / n)
    for key, centre, half in (
        ("bias", bias, half_bias),
        ("loa_low", bias - LOA_Z * sd, half_loa),
        ("loa_high", bias + LOA_Z * sd, half_loa),
    ):
        out[f"{key}_ci_low_c"], out[f"{key}_ci_high_c"] = centre - half, centre + half
    return out


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float | None:
    """P(score of a positive > score of a negative) + 0.5 P(equal) (Mann–Whitney); None if a
    group is empty."""
    pos, neg = scores[positive], np.sort(scores[~positive])
    if pos.size == 0 or neg.size == 0:
        return None
    below = np.searchsorted(neg, pos, side="left")
    equal = np.searchsorted(neg, pos, side="right") - below
    wins = float(np.sum(below)) + 0.5 * float(np.sum(equal))
    return wins / float(pos.size * neg.size)


def _classification(fever: np.ndarray, alarm: np.ndarray) -> dict[str, Any]:
    tp = int(np.sum(fever & alarm))
    fn = int(np.sum(fever & ~alarm))
    tn = int(np.sum(~fever & ~alarm))
    fp = int(np.sum(~fever & alarm))
    sens_low, sens_high = wilson(tp, tp + fn)
    spec_low, spec_high = wilson(tn, tn + fp)
    ppv_low, ppv_high = wilson(tp, tp + fp)
    npv_low, npv_high = wilson(tn, tn + fn)
    return {
        "n_febrile": tp + fn,
        "n_afebrile": tn + fp,
        "tp": tp,
        "fn": fn,
        "tn": tn,
        "fp": fp,
        "sensitivity": ratio(tp, tp + fn),
        "sensitivity_ci_low": sens_low,
        "sensitivity_ci_high": sens_high,
        "specificity": ratio(tn, tn + fp),
        "specificity_ci_low": spec_low,
        "specificity_ci_high": spec_high,
        "ppv": ratio(tp, tp + fp),
        "ppv_ci_low": ppv_low,
        "ppv_ci_high": ppv_high,
        "npv": ratio(tn, tn + fn),
        "npv_ci_low": npv_low,
        "npv_ci_high": npv_high,
    }


def fever_metrics(
    screener: pd.DataFrame,
    thermometer: pd.DataFrame,
    window: Window,
    fever_threshold_c: float,
    max_pair_delay_s: float,
) -> dict[str, Any]:
    """METRICS.md (v2) fever_screener metrics of screener d against the reference set r.

    `thermometer` holds the readings of every pooled clinical thermometer (METRICS-v2.md §3.1);
    at equal ts the row that comes first in it wins.
    """
    d = window.clip(screener)
    r = window.clip(thermometer)
    d_first, d_repeated = _first_per_pair(d)
    r_first, r_repeated = _first_per_pair(r)
    joined = d_first.merge(r_first, on="pair_id", how="inner", suffixes=("_d", "_r"))
    delay_ms = np.abs(
        joined[f"{TS}_r"].to_numpy(dtype=np.int64) - joined[f"{TS}_d"].to_numpy(dtype=np.int64)
    )
    on_time = delay_ms <= max_pair_delay_s * 1000.0
    pairs = joined[on_time]
    skin = pairs["skin_temp_c"].to_numpy(dtype=np.float64)
    body = pairs["body_temp_c"].to_numpy(dtype=np.float64)
    fever = body >= fever_threshold_c
    screenings = len(d)
    active_minutes = int(np.unique(d[TS].to_numpy(dtype=np.int64) // MINUTE_MS).size)
    return {
        "screenings": screenings,
        "late_pairs": int(np.sum(~on_time)),
        **_agreement(skin - body),
        **_classification(fever, as_bool(pairs["alarm"])),
        "auc": roc_auc(skin, fever),
        "duplicate_pair_ids": len(d_repeated | r_repeated),
        "screenings_per_active_min": ratio(screenings, active_minutes),
    }
