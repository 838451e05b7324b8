"""Streamed readings downloads: CSV, JSON and Parquet generators over store chunks.

Nothing here holds more than one store chunk (`chunk_rows` readings) in memory: each chunk is
serialised and yielded before the next is read. CSV columns are
`ts_ms,device_id,<fields in profile order>` (the union over the devices asked for, in the
order the trial lists them); an absent optional field is an empty cell, booleans are
`true`/`false`, as `innotrial readings import` reads them.

Formula escaping: the API's CSV (and the signed package's) is data, byte for byte what was
stored, so that it can be compared with the package and re-imported. The dashboard's CSV
download is the one people open in spreadsheets: there, text cells (device ids, string and enum
fields) starting with `=`, `+`, `-`, `@`, tab or carriage return get a leading `'` so that a
spreadsheet shows them as text instead of running them as formulas. Numbers are never changed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from device_profiles.loader import get_profile
from device_profiles.schema import FieldType
from telemetry.store.base import TimeSeriesStore

CHUNK_ROWS = 50_000
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
}
_ARROW_TYPES = {
    FieldType.FLOAT: pa.float64(),
    FieldType.INT: pa.int64(),
    FieldType.BOOL: pa.bool_(),
    FieldType.STRING: pa.string(),
    FieldType.ENUM: pa.string(),
}


@dataclass(frozen=True, slots=True)
class DeviceColumns:
    """A device to export and its profile's fields."""

    device_id: str
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Export:
    """What to export: devices, the union of their fields with types, and the time range."""

    devices: tuple[DeviceColumns, ...]
    columns: tuple[str, ...]
    types: dict[str, FieldType]
    start_ms: int
    end_ms: int


def plan_export(devices: Sequence[tuple[str, str]], start_ms: int, end_ms: int) -> Export:
    """An Export for (device_id, profile) pairs over [start_ms, end_ms)."""
    columns: list[str] = []
    types: dict[str, FieldType] = {}
    entries = []
    for device_id, profile_name in devices:
        profile = get_profile(profile_name)
        for name, spec in profile.fields.items():
            if name not in types:
                columns.append(name)
                types[name] = spec.type
        entries.append(DeviceColumns(device_id, profile.field_names))
    return Export(tuple(entries), tuple(columns), types, start_ms, end_ms)


def iter_frames(
    store: TimeSeriesStore, export: Export, chunk_rows: int = CHUNK_ROWS
) -> Iterator[pd.DataFrame]:
    """Chunks of `ts_ms, device_id, <columns>` frames, device by device, ordered by ts_ms."""
    for device in export.devices:
        for frame in store.iter_read(
            device.device_id,
            export.start_ms,
            export.end_ms,
            list(device.fields),
            chunk_rows=chunk_rows,
        ):
            if frame.empty:
                continue
            out = frame.reindex(columns=["ts_ms", *export.columns])
            out.insert(1, "device_id", device.device_id)
            yield out


def _csv_ready(frame: pd.DataFrame, types: dict[str, FieldType]) -> pd.DataFrame:
    for name, kind in types.items():
        column = frame[name]
        if kind is FieldType.BOOL:
            frame[name] = column.map({True: "true", False: "false"})
        elif kind is FieldType.INT and column.dtype.kind == "f":
            frame[name] = column.astype("Int64")
    return frame


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TEXT_TYPES = (FieldType.STRING, FieldType.ENUM)


def formula_safe(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula, prefixed with `'`; others unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _spreadsheet_ready(frame: pd.DataFrame, types: dict[str, FieldType]) -> pd.DataFrame:
    for name in ["device_id", *(n for n, kind in types.items() if kind in TEXT_TYPES)]:
        frame[name] = frame[name].map(formula_safe)
    return frame


def csv_chunks(
    store: TimeSeriesStore, export: Export, chunk_rows: int = CHUNK_ROWS,
    *, for_spreadsheets: bool = False,
) -> Iterator[bytes]:
    """The export as CSV, one encoded chunk per store chunk (text cells formula-escaped when
    `for_spreadsheets`)."""
    yield (",".join(["ts_ms", "device_id", *export.columns]) + "\n").encode("utf-8")
    for frame in iter_frames(store, export, chunk_rows):
        ready = _csv_ready(frame, export.types)
        if for_spreadsheets:
            ready = _spreadsheet_ready(ready, export.types)
        yield ready.to_csv(header=False, index=False, lineterminator="\n").encode("utf-8")


def spreadsheet_csv_chunks(
    store: TimeSeriesStore, export: Export, chunk_rows: int = CHUNK_ROWS
) -> Iterator[bytes]:
    """The export as CSV for spreadsheets: text cells formula-escaped (see the module doc)."""
    return csv_chunks(store, export, chunk_rows, for_spreadsheets=True)


def _json_value(value: Any) -> Any:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def json_chunks(
    store: TimeSeriesStore, export: Export, chunk_rows: int = CHUNK_ROWS
) -> Iterator[bytes]:
    """The export as one JSON array of objects (absent fields null), streamed."""
    yield b"["
    first = True
    names = ["ts_ms", "device_id", *export.columns]
    for frame in iter_frames(store, export, chunk_rows):
        rows = [
            json.dumps(
                {n: _json_value(v) for n, v in zip(names, row, strict=True)}, separators=(",", ":")
            )
            for row in frame.itertuples(index=False, name=None)
        ]
        if rows:
            yield (("" if first else ",\n") + ",\n".join(rows)).encode("utf-8")
            first = False
    yield b"]\n"


class _Sink:
    """A write-only file that hands back what was written since the last drain."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        """Nothing buffered beyond the parts list."""

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def arrow_schema(export: Export) -> pa.Schema:
    """The Parquet schema of an export."""
    return pa.schema(
        [
            ("ts_ms", pa.int64()),
            ("device_id", pa.string()),
            *[(name, _ARROW_TYPES[export.types[name]]) for name in export.columns],
        ]
    )


def parquet_chunks(
    store: TimeSeriesStore, export: Export, chunk_rows: int = CHUNK_ROWS
) -> Iterator[bytes]:
    """The export as a Parquet file, one row group per store chunk, streamed."""
    schema = arrow_schema(export)
    sink = _Sink()
    with pq.ParquetWriter(pa.PythonFile(sink, mode="w"), schema) as writer:
        for frame in iter_frames(store, export, chunk_rows):
            writer.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False))
            data = sink.drain()
            if data:
                yield data
    yield sink.drain()  # the footer, written when the writer closes


SERIALISERS = {"csv": csv_chunks, "json": json_chunks, "parquet": parquet_chunks}
SPREADSHEET_SERIALISERS = {**SERIALISERS, "csv": spreadsheet_csv_chunks}
