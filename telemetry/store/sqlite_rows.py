"""Row building and inserts for the SQLite store (its hot path)."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterable, Sequence
from functools import lru_cache

from telemetry.blocks import ReadingBlock, values_getter
from telemetry.wire import ReceivedReading


def quote_column(name: str) -> str:
    """A column name quoted for SQL."""
    return '"' + name.replace('"', '""') + '"'


def field_signatures(items: Iterable[ReceivedReading]) -> set[tuple[str, tuple[str, ...]]]:
    """The distinct (device_id, field names) of readings: few per batch, cheap to expand."""
    return {(item.reading.device_id, tuple(item.reading.values)) for item in items}


def insert_field_names(
    conn: sqlite3.Connection, signatures: set[tuple[str, tuple[str, ...]]]
) -> None:
    """Record which fields each device has sent."""
    pairs = {(device_id, name) for device_id, names in signatures for name in names}
    conn.executemany(
        "INSERT OR IGNORE INTO reading_fields (device_id, field) VALUES (?, ?)", sorted(pairs)
    )


def insert_seqs(conn: sqlite3.Connection, seq_rows: list[tuple[str, int]]) -> None:
    """Record the (device_id, seq) of the messages seen."""
    if seq_rows:
        conn.executemany(
            "INSERT OR IGNORE INTO message_seqs (device_id, seq) VALUES (?, ?)", seq_rows
        )


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


BLOCK_ROWS_PER_STATEMENT = 1024


@lru_cache(maxsize=256)
def _block_insert_sql(columns: tuple[str, ...], count: int, blocks: int) -> str:
    """An INSERT OR IGNORE of `blocks` pieces of `count` rows each; a piece's device_id and
    received_ms are bound once, as its first two parameters, numbered (each bare ? then
    takes the next number)."""
    names = ", ".join(map(quote_column, ("device_id", "received_ms", *columns)))
    items = ", ".join("?" * len(columns))
    width = 2 + count * len(columns)
    pieces = []
    for first in range(1, blocks * width, width):
        row = f"(?{first}, ?{first + 1}, {items})"
        pieces.append(", ".join([row] * count))
    return f"INSERT OR IGNORE INTO readings ({names}) VALUES " + ", ".join(pieces)


def insert_blocks(conn: sqlite3.Connection, blocks: Sequence[ReadingBlock]) -> None:
    """Insert the rows of blocks (INSERT OR IGNORE) with few, large statements, binding
    device_id and received_ms once per block instead of once per row.

    A block (or each ROWS_PER_STATEMENT rows of a large one) is a piece; pieces of the same
    shape (columns, row count) go in BLOCK_ROWS_PER_STATEMENT rows per statement, with the
    rows in any order. Large statements keep the GIL released for long sqlite3_steps, so
    the SQLite work overlaps the ingest worker's other threads.
    """
    shapes: dict[tuple[tuple[str, ...], int], list[tuple[object, ...]]] = {}
    chain = itertools.chain.from_iterable
    for block in blocks:
        rows = block.rows
        per_piece = max(1, min(ROWS_PER_STATEMENT, (MAX_SQL_VARIABLES - 2) // len(block.columns)))
        for start in range(0, len(rows), per_piece):
            piece = rows[start : start + per_piece]
            shapes.setdefault((block.columns, len(piece)), []).append(
                (block.device_id, block.received_ms, *chain(piece)))
    for (columns, count), pieces in shapes.items():
        per_statement = max(1, min(BLOCK_ROWS_PER_STATEMENT // count,
                                   MAX_SQL_VARIABLES // (2 + count * len(columns))))
        full = len(pieces) - len(pieces) % per_statement
        if full:
            conn.executemany(
                _block_insert_sql(columns, count, per_statement),
                (tuple(chain(pieces[start : start + per_statement]))
                 for start in range(0, full, per_statement)),
            )
        rest = pieces[full:]
        if rest:
            conn.execute(_block_insert_sql(columns, count, len(rest)), tuple(chain(rest)))
