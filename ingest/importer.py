"""`readings import`: readings from a CSV logger file through the same validation as MQTT.

Columns: `ts_ms` plus profile fields. An empty cell is an absent field; `true`/`false` are
booleans; numbers are parsed per the profile's field type. A cell that does not parse is
passed on as text so validation rejects it with the usual reason (type_mismatch) and it is
dead-lettered with source `import`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from device_profiles import DeviceProfile, FieldType
from ingest.processing import reading_excerpt
from ingest.writer import conflict_dead_letters, write_readings_around
from registry.db import Registry
from registry.dead_letters import DeadLetterRecord, add_dead_letters
from telemetry.store.base import TimeSeriesStore, WriteResult
from telemetry.validation import Rejection, reading_validator
from telemetry.wire import ReceivedReading

SOURCE_IMPORT = "import"
IMPORT_BATCH_ROWS = 20_000


class ImportFileError(ValueError):
    """The CSV file cannot be read as readings; `path` and `problem` say why."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


@dataclass(slots=True)
class ImportCounts:
    """What an import did."""

    rows: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0


def parse_cell(text: str, kind: FieldType | None) -> Any:
    """A CSV cell as the wire value for a field of `kind` (text when it does not parse)."""
    try:
        if kind is FieldType.FLOAT:
            return float(text)
        if kind is FieldType.INT:
            return int(text)
    except ValueError:
        return text
    if kind is FieldType.BOOL:
        return {"true": True, "false": False}.get(text.strip().lower(), text)
    return text


def _raw_rows(path: Path, profile: DeviceProfile) -> Iterator[dict[str, Any]]:
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise ImportFileError(path, f"cannot read: {exc.strerror}") from exc
    with handle:
        reader = csv.DictReader(handle)
        try:
            yield from _rows_of(reader, path, profile)
        except csv.Error as exc:  # e.g. a cell larger than the csv module's field limit
            raise ImportFileError(path, f"line {reader.line_num}: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise ImportFileError(path, f"not UTF-8 text: {exc.reason}") from exc


def _rows_of(reader: csv.DictReader[str], path: Path,
             profile: DeviceProfile) -> Iterator[dict[str, Any]]:
    header = reader.fieldnames or []
    if "ts_ms" not in header:
        raise ImportFileError(path, f"needs a ts_ms column; header is {header}")
    for row in reader:
        raw: dict[str, Any] = {}
        for name, cell in row.items():
            if name is None or cell is None or cell == "":
                continue
            spec = profile.fields.get(name)
            raw[name] = (parse_cell(cell, FieldType.INT) if name == "ts_ms"
                         else parse_cell(cell, spec.type if spec else None))
        yield raw


def import_csv(path: Path, device_id: str, gateway_id: str | None, profile: DeviceProfile,
               store: TimeSeriesStore, registry: Registry, now_ms: int) -> ImportCounts:
    """Validate and store every row of the file; rejected rows become dead letters."""
    counts = ImportCounts()
    validator = reading_validator(profile)
    readings: list[ReceivedReading] = []
    dead: list[DeadLetterRecord] = []
    for raw in _raw_rows(path, profile):
        counts.rows += 1
        result = validator.validate(device_id, raw, now_ms)
        if isinstance(result, Rejection):
            dead.append(DeadLetterRecord(
                received_ms=now_ms, reason=result.reason, detail=f"{path.name} row {counts.rows}: "
                f"{result.detail}", source=SOURCE_IMPORT, gateway_id=gateway_id,
                device_id=device_id, ts_ms=result.ts_ms, payload_excerpt=reading_excerpt(raw)))
        else:
            readings.append(ReceivedReading(result, now_ms))
        if len(readings) + len(dead) >= IMPORT_BATCH_ROWS:
            _flush(readings, dead, store, registry, counts, gateway_id)
    _flush(readings, dead, store, registry, counts, gateway_id)
    return counts


def _flush(readings: list[ReceivedReading], dead: list[DeadLetterRecord], store: TimeSeriesStore,
           registry: Registry, counts: ImportCounts, gateway_id: str | None) -> None:
    if readings:
        result = WriteResult()
        refused: list[DeadLetterRecord] = []
        write_readings_around(store.write, None, readings, result, refused)
        refused.extend(conflict_dead_letters([], result.conflicts))
        counts.stored += result.stored
        counts.duplicates += result.duplicates
        dead.extend(replace(record, source=SOURCE_IMPORT, gateway_id=gateway_id)
                    for record in refused)
    if dead:
        with registry.session() as session:
            add_dead_letters(session, dead)
        counts.rejected += len(dead)
    readings.clear()
    dead.clear()

