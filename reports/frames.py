"""Device readings as packaged: CSV and Parquet forms of the normalised frames that
`analytics.frames.load_trial_frames` loads (one per device).

CSV columns are `ts_ms,device_id,<profile fields in profile order>,received_ms`; an empty cell
is an absent optional field, booleans are `true`/`false`, floats are written with the shortest
text that reads back to the identical double, so metrics recomputed from the CSV equal the
issuer's exactly.
"""

from __future__ import annotations

import io

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from analytics.frames import DEVICE_COLUMN, column_order, normalise
from device_profiles import DeviceProfile, FieldType
from reports.errors import RecomputeError


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
