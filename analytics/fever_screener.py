"""fever_screener: a screening thermograph against a clinical thermometer, paired by pair_id."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analytics._stats import mean, ratio, std, wilson
from analytics.model import TS, Window

LOA_Z = 1.96
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
        "mae_c": mean(np.abs(diff)),
        "rmse_c": None if diff.size == 0 else float(np.sqrt(np.mean(diff**2))),
    }


def _classification(fever: np.ndarray, alarm: np.ndarray) -> dict[str, Any]:
    tp = int(np.sum(fever & alarm))
    fn = int(np.sum(fever & ~alarm))
    tn = int(np.sum(~fever & ~alarm))
    fp = int(np.sum(~fever & alarm))
    sens_low, sens_high = wilson(tp, tp + fn)
    spec_low, spec_high = wilson(tn, tn + fp)
    return {
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
    }


def fever_metrics(
    screener: pd.DataFrame, thermometer: pd.DataFrame, window: Window, fever_threshold_c: float
) -> dict[str, Any]:
    """METRICS.md fever_screener metrics of screener d against clinical thermometer r."""
    d = window.clip(screener)
    r = window.clip(thermometer)
    d_first, d_repeated = _first_per_pair(d)
    r_first, r_repeated = _first_per_pair(r)
    pairs = d_first.merge(r_first, on="pair_id", how="inner", suffixes=("_d", "_r"))
    skin = pairs["skin_temp_c"].to_numpy(dtype=np.float64)
    body = pairs["body_temp_c"].to_numpy(dtype=np.float64)
    screenings = len(d)
    active_minutes = int(np.unique(d[TS].to_numpy(dtype=np.int64) // MINUTE_MS).size)
    return {
        "screenings": screenings,
        **_agreement(skin - body),
        **_classification(body >= fever_threshold_c, as_bool(pairs["alarm"])),
        "duplicate_pair_ids": len(d_repeated | r_repeated),
        "screenings_per_active_min": ratio(screenings, active_minutes),
    }
