"""Which keys of a batch InfluxDB already holds, and with what values (the pre-write check).

Step 1 asks, in one request with one statement per device, for the timestamps stored in the
range of the batch's timestamps: usually none, as new readings are newer than stored ones.
Only when some batch keys are among them, step 2 fetches those devices' full rows over the
range of the existing keys, so their values can be compared (see docs/stores.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from telemetry.identity import event_key
from telemetry.store.base import RECEIVED_COLUMN, FieldKind
from telemetry.store.influx_http import InfluxHttp
from telemetry.store.influx_lines import (
    DEVICE_TAG,
    EVENT_KEY_TAG,
    READINGS_MEASUREMENT,
    device_filter,
    quote_ident,
)
from telemetry.store.influx_write import Key, Stored
from telemetry.wire import FieldValue, ReceivedReading

KindsFor = Callable[[Iterable[str]], Mapping[str, FieldKind]]
_NOT_FIELDS = ("time", DEVICE_TAG, EVENT_KEY_TAG, RECEIVED_COLUMN)


def key_range(stamps: Iterable[int]) -> str:
    """InfluxQL condition covering the given timestamps (min <= time <= max)."""
    values = list(stamps)
    return f"time >= {min(values)}ms AND time <= {max(values)}ms"


def find_existing(
    http: InfluxHttp, unique: Mapping[Key, ReceivedReading], kinds_for: KindsFor
) -> dict[Key, Stored]:
    """Stored (received_ms, values) for the keys of the batch that already exist."""
    by_device: dict[str, set[int]] = {}
    for device_id, ts_ms, _ in unique:
        by_device.setdefault(device_id, set()).add(ts_ms)
    devices = sorted(by_device)
    statements = [
        f"SELECT {quote_ident(RECEIVED_COLUMN)} FROM {quote_ident(READINGS_MEASUREMENT)} "
        f"WHERE {device_filter(device_id)} AND {key_range(by_device[device_id])}"
        for device_id in devices
    ]
    hits: dict[str, set[int]] = {}
    for chunk in http.query(statements) if statements else ():
        device_id = devices[chunk.statement_id]
        wanted = by_device[device_id]
        found = [row[0] for row in chunk.values if row[0] in wanted]
        if found:
            hits.setdefault(device_id, set()).update(found)
    if not hits:
        return {}
    return _fetch_rows(http, hits, kinds_for)


def _fetch_rows(
    http: InfluxHttp, hits: Mapping[str, set[int]], kinds_for: KindsFor
) -> dict[Key, Stored]:
    """Full stored rows at stamps known to hold readings (one statement per device), by store
    key: the event key follows from the stored values (a point written before event keys
    were tags has none, and is found all the same)."""
    devices = sorted(hits)
    statements = [
        f"SELECT * FROM {quote_ident(READINGS_MEASUREMENT)} WHERE {device_filter(device_id)} "
        f"AND {key_range(hits[device_id])}"
        for device_id in devices
    ]
    rows: dict[Key, Stored] = {}
    for chunk in http.query(statements):
        device_id = devices[chunk.statement_id]
        kinds = kinds_for(set(chunk.columns).difference(_NOT_FIELDS))
        received_at = chunk.columns.index(RECEIVED_COLUMN)
        fields = [
            (index, name, kinds.get(name) == "float")
            for index, name in enumerate(chunk.columns)
            if name not in _NOT_FIELDS
        ]
        wanted = hits[device_id]
        for row in chunk.values:
            if row[0] in wanted:
                values = _row_values(row, fields)
                rows[(device_id, row[0], event_key(values))] = (int(row[received_at]), values)
    return rows


def _row_values(row: list[Any], fields: list[tuple[int, str, bool]]) -> dict[str, FieldValue]:
    """The non-null field values of a row; floats that InfluxDB sent as JSON ints made floats."""
    values: dict[str, FieldValue] = {}
    for index, name, is_float in fields:
        value = row[index]
        if value is not None:
            values[name] = float(value) if is_float else value
    return values
