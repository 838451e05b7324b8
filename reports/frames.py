"""Device readings as packaged: one normalised DataFrame per device, CSV and Parquet forms.

CSV columns are `ts_ms,device_id,<profile fields in profile order>,received_ms`; an empty cell
is an absent optional field, booleans are `true`/`false`, floats are written with the shortest
text that reads back to the identical double, so metrics recomputed from the CSV equal the
issuer's exactly.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from analytics.model import Window
from device_profiles import DeviceProfile, FieldType, get_profile
from registry.trial_spec import TrialSpec
from reports.errors import RecomputeError
from telemetry.store.base import RECEIVED_COLUMN, TS_COLUMN, TimeSeriesStore

DEVICE_COLUMN = "device_id"
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


def column_order(profile: DeviceProfile) -> list[str]:
    """Packaged column order for a device of this profile."""
    return [TS_COLUMN, DEVICE_COLUMN, *profile.field_names, RECEIVED_COLUMN]


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
        return pd.Series([_to_bool(v) for v in values.tolist()], index=values.index,
                         dtype="boolean")
    text = values.astype(object)
    return text.where(text.notna(), None).map(lambda v: v if v is None else str(v))


def normalise(frame: pd.DataFrame, device_id: str, profile: DeviceProfile) -> pd.DataFrame:
    """One device's readings with packaged columns and dtypes, sorted by ts_ms."""
    out = pd.DataFrame(index=frame.index)
    out[TS_COLUMN] = frame[TS_COLUMN].astype("int64")
    out[DEVICE_COLUMN] = pd.Series([device_id] * len(frame), index=frame.index, dtype=object)
    for name, spec in profile.fields.items():
        source = frame[name] if name in frame.columns else pd.Series(
            [None] * len(frame), index=frame.index, dtype=object)
        out[name] = _normalise_field(source, spec.type)
    received = frame[RECEIVED_COLUMN] if RECEIVED_COLUMN in frame.columns else frame[TS_COLUMN]
    out[RECEIVED_COLUMN] = received.astype("int64")
    # Events at one ts in the order of their key fields: the same package from either store.
    order = [TS_COLUMN, *profile.key]
    return out.sort_values(order, kind="stable", na_position="first").reset_index(drop=True)


def load_trial_frames(
    spec: TrialSpec, store: TimeSeriesStore, window: Window
) -> dict[str, pd.DataFrame]:
    """Every device's readings in W with all profile fields and received_ms, normalised."""
    frames: dict[str, pd.DataFrame] = {}
    for device in spec.trial.devices:
        profile = get_profile(device.profile)
        raw = store.read(device.id, window.start_ms, window.end_ms,
                         columns=list(profile.field_names), with_received=True)
        frames[device.id] = normalise(raw, device.id, profile)
    return frames


def _needs_quoting(frame: pd.DataFrame) -> bool:
    for name in frame.columns:
        column = frame[name]
        if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            text = column.dropna().astype(str)
            if text.str.contains(r'[,"\r\n]', regex=True).any():
                return True
    return False


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """The packaged CSV of one normalised frame (Arrow's writer, pandas' when quoting is due).

    Both writers print the shortest text that reads back to the same double, `true`/`false`
    and empty cells for nulls, so either CSV parses back to the identical frame.
    """
    if _needs_quoting(frame):
        return _pandas_csv(frame)
    buffer = io.BytesIO()
    buffer.write((",".join(frame.columns) + "\n").encode("utf-8"))
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(include_header=False,
                                                        quoting_style="none"))
    return buffer.getvalue()


def _pandas_csv(frame: pd.DataFrame) -> bytes:
    out = frame.copy()
    for name in out.columns:
        if str(out[name].dtype) == "boolean":
            out[name] = out[name].map({True: "true", False: "false"}).astype(object)
    return out.to_csv(index=False, lineterminator="\n").encode("utf-8")


def to_parquet_bytes(frame: pd.DataFrame) -> bytes:
    """The packaged Parquet of one normalised frame (no pandas index, zstd-compressed)."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, compression="zstd")
    return buffer.getvalue()


def read_csv_frame(member: str, data: bytes, profile: DeviceProfile) -> pd.DataFrame:
    """Parse a packaged CSV back into the normalised frame; RecomputeError when it does not fit."""
    text_fields = {name: str for name, spec in profile.fields.items()
                   if spec.type in (FieldType.STRING, FieldType.ENUM, FieldType.BOOL)}
    try:
        raw = pd.read_csv(io.BytesIO(data), dtype={DEVICE_COLUMN: str, **text_fields},
                          keep_default_na=False, na_values=[""])
        missing = [c for c in column_order(profile) if c not in raw.columns]
        if missing:
            raise ValueError(f"missing columns {missing}")
        device_ids = raw[DEVICE_COLUMN].dropna().unique().tolist()
        device_id = str(device_ids[0]) if device_ids else ""
        if len(device_ids) > 1:
            raise ValueError(f"several device ids {device_ids}")
        return normalise(raw, device_id, profile)
    except (ValueError, TypeError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise RecomputeError(member, str(exc)) from exc


def frames_for_analytics(frames: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The frames as analytics takes them (device_id column dropped)."""
    return {device_id: frame.drop(columns=[DEVICE_COLUMN]) for device_id, frame in frames.items()}
