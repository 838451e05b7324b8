"""Row building and inserts for the SQLite store (its hot path)."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache

from telemetry.blocks import ReadingBlock, values_getter
from telemetry.identity import event_key, has_key_fields
from telemetry.store.base import RECEIVED_COLUMN, TS_COLUMN
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
    pairs = sorted({(device_id, name) for device_id, names in signatures for name in names})
    insert_rows(conn, "INSERT OR IGNORE INTO reading_fields (device_id, field) VALUES ", 2, pairs)


def insert_seqs(conn: sqlite3.Connection, seq_rows: list[tuple[str, int]]) -> None:
    """Record the (device_id, seq) of the messages seen."""
    insert_rows(conn, "INSERT OR IGNORE INTO message_seqs (device_id, seq) VALUES ", 2, seq_rows)


_NO_VALUES: dict[str, object] = {}


def uniform_rows(
    items: Sequence[ReceivedReading], fields: Sequence[str]
) -> list[tuple[object, ...]] | None:
    """Rows (device_id, ts_ms, received_ms, [event_key,] *values of `fields`) when every
    reading has exactly the (non-empty) `fields`; None otherwise, without per-reading
    signatures. The event key is there only when `fields` has key fields (`row_columns`)."""
    every = values_getter(fields)
    count = len(fields)
    try:  # a reading with other names, or another number of them, raises KeyError
        if has_key_fields(set(fields)):
            return [
                (reading.device_id, reading.ts_ms, item.received_ms, event_key(values),
                 *every(values if len(values) == count else _NO_VALUES))
                for item in items
                for reading in (item.reading,)
                for values in (reading.values,)
            ]
        return [
            (reading.device_id, reading.ts_ms, item.received_ms,
             *every(values if len(values) == count else _NO_VALUES))
            for item in items
            for reading in (item.reading,)
            for values in (reading.values,)
        ]
    except KeyError:
        return None


def row_columns(fields: Sequence[str]) -> list[str]:
    """The columns of the rows of readings with `fields` (see uniform_rows): periodic rows
    leave `event_key` to its default ''."""
    keyed = has_key_fields(set(fields))
    return ["device_id", TS_COLUMN, RECEIVED_COLUMN, *(["event_key"] if keyed else []), *fields]


MAX_SQL_VARIABLES = 32_766  # SQLite >= 3.32
MAX_ROWS_PER_STATEMENT = 4_096
MAX_PIECE_ROWS = 256


def statement_sizes(total: int, most: int) -> Iterator[int]:
    """Row counts of the statements that insert `total` rows, at most `most` each: `most` as
    often as it fits, then the binary digits of the rest, largest first.

    So inserts of one shape of row need at most 13 different statements, each prepared once
    and then taken from the connection's statement cache. That matters: here a 10,800-row VALUES
    list took 60 ms to prepare, 9 ms to run, and held ~7 MB while cached.
    """
    yield from itertools.repeat(most, total // most)
    rest = total % most
    while rest:
        size = 1 << (rest.bit_length() - 1)
        yield size
        rest -= size


@lru_cache(maxsize=64)
def _values_sql(head: str, width: int, rows: int) -> str:
    one_row = "(" + ", ".join("?" * width) + ")"
    return head + ", ".join([one_row] * rows)


def insert_rows(
    conn: sqlite3.Connection, head: str, width: int, rows: Sequence[tuple[object, ...]]
) -> None:
    """Insert rows of `width` values with few, large multi-row VALUES statements.

    The sqlite3 module releases the GIL a few times for every statement it runs (reset, bind,
    step). In the ingest worker each release hands the GIL to a busy thread, and taking it
    back can wait for the whole switch interval (5 ms): a statement per row made the insert
    several-fold slower, and a statement per message seq alone cost a tenth of a commit.
    Large statements also keep the GIL released for long steps, so the SQLite work overlaps
    the other threads.
    """
    most = max(1, min(MAX_ROWS_PER_STATEMENT, MAX_SQL_VARIABLES // width))
    start = 0
    chain = itertools.chain.from_iterable
    for size in statement_sizes(len(rows), most):
        conn.execute(_values_sql(head, width, size), tuple(chain(rows[start : start + size])))
        start += size


@lru_cache(maxsize=64)
def _block_insert_sql(columns: tuple[str, ...], count: int, pieces: int) -> str:
    """An INSERT OR IGNORE of `pieces` pieces of `count` rows each; a piece's device_id and
    received_ms are bound once, as its first two parameters, numbered (each bare ? then
    takes the next number)."""
    names = ", ".join(map(quote_column, ("device_id", "received_ms", *columns)))
    items = ", ".join("?" * len(columns))
    width = 2 + count * len(columns)
    values = []
    for first in range(1, pieces * width, width):
        row = f"(?{first}, ?{first + 1}, {items})"
        values.append(", ".join([row] * count))
    return f"INSERT OR IGNORE INTO readings ({names}) VALUES " + ", ".join(values)


def insert_blocks(conn: sqlite3.Connection, blocks: Sequence[ReadingBlock]) -> None:
    """Insert the rows of blocks (INSERT OR IGNORE) with few, large statements, binding
    device_id and received_ms once per block instead of once per row (binding them per row
    made the ingest drain ~15 % slower).

    A block (or each MAX_PIECE_ROWS rows of a large one) is a piece; pieces of the same shape
    (columns, row count) go in together, rows in any order, in statements of the sizes
    `statement_sizes` gives.
    """
    shapes: dict[tuple[tuple[str, ...], int], list[tuple[object, ...]]] = {}
    chain = itertools.chain.from_iterable
    for block in blocks:
        rows = block.rows
        per_piece = max(1, min(MAX_PIECE_ROWS, (MAX_SQL_VARIABLES - 2) // len(block.columns)))
        for start in range(0, len(rows), per_piece):
            piece = rows[start : start + per_piece]
            shapes.setdefault((block.columns, len(piece)), []).append(
                (block.device_id, block.received_ms, *chain(piece)))
    for (columns, count), pieces in shapes.items():
        width = 2 + count * len(columns)
        most = max(1, min(MAX_ROWS_PER_STATEMENT // count, MAX_SQL_VARIABLES // width))
        start = 0
        for size in statement_sizes(len(pieces), most):
            conn.execute(_block_insert_sql(columns, count, size),
                         tuple(chain(pieces[start : start + size])))
            start += size
