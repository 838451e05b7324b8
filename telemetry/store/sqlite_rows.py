"""Row building and multi-row inserts for the SQLite store (its hot path)."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterable, Sequence

from telemetry.store.base import values_getter
from telemetry.wire import ReceivedReading


def quote_column(name: str) -> str:
    """A column name quoted for SQL."""
    return '"' + name.replace('"', '""') + '"'


def field_signatures(items: Iterable[ReceivedReading]) -> set[tuple[str, tuple[str, ...]]]:
    """The distinct (device_id, field names) of readings: few per batch, cheap to expand."""
    return {(item.reading.device_id, tuple(item.reading.values)) for item in items}


_NO_VALUES: dict[str, object] = {}


def uniform_rows(
    items: Sequence[ReceivedReading], fields: Sequence[str]
) -> list[tuple[object, ...]] | None:
    """Rows (device_id, ts_ms, received_ms, *values of `fields`) when every reading has
    exactly the (non-empty) `fields`; None otherwise, without per-reading signatures."""
    every = values_getter(fields)
    count = len(fields)
    try:  # a reading with other names, or another number of them, raises KeyError
        return [
            (reading.device_id, reading.ts_ms, item.received_ms,
             *every(values if len(values) == count else _NO_VALUES))
            for item in items
            for reading in (item.reading,)
            for values in (reading.values,)
        ]
    except KeyError:
        return None


MAX_SQL_VARIABLES = 32_766  # SQLite >= 3.32
ROWS_PER_STATEMENT = 256


def insert_rows(
    conn: sqlite3.Connection, head: str, width: int, rows: Sequence[tuple[object, ...]]
) -> None:
    """Insert rows with multi-row VALUES statements, many rows per sqlite3_step.

    The sqlite3 module releases the GIL around every step; one step per row lets the ingest
    worker's other threads take the GIL back between rows and slows the insert several-fold.
    """
    per_statement = max(1, min(ROWS_PER_STATEMENT, MAX_SQL_VARIABLES // width))
    one_row = "(" + ", ".join("?" * width) + ")"
    full = len(rows) - len(rows) % per_statement
    if full:
        sql = head + ", ".join([one_row] * per_statement)
        conn.executemany(
            sql,
            (
                tuple(itertools.chain.from_iterable(rows[start : start + per_statement]))
                for start in range(0, full, per_statement)
            ),
        )
    rest = rows[full:]
    if rest:
        conn.execute(
            head + ", ".join([one_row] * len(rest)), tuple(itertools.chain.from_iterable(rest))
        )
