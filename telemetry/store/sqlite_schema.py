"""The SQLite store's tables, and the readings table's field columns with their kinds.

A field column is added the first time a field name is written, declared with the kind of
its first value (REAL, INTEGER, BOOLEAN or TEXT), so each field is a real typed column.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping

from telemetry.identity import event_key, key_fields
from telemetry.store.base import RECEIVED_COLUMN, TS_COLUMN, FieldKind, field_kind
from telemetry.store.sqlite_rows import quote_column
from telemetry.wire import FieldValue

EVENT_KEY_COLUMN = "event_key"
SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    device_id TEXT NOT NULL,
    ts_ms INTEGER NOT NULL,
    received_ms INTEGER NOT NULL,
    event_key TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (device_id, ts_ms, event_key)
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
FIXED_COLUMNS = frozenset({"device_id", TS_COLUMN, RECEIVED_COLUMN, EVENT_KEY_COLUMN})
_DECLARED_TYPES: dict[FieldKind, str] = {
    "float": "REAL",
    "int": "INTEGER",
    "bool": "BOOLEAN",
    "string": "TEXT",
}
_KINDS_BY_DECLARED_TYPE = {declared: kind for kind, declared in _DECLARED_TYPES.items()}


class FieldColumns:
    """The field columns of the readings table as last seen (`names`, `kinds`).

    Another process may add columns: `load` reads them again, and `ensure` does before it
    adds any.
    """

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.kinds: dict[str, FieldKind] = {}

    def load(self, conn: sqlite3.Connection) -> None:
        """Read the table's field columns and their kinds."""
        rows = conn.execute("PRAGMA table_info(readings)").fetchall()
        self.names = {row[1] for row in rows} - FIXED_COLUMNS
        self.kinds = {
            row[1]: _KINDS_BY_DECLARED_TYPE[row[2].upper()]
            for row in rows
            if row[1] in self.names and row[2].upper() in _KINDS_BY_DECLARED_TYPE
        }

    def ensure(
        self,
        conn: sqlite3.Connection,
        names: Iterable[str],
        samples: Iterable[Mapping[str, FieldValue]],
    ) -> None:
        """Add the columns of `names` not yet in the table, each declared with the kind of
        its first value in `samples` (the readings' values, in batch order)."""
        missing = set(names) - self.names
        if not missing:
            return
        self.load(conn)
        missing = set(names) - self.names
        if not missing:
            return
        kinds: dict[str, FieldKind] = {}
        for values in samples:
            for name in missing.intersection(values).difference(kinds):
                kinds[name] = field_kind(values[name])
            if len(kinds) == len(missing):
                break
        for name in sorted(missing):
            declared = _DECLARED_TYPES[kinds[name]]
            conn.execute(f"ALTER TABLE readings ADD COLUMN {quote_column(name)} {declared}")
            self.names.add(name)
            self.kinds[name] = kinds[name]


def upgrade_readings_table(conn: sqlite3.Connection) -> bool:
    """Give a readings table of innotrial 0.1 (key (device_id, ts_ms)) the event key: the
    table is rebuilt with the column and the key (device_id, ts_ms, event_key), and each
    stored event gets the event key of its values, in one transaction. True when it did."""
    if _has_event_key(conn):
        return False
    conn.execute("BEGIN IMMEDIATE")
    try:
        if _has_event_key(conn):  # another process upgraded it meanwhile
            conn.execute("ROLLBACK")
            return False
        _rebuild_with_event_key(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return True


def _has_event_key(conn: sqlite3.Connection) -> bool:
    return any(row[1] == EVENT_KEY_COLUMN
               for row in conn.execute("PRAGMA table_info(readings)").fetchall())


def _rebuild_with_event_key(conn: sqlite3.Connection) -> None:
    columns = [(row[1], row[2]) for row in conn.execute("PRAGMA table_info(readings)")]
    fields = [(name, declared) for name, declared in columns if name not in FIXED_COLUMNS]
    field_sql = "".join(f",\n    {quote_column(name)} {declared}" for name, declared in fields)
    conn.execute(
        "CREATE TABLE readings_upgraded (\n"
        "    device_id TEXT NOT NULL,\n    ts_ms INTEGER NOT NULL,\n"
        "    received_ms INTEGER NOT NULL,\n    event_key TEXT NOT NULL DEFAULT ''"
        f"{field_sql},\n    PRIMARY KEY (device_id, ts_ms, event_key)\n) WITHOUT ROWID"
    )
    names = ", ".join(quote_column(name) for name, _ in columns)
    conn.execute(f"INSERT INTO readings_upgraded ({names}) SELECT {names} FROM readings")
    keyed = [name for name, _ in fields if name in key_fields()]
    if keyed:
        selected = ", ".join(quote_column(name) for name in keyed)
        where = " OR ".join(f"{quote_column(name)} IS NOT NULL" for name in keyed)
        rows = conn.execute(
            f"SELECT device_id, ts_ms, {selected} FROM readings_upgraded WHERE {where}"
        ).fetchall()
        conn.executemany(
            "UPDATE readings_upgraded SET event_key = ? WHERE device_id = ? AND ts_ms = ?",
            [(event_key(dict(zip(keyed, row[2:], strict=True))), row[0], row[1])
             for row in rows],
        )
    conn.execute("DROP TABLE readings")
    conn.execute("ALTER TABLE readings_upgraded RENAME TO readings")
