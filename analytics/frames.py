"""The one frame loader: each device's readings in the window as DataFrames typed by its profile.

`innotrial analyze`, the API's metrics, the dashboard and the report all load through
`load_trial_frames`, and the report's verifier types a packaged CSV with the same `normalise`,
so every path computes the metrics from identically typed frames. Frames come in the packaged
layout (`ts_ms, device_id, <profile fields>, received_ms`, sorted by ts_ms);
`frames_for_analytics` turns them into what `compute_trial_metrics` takes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from analytics.model import RECEIVED, TS, Window
from analytics.trial import PROFILE_COLUMNS
from device_profiles import DeviceProfile, FieldType, get_profile
from telemetry.store.base import TimeSeriesStore
from telemetry.trial_spec import TrialSpec

DEVICE_COLUMN = "device_id"
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


def column_order(profile: DeviceProfile) -> list[str]:
    """Packaged column order for a device of this profile."""
    return [TS, DEVICE_COLUMN, *profile.field_names, RECEIVED]


def _to_bool(value: object) -> object:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"not a boolean: {value!r}")
    return bool(value)


def _normalise_field(values: pd.Series, kind: FieldType) -> pd.Series:
    if kind is FieldType.FLOAT:
        return pd.to_numeric(values, errors="raise").astype("float64")
    if kind is FieldType.INT:
        return pd.to_numeric(values, errors="raise").astype("Int64")
    if kind is FieldType.BOOL:
        if values.dtype == bool:
            return values.astype("boolean")
        return pd.Series([_to_bool(v) for v in values.tolist()], index=values.index,
                         dtype="boolean")
    text = values.astype(object)
    return text.where(text.notna(), None).map(lambda v: v if v is None else str(v))


def normalise(frame: pd.DataFrame, device_id: str, profile: DeviceProfile,
              fields: Iterable[str] | None = None) -> pd.DataFrame:
    """One device's readings in the packaged layout and dtypes, sorted by ts_ms.

    `fields` (default: all of the profile's, in profile order) are the field columns kept;
    a field absent from `frame` becomes an all-null column.
    """
    out = pd.DataFrame(index=frame.index)
    out[TS] = frame[TS].astype("int64")
    out[DEVICE_COLUMN] = pd.Series([device_id] * len(frame), index=frame.index, dtype=object)
    for name in profile.field_names if fields is None else fields:
        source = frame[name] if name in frame.columns else pd.Series(
            [None] * len(frame), index=frame.index, dtype=object)
        out[name] = _normalise_field(source, profile.fields[name].type)
    received = frame[RECEIVED] if RECEIVED in frame.columns else frame[TS]
    out[RECEIVED] = received.astype("int64")
    return out.sort_values(TS, kind="stable").reset_index(drop=True)


def analysis_fields(spec: TrialSpec) -> dict[str, tuple[str, ...]]:
    """Per device, the fields its analysis reads: none unless it is in a comparison."""
    compared: set[str] = set()
    for comparison in spec.trial.comparisons:
        compared.add(comparison.under_test)
        compared.update(comparison.references)
    return {device.id: PROFILE_COLUMNS.get(device.profile, ()) if device.id in compared else ()
            for device in spec.trial.devices}


def load_trial_frames(
    spec: TrialSpec, store: TimeSeriesStore, window: Window, *, all_fields: bool = True
) -> dict[str, pd.DataFrame]:
    """Every device's readings in W, normalised: with every profile field (the report's data
    package), or with only the fields its analysis reads (`all_fields=False`)."""
    needed = analysis_fields(spec)
    frames: dict[str, pd.DataFrame] = {}
    for device in spec.trial.devices:
        profile = get_profile(device.profile)
        fields = profile.field_names if all_fields else [
            name for name in needed[device.id] if name in profile.fields]
        raw = store.read(device.id, window.start_ms, window.end_ms, columns=list(fields),
                         with_received=True)
        frames[device.id] = normalise(raw, device.id, profile, fields)
    return frames


def frames_for_analytics(frames: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The frames as analytics takes them: ts_ms, received_ms, then the fields (no device_id)."""
    return {device_id: frame[[TS, RECEIVED, *(name for name in frame.columns
                                              if name not in (TS, RECEIVED, DEVICE_COLUMN))]]
            for device_id, frame in frames.items()}
