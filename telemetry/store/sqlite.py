"""Embedded time-series store: one SQLite file in WAL mode.

Readings live in one wide table keyed by (device_id, ts_ms, event_key) (telemetry.identity;
"" for periodic readings; a file of innotrial 0.1 is upgraded in place when opened); a column
is added the first
time a field name is written, declared with the kind of its first value (REAL, INTEGER,
BOOLEAN or TEXT), so each field is a real typed column that reads fast and reads back with
the same dtypes as the other backends (`telemetry.store.base.build_frame`).
Commits use synchronous=FULL: a batch acknowledged by ingest survives power loss.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from telemetry.blocks import ReadingBlock, fields_of, values_getter
from telemetry.identity import StoreKey, event_key, has_key_fields, store_key
from telemetry.store.base import (
    RECEIVED_COLUMN,
    TS_COLUMN,
    DeviceStats,
    ReadingConflict,
    StoreRejected,
    StoreUnavailable,
    TimeSeriesStore,
    WriteResult,
    build_frame,
    dedupe_batch,
)
from telemetry.store.sqlite_rows import (
    field_signatures,
    insert_blocks,
    insert_field_names,
    insert_rows,
    insert_seqs,
    quote_column,
    row_columns,
    uniform_rows,
)
from telemetry.store.sqlite_schema import (
    FIXED_COLUMNS,
    SCHEMA,
    FieldColumns,
    upgrade_readings_table,
)
from telemetry.wire import FieldValue, Reading, ReceivedReading


class SQLiteStore(TimeSeriesStore):
    """TimeSeriesStore on a local SQLite file (WAL, synchronous=FULL)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self._local = threading.local()
        self._write_lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = self._conn()
            conn.executescript(SCHEMA)
            upgrade_readings_table(conn)
            self._fields = FieldColumns()
            self._fields.load(conn)
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(f"cannot open SQLite store {self.path}: {exc}") from exc

    # -- connections ---------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    # -- writing -------------------------------------------------------------------
    def write(
        self, batch: Sequence[ReceivedReading], seqs: Iterable[tuple[str, int]] = ()
    ) -> WriteResult:
        """Store new readings, count duplicates, report conflicts; one transaction."""
        unique, repeats, clashes = dedupe_batch(batch)
        result = WriteResult(duplicates=repeats)
        result.conflicts.extend(ReadingConflict(first.reading, other) for first, other in clashes)
        dup_by_device: dict[str, int] = {}
        seq_rows = list(seqs)
        items = list(unique.values())
        # The usual batch has one field set (a message's readings share their keys): try the
        # first reading's, and only for a mixed batch collect every reading's signature.
        fields = sorted(items[0].reading.values) if items else []
        rows = uniform_rows(items, fields) if fields else None
        if rows is None:
            signatures = field_signatures(items)
            fields = sorted(set().union(*(names for _, names in signatures)))
        else:
            devices = {item.reading.device_id for item in items}
            signatures = {(device_id, tuple(fields)) for device_id in devices}
        with self._transaction(fields, (item.reading.values for item in items)) as conn:
            new_items = self._insert_new(conn, unique, fields, rows, result, dup_by_device)
            if len(new_items) != len(unique):
                signatures = field_signatures(new_items)
            insert_field_names(conn, signatures)
            insert_seqs(conn, seq_rows)
            self._count_duplicates(conn, batch, unique, dup_by_device)
            conn.execute("COMMIT")
        result.stored = len(new_items)
        return result

    def write_blocks(
        self, blocks: Sequence[ReadingBlock], seqs: Iterable[tuple[str, int]] = ()
    ) -> WriteResult:
        """Store blocks of readings; one transaction, the contract of `write`.

        Optimistic, like `_insert_new`: usually every key is new and occurs once, so the
        rows go in straight from the blocks (INSERT OR IGNORE). Any row the table ignored,
        because its key is already stored or occurs earlier in the batch, shows as fewer
        changes than rows: the transaction is rolled back and the whole batch goes through
        `write` instead.
        """
        seq_rows = list(seqs)
        if not blocks or any(has_key_fields(block.columns) for block in blocks):
            return super().write_blocks(blocks, seq_rows)  # events: their keys need `write`
        count = sum(map(len, blocks))
        shapes = {(block.device_id, block.columns) for block in blocks}
        signatures = {(device_id, fields_of(columns)) for device_id, columns in shapes}
        fields = set().union(*(names for _, names in signatures))
        samples = (dict(zip(block.columns, block.rows[0], strict=True))
                   for block in blocks if block.rows)
        with self._transaction(fields, samples) as conn:
            before = conn.total_changes
            insert_blocks(conn, blocks)
            all_new = conn.total_changes - before == count
            if all_new:
                insert_field_names(conn, signatures)
                insert_seqs(conn, seq_rows)
                conn.execute("COMMIT")
            else:
                conn.execute("ROLLBACK")
        if not all_new:
            return super().write_blocks(blocks, seq_rows)
        return WriteResult(stored=count)

    @contextmanager
    def _transaction(
        self, fields: Iterable[str], samples: Iterable[Mapping[str, FieldValue]]
    ) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE) under the write lock, after the columns for
        `fields` exist; the caller commits. Rolled back on any error; an operational SQLite
        error (locked, I/O, disk full) raises StoreUnavailable, any other (a value or statement
        SQLite refuses) StoreRejected."""
        try:
            with self._write_lock:
                conn = self._conn()
                self._fields.ensure(conn, fields, samples)
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(f"SQLite write failed: {exc}") from exc
        except sqlite3.Error as exc:
            raise StoreRejected(f"SQLite refused the write: {exc}") from exc

    def _split_existing(
        self,
        conn: sqlite3.Connection,
        unique: dict[StoreKey, ReceivedReading],
        result: WriteResult,
        dup_by_device: dict[str, int],
    ) -> list[ReceivedReading]:
        """Drop keys already stored: equal values are duplicates, others conflicts."""
        by_device: dict[str, list[int]] = {}
        for device_id, ts_ms, _ in unique:
            by_device.setdefault(device_id, []).append(ts_ms)
        existing_keys: set[StoreKey] = set()
        for device_id, stamps in by_device.items():
            lo, hi = min(stamps), max(stamps)
            rows = conn.execute(
                "SELECT ts_ms, event_key FROM readings "
                "WHERE device_id = ? AND ts_ms BETWEEN ? AND ?",
                (device_id, lo, hi),
            ).fetchall()
            if rows:
                existing_keys.update((device_id, ts, key) for ts, key in rows)
        if not existing_keys:
            return list(unique.values())
        new_items: list[ReceivedReading] = []
        for key, item in unique.items():
            if key not in existing_keys:
                new_items.append(item)
                continue
            stored = self._fetch_one(conn, key)
            if stored.same_values(item.reading):
                result.duplicates += 1
                dup_by_device[key[0]] = dup_by_device.get(key[0], 0) + 1
            else:
                result.conflicts.append(ReadingConflict(stored, item))
        return new_items

    def _fetch_one(self, conn: sqlite3.Connection, key: StoreKey) -> Reading:
        cursor = conn.execute(
            "SELECT * FROM readings WHERE device_id = ? AND ts_ms = ? AND event_key = ?", key
        )
        names = [desc[0] for desc in cursor.description]
        row = cursor.fetchone()
        values = {
            name: bool(value) if self._fields.kinds.get(name) == "bool" else value
            for name, value in zip(names, row, strict=True)
            if name not in FIXED_COLUMNS and value is not None
        }
        return Reading(device_id=key[0], ts_ms=key[1], values=values)

    def _insert_new(
        self,
        conn: sqlite3.Connection,
        unique: dict[StoreKey, ReceivedReading],
        fields: Sequence[str],
        rows: list[tuple[object, ...]] | None,
        result: WriteResult,
        dup_by_device: dict[str, int],
    ) -> list[ReceivedReading]:
        """Insert the readings whose keys are new and return them.

        Optimistic: usually every key is new, so insert all with OR IGNORE inside a savepoint;
        only when some row was ignored, roll back to the savepoint and sort keys out first.
        """
        items = list(unique.values())
        conn.execute("SAVEPOINT new_readings")
        before = conn.total_changes
        self._insert(conn, items, fields, rows, or_ignore=True)
        if conn.total_changes - before == len(items):
            conn.execute("RELEASE new_readings")
            return items
        conn.execute("ROLLBACK TO new_readings")
        conn.execute("RELEASE new_readings")
        new_items = self._split_existing(conn, unique, result, dup_by_device)
        self._insert(conn, new_items, fields, None, or_ignore=False)
        return new_items

    def _insert(
        self,
        conn: sqlite3.Connection,
        items: Sequence[ReceivedReading],
        fields: Sequence[str],
        rows: list[tuple[object, ...]] | None,
        *,
        or_ignore: bool,
    ) -> None:
        """Insert readings; `rows` are theirs prebuilt (see uniform_rows) when given."""
        if not items:
            return
        columns = row_columns(fields)
        verb = "INSERT OR IGNORE" if or_ignore else "INSERT"
        head = f"{verb} INTO readings ({', '.join(map(quote_column, columns))}) VALUES "
        if rows is not None:
            insert_rows(conn, head, len(columns), rows)
            return
        every = values_getter(fields)
        count = len(fields)
        keyed = has_key_fields(set(fields))
        rows = [
            (reading.device_id, reading.ts_ms, item.received_ms,
             *((event_key(values),) if keyed else ()),
             *(every(values) if len(values) == count else map(values.get, fields)))
            for item in items
            for reading in (item.reading,)
            for values in (reading.values,)
        ]
        insert_rows(conn, head, len(columns), rows)

    def _count_duplicates(
        self,
        conn: sqlite3.Connection,
        batch: Sequence[ReceivedReading],
        unique: dict[StoreKey, ReceivedReading],
        dup_by_device: dict[str, int],
    ) -> None:
        if len(unique) != len(batch):
            seen: set[int] = {id(item) for item in unique.values()}
            for item in batch:
                if id(item) in seen:
                    continue
                first = unique[store_key(item.reading)]
                if first.reading.same_values(item.reading):
                    device_id = item.reading.device_id
                    dup_by_device[device_id] = dup_by_device.get(device_id, 0) + 1
        if dup_by_device:
            conn.executemany(
                "INSERT INTO device_counters (device_id, duplicates) VALUES (?, ?) "
                "ON CONFLICT(device_id) DO UPDATE "
                "SET duplicates = duplicates + excluded.duplicates",
                sorted(dup_by_device.items()),
            )

    # -- reading -------------------------------------------------------------------
    def device_fields(self, device_id: str) -> list[str]:
        """Field names ever stored for a device, sorted."""
        rows = self._conn().execute(
            "SELECT field FROM reading_fields WHERE device_id = ? ORDER BY field", (device_id,)
        ).fetchall()
        return [name for (name,) in rows]

    def iter_read(
        self,
        device_id: str,
        start_ms: int,
        end_ms: int,
        columns: Sequence[str] | None = None,
        *,
        with_received: bool = False,
        chunk_rows: int = 50_000,
    ) -> Iterator[pd.DataFrame]:
        """Yield readings in [start_ms, end_ms) in ts order, `chunk_rows` at a time."""
        fields = list(self.device_fields(device_id) if columns is None else columns)
        out_columns = [TS_COLUMN, *([RECEIVED_COLUMN] if with_received else []), *fields]
        if not self._fields.names.issuperset(fields):
            self._fields.load(self._conn())  # another process may have added columns
        known = self._fields.names | FIXED_COLUMNS
        kinds = dict(self._fields.kinds)
        select = [
            quote_column(name) if name in known else f"NULL AS {quote_column(name)}"
            for name in out_columns
        ]
        sql = (
            f"SELECT {', '.join(select)} FROM readings "
            "WHERE device_id = ? AND ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms, event_key"
        )
        try:
            cursor = self._conn().execute(sql, (device_id, start_ms, end_ms))
            emitted = False
            while rows := cursor.fetchmany(chunk_rows):
                emitted = True
                yield build_frame(rows, out_columns, kinds)
            if not emitted:
                yield build_frame([], out_columns, kinds)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite read failed: {exc}") from exc

    def device_stats(self, device_id: str) -> DeviceStats:
        """Duplicates and seq bookkeeping of one device."""
        conn = self._conn()
        row = conn.execute(
            "SELECT duplicates FROM device_counters WHERE device_id = ?", (device_id,)
        ).fetchone()
        seq_min, seq_max, distinct = conn.execute(
            "SELECT MIN(seq), MAX(seq), COUNT(*) FROM message_seqs WHERE device_id = ?",
            (device_id,),
        ).fetchone()
        return DeviceStats(device_id, row[0] if row else 0, seq_min, seq_max, distinct)

    def count(self, device_id: str, start_ms: int, end_ms: int) -> int:
        """Stored readings of a device in [start_ms, end_ms)."""
        (n,) = self._conn().execute(
            "SELECT COUNT(*) FROM readings WHERE device_id = ? AND ts_ms >= ? AND ts_ms < ?",
            (device_id, start_ms, end_ms),
        ).fetchone()
        return int(n)

    def last_reading_ms(self, device_id: str) -> int | None:
        """Newest stored ts_ms of a device."""
        (ts,) = self._conn().execute(
            "SELECT MAX(ts_ms) FROM readings WHERE device_id = ?", (device_id,)
        ).fetchone()
        return None if ts is None else int(ts)

    def check(self) -> None:
        """Raise StoreUnavailable unless the file answers a query."""
        try:
            self._conn().execute("SELECT 1").fetchone()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite store {self.path}: {exc}") from exc

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
