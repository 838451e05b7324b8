"""Streamed export of a trial's readings as CSV, JSON lines or Parquet.

Generators yield `bytes` chunk by chunk (one store chunk at a time), so the CLI writes them
to a file and the portal API streams them as an HTTP response without holding a trial in
memory. Columns: `ts_ms`, `device_id`, then the profile fields in profile order (the union
over the profiles of the exported devices, first profile first).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from device_profiles import DeviceProfile, FieldType
from telemetry.store.base import TimeSeriesStore

EXPORT_FORMATS = ("csv", "json", "parquet")
MEDIA_TYPES = {"csv": "text/csv", "json": "application/x-ndjson",
               "parquet": "application/vnd.apache.parquet"}
_ARROW_TYPES = {FieldType.FLOAT: pa.float64(), FieldType.INT: pa.int64(),
                FieldType.BOOL: pa.bool_(), FieldType.STRING: pa.string(),
                FieldType.ENUM: pa.string()}


@dataclass(frozen=True, slots=True)
class ExportColumn:
    """One exported field and its wire type."""

    name: str
    type: FieldType


def export_columns(profiles: Iterable[DeviceProfile]) -> list[ExportColumn]:
    """Union of the profiles' fields, in profile order, first profile first."""
    columns: dict[str, ExportColumn] = {}
    for profile in profiles:
        for name, spec in profile.fields.items():
            columns.setdefault(name, ExportColumn(name, spec.type))
    return list(columns.values())


def iter_export_frames(store: TimeSeriesStore, device_ids: Sequence[str],
                       columns: Sequence[ExportColumn], start_ms: int, end_ms: int,
                       chunk_rows: int = 50_000) -> Iterator[pd.DataFrame]:
    """Frames `ts_ms, device_id, <fields>` device by device, each in ts order."""
    names = [c.name for c in columns]
    for device_id in device_ids:
        for frame in store.iter_read(device_id, start_ms, end_ms, names, chunk_rows=chunk_rows):
            if frame.empty:
                continue
            frame.insert(1, "device_id", device_id)
            yield frame


def _cell(value: Any, kind: FieldType) -> Any:
    """A store value as its wire type; None for a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if kind is FieldType.BOOL:
        return bool(value)
    if kind is FieldType.INT:
        return int(value)
    if kind is FieldType.FLOAT:
        return float(value)
    return str(value)


def _rows(frame: pd.DataFrame, columns: Sequence[ExportColumn]) -> Iterator[tuple[Any, ...]]:
    kinds = [c.type for c in columns]
    field_lists = [frame[c.name].tolist() for c in columns]
    for index, (ts_ms, device_id) in enumerate(
            zip(frame["ts_ms"].tolist(), frame["device_id"].tolist(), strict=True)):
        cells = (_cell(values[index], kind)
                 for values, kind in zip(field_lists, kinds, strict=True))
        yield (int(ts_ms), device_id, *cells)


def _csv_text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def csv_chunks(frames: Iterable[pd.DataFrame], columns: Sequence[ExportColumn]) -> Iterator[bytes]:
    """CSV: header, then rows; bools `true`/`false`, empty cell for null."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["ts_ms", "device_id", *(c.name for c in columns)])
    for frame in frames:
        writer.writerows(tuple(_csv_text(v) for v in row) for row in _rows(frame, columns))
        yield buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


def jsonl_chunks(frames: Iterable[pd.DataFrame],
                 columns: Sequence[ExportColumn]) -> Iterator[bytes]:
    """JSON lines: one object per reading, `ts_ms`, `device_id`, then the fields it carries."""
    names = ["ts_ms", "device_id", *(c.name for c in columns)]
    for frame in frames:
        lines = [
            orjson.dumps({k: v for k, v in zip(names, row, strict=True) if v is not None})
            for row in _rows(frame, columns)
        ]
        if lines:
            yield b"\n".join(lines) + b"\n"


def arrow_schema(columns: Sequence[ExportColumn]) -> pa.Schema:
    """Parquet/Arrow schema of an export."""
    return pa.schema([("ts_ms", pa.int64()), ("device_id", pa.string()),
                      *((c.name, _ARROW_TYPES[c.type]) for c in columns)])


class _Sink(io.RawIOBase):
    """A write-only file whose bytes are taken out as they arrive."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def parquet_chunks(frames: Iterable[pd.DataFrame],
                   columns: Sequence[ExportColumn]) -> Iterator[bytes]:
    """Parquet: one row group per store chunk, streamed as written."""
    schema = arrow_schema(columns)
    sink = _Sink()
    with pq.ParquetWriter(sink, schema) as writer:
        for frame in frames:
            rows = list(_rows(frame, columns))
            arrays = [pa.array([row[i] for row in rows], type=schema.field(i).type)
                      for i in range(len(schema))]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            yield sink.take()
    yield sink.take()


def export_chunks(fmt: str, frames: Iterable[pd.DataFrame],
                  columns: Sequence[ExportColumn]) -> Iterator[bytes]:
    """The serialiser for `fmt` (csv, json or parquet)."""
    if fmt == "csv":
        return csv_chunks(frames, columns)
    if fmt == "json":
        return jsonl_chunks(frames, columns)
    if fmt == "parquet":
        return parquet_chunks(frames, columns)
    raise ValueError(f"unknown export format {fmt!r}; expected one of {EXPORT_FORMATS}")
