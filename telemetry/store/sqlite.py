"""Embedded time-series store: one SQLite file in WAL mode.

Readings live in one wide table keyed by (device_id, ts_ms); a column is added the first
time a field name is written, so each field is a real typed column that reads fast.
Commits use synchronous=FULL: a batch acknowledged by ingest survives power loss.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pandas as pd

from telemetry.store.base import (
    RECEIVED_COLUMN,
    TS_COLUMN,
    Conflict,
    DeviceStats,
    StoreUnavailable,
    TimeSeriesStore,
    WriteResult,
    dedupe_batch,
)
from telemetry.wire import Reading, ReceivedReading

_SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    device_id TEXT NOT NULL,
    ts_ms INTEGER NOT NULL,
    received_ms INTEGER NOT NULL,
    PRIMARY KEY (device_id, ts_ms)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reading_fields (
    device_id TEXT NOT NULL,
    field TEXT NOT NULL,
    PRIMARY KEY (device_id, field)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS message_seqs (
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (device_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS device_counters (
    device_id TEXT PRIMARY KEY,
    duplicates INTEGER NOT NULL DEFAULT 0
);
"""
_FIXED_COLUMNS = frozenset({"device_id", TS_COLUMN, RECEIVED_COLUMN})


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


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
            conn.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(f"cannot open SQLite store {self.path}: {exc}") from exc
        self._columns = self._load_columns()

    # -- connections ---------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    def _load_columns(self) -> set[str]:
        rows = self._conn().execute("PRAGMA table_info(readings)").fetchall()
        return {row[1] for row in rows} - _FIXED_COLUMNS

    def _ensure_columns(self, conn: sqlite3.Connection, names: Iterable[str]) -> None:
        missing = set(names) - self._columns
        if not missing:
            return
        self._columns = self._load_columns()
        for name in sorted(set(names) - self._columns):
            conn.execute(f"ALTER TABLE readings ADD COLUMN {_quote(name)}")
            self._columns.add(name)

    # -- writing -------------------------------------------------------------------
    def write(
        self, batch: Sequence[ReceivedReading], seqs: Iterable[tuple[str, int]] = ()
    ) -> WriteResult:
        """Store new readings, count duplicates, report conflicts; one transaction."""
        unique, repeats, clashes = dedupe_batch(batch)
        result = WriteResult(duplicates=repeats)
        result.conflicts.extend(Conflict(first.reading, other) for first, other in clashes)
        dup_by_device: dict[str, int] = {}
        seq_rows = list(seqs)
        try:
            with self._write_lock:
                conn = self._conn()
                fields = {name for item in unique.values() for name in item.reading.values}
                self._ensure_columns(conn, fields)
                conn.execute("BEGIN IMMEDIATE")
                try:
                    new_items = self._split_existing(conn, unique, result, dup_by_device)
                    self._insert(conn, new_items, sorted(fields))
                    if seq_rows:
                        conn.executemany(
                            "INSERT OR IGNORE INTO message_seqs (device_id, seq) VALUES (?, ?)", seq_rows
                        )
                    self._count_duplicates(conn, batch, unique, dup_by_device)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite write failed: {exc}") from exc
        result.stored = len(new_items)
        return result

    def _split_existing(
        self,
        conn: sqlite3.Connection,
        unique: dict[tuple[str, int], ReceivedReading],
        result: WriteResult,
        dup_by_device: dict[str, int],
    ) -> list[ReceivedReading]:
        """Drop keys already stored: equal values are duplicates, others conflicts."""
        by_device: dict[str, list[int]] = {}
        for device_id, ts_ms in unique:
            by_device.setdefault(device_id, []).append(ts_ms)
        existing_keys: set[tuple[str, int]] = set()
        for device_id, stamps in by_device.items():
            lo, hi = min(stamps), max(stamps)
            rows = conn.execute(
                "SELECT ts_ms FROM readings WHERE device_id = ? AND ts_ms BETWEEN ? AND ?",
                (device_id, lo, hi),
            ).fetchall()
            wanted = set(stamps)
            existing_keys.update((device_id, ts) for (ts,) in rows if ts in wanted)
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
                result.conflicts.append(Conflict(stored, item))
        return new_items

    def _fetch_one(self, conn: sqlite3.Connection, key: tuple[str, int]) -> Reading:
        cursor = conn.execute("SELECT * FROM readings WHERE device_id = ? AND ts_ms = ?", key)
        names = [desc[0] for desc in cursor.description]
        row = cursor.fetchone()
        values = {
            name: value
            for name, value in zip(names, row, strict=True)
            if name not in _FIXED_COLUMNS and value is not None
        }
        return Reading(device_id=key[0], ts_ms=key[1], values=values)

    def _insert(
        self, conn: sqlite3.Connection, items: Sequence[ReceivedReading], fields: Sequence[str]
    ) -> None:
        if not items:
            return
        columns = ["device_id", TS_COLUMN, RECEIVED_COLUMN, *fields]
        placeholders = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO readings ({', '.join(map(_quote, columns))}) VALUES ({placeholders})"
        conn.executemany(
            sql,
            (
                (item.reading.device_id, item.reading.ts_ms, item.received_ms,
                 *(item.reading.values.get(name) for name in fields))
                for item in items
            ),
        )
        pairs = {(item.reading.device_id, name) for item in items for name in item.reading.values}
        conn.executemany(
            "INSERT OR IGNORE INTO reading_fields (device_id, field) VALUES (?, ?)", sorted(pairs)
        )

    def _count_duplicates(
        self,
        conn: sqlite3.Connection,
        batch: Sequence[ReceivedReading],
        unique: dict[tuple[str, int], ReceivedReading],
        dup_by_device: dict[str, int],
    ) -> None:
        if len(unique) != len(batch):
            seen: set[int] = {id(item) for item in unique.values()}
            for item in batch:
                if id(item) in seen:
                    continue
                first = unique[(item.reading.device_id, item.reading.ts_ms)]
                if first.reading.same_values(item.reading):
                    device_id = item.reading.device_id
                    dup_by_device[device_id] = dup_by_device.get(device_id, 0) + 1
        if dup_by_device:
            conn.executemany(
                "INSERT INTO device_counters (device_id, duplicates) VALUES (?, ?) "
                "ON CONFLICT(device_id) DO UPDATE SET duplicates = duplicates + excluded.duplicates",
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
        known = self._columns | _FIXED_COLUMNS
        select = [_quote(name) if name in known else f"NULL AS {_quote(name)}" for name in out_columns]
        sql = (
            f"SELECT {', '.join(select)} FROM readings "
            "WHERE device_id = ? AND ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms"
        )
        try:
            cursor = self._conn().execute(sql, (device_id, start_ms, end_ms))
            emitted = False
            while rows := cursor.fetchmany(chunk_rows):
                emitted = True
                yield self._frame(rows, out_columns)
            if not emitted:
                yield self._frame([], out_columns)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite read failed: {exc}") from exc

    @staticmethod
    def _frame(rows: list[tuple[object, ...]], columns: list[str]) -> pd.DataFrame:
        frame = pd.DataFrame.from_records(rows, columns=columns)
        frame[TS_COLUMN] = frame[TS_COLUMN].astype("int64")
        if RECEIVED_COLUMN in frame:
            frame[RECEIVED_COLUMN] = frame[RECEIVED_COLUMN].astype("int64")
        return frame

    def device_stats(self, device_id: str) -> DeviceStats:
        """Duplicates and seq bookkeeping of one device."""
        conn = self._conn()
        row = conn.execute(
            "SELECT duplicates FROM device_counters WHERE device_id = ?", (device_id,)
        ).fetchone()
        seq_min, seq_max, distinct = conn.execute(
            "SELECT MIN(seq), MAX(seq), COUNT(*) FROM message_seqs WHERE device_id = ?", (device_id,)
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
