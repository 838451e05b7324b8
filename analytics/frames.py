"""The one frame loader: each device's readings in the window as DataFrames typed by its profile.

`innotrial analyze`, the API's metrics, the dashboard and the report all load through
`load_trial_frames`, and the report's verifier types a packaged CSV with the same
`typed_frame` (through `normalise`), so every path computes the metrics from identically typed
frames. The report packages them in the packaged layout (`packaged_frame`:
`ts_ms, device_id, <profile fields>, received_ms`); `frames_for_analytics` turns packaged
frames back into what `compute_trial_metrics` takes.
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
        if values.dtype == bool or pd.api.types.infer_dtype(values, skipna=True) == "boolean":
            return values.astype("boolean")  # as the store returns them: no per-value work
        return pd.Series([_to_bool(v) for v in values.tolist()], index=values.index,
                         dtype="boolean")
    text = values.astype(object)
    if pd.api.types.infer_dtype(text, skipna=True) == "string":
        return text.astype("str")  # all text already: the same column, built in one step
    return text.where(text.notna(), None).map(lambda v: v if v is None else str(v))


def typed_frame(frame: pd.DataFrame, profile: DeviceProfile,
                fields: Iterable[str] | None = None) -> pd.DataFrame:
    """One device's readings as analytics takes them: ts_ms, received_ms, then `fields`
    (default: all of the profile's, in profile order) with the profile's dtypes, sorted by
    ts_ms. A field absent from `frame` becomes an all-null column."""
    columns: dict[str, pd.Series] = {TS: frame[TS].astype("int64")}
    received = frame[RECEIVED] if RECEIVED in frame.columns else frame[TS]
    columns[RECEIVED] = received.astype("int64")
    for name in profile.field_names if fields is None else fields:
        source = frame[name] if name in frame.columns else pd.Series(
            [None] * len(frame), index=frame.index, dtype=object)
        columns[name] = _normalise_field(source, profile.fields[name].type)
    out = pd.DataFrame(columns, index=frame.index)
    stamps = out[TS].to_numpy()
    if len(stamps) > 1 and not (stamps[1:] > stamps[:-1]).all():
        # Events at one ts in the order of their key fields: the same frame from either store.
        order = [TS, *(name for name in profile.key if name in out.columns)]
        out = out.sort_values(order, kind="stable", na_position="first")
    return out.reset_index(drop=True)


def packaged_frame(typed: pd.DataFrame, device_id: str) -> pd.DataFrame:
    """A typed frame in the packaged layout: ts_ms, device_id, the fields, received_ms."""
    fields = [name for name in typed.columns if name not in (TS, RECEIVED)]
    out = typed[[TS, *fields, RECEIVED]]
    out.insert(1, DEVICE_COLUMN, pd.Series(device_id, index=typed.index, dtype=object))
    return out


def normalise(frame: pd.DataFrame, device_id: str, profile: DeviceProfile) -> pd.DataFrame:
    """One device's readings (e.g. a packaged CSV's) in the packaged layout and dtypes."""
    return packaged_frame(typed_frame(frame, profile), device_id)


def analysis_fields(spec: TrialSpec) -> dict[str, tuple[str, ...]]:
    """Per device, the fields its analysis reads: none unless it is in a comparison."""
    compared: set[str] = set()
    for comparison in spec.trial.comparisons:
        compared.add(comparison.under_test)
        compared.update(comparison.references)
    return {device.id: PROFILE_COLUMNS.get(device.profile, ()) if device.id in compared else ()
            for device in spec.trial.devices}


def load_trial_frames(
    spec: TrialSpec, store: TimeSeriesStore, window: Window, *, all_fields: bool = False
) -> dict[str, pd.DataFrame]:
    """Every device's readings in W as typed frames (`typed_frame`): with only the fields its
    analysis reads (and the key fields that order simultaneous events), or with every profile
    field (`all_fields`, for the report's package)."""
    needed = analysis_fields(spec)
    frames: dict[str, pd.DataFrame] = {}
    for device in spec.trial.devices:
        profile = get_profile(device.profile)
        fields = profile.field_names if all_fields else [
            name for name in profile.field_names
            if name in needed[device.id] or name in profile.key]
        raw = store.read(device.id, window.start_ms, window.end_ms, columns=list(fields),
                         with_received=True)
        frames[device.id] = typed_frame(raw, profile, fields)
    return frames


def frames_for_analytics(frames: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Packaged frames as analytics takes them (the typed layout, device_id dropped)."""
    out: dict[str, pd.DataFrame] = {}
    for device_id, frame in frames.items():
        fields = [name for name in frame.columns if name not in (TS, DEVICE_COLUMN, RECEIVED)]
        out[device_id] = frame[[TS, RECEIVED, *fields]]
    return out
