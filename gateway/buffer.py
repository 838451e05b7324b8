"""The durable store-and-forward buffer: SQLite in WAL mode (spec: docs/store-and-forward.md).

Readings enter `pending` as the driver yields them, as chunks of at most `max_readings`
readings serialised once (comma-joined JSON objects). `seal` packs a device's pending readings
into messages, assigning the device's next `seq` and freezing the payload bytes, so that a
re-publish after a crash is an exact duplicate. A message is deleted only when ingest
confirmed it (`confirm`, by device and seq), or, with `delivery: puback`, when the broker
acknowledged it (`ack`, by message id). When stored payloads exceed the size limit, the
oldest messages are dropped and counted per device (the drop shows as a seq gap downstream
and in `gateway status`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from gateway.errors import GatewayBufferError
from telemetry.wire import (
    MAX_PAYLOAD_BYTES,
    Reading,
    encode_envelope,
    encode_readings_body,
    reading_to_wire,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS pending (
    id INTEGER PRIMARY KEY AUTOINCREMENT, device_id TEXT NOT NULL,
    created_ms INTEGER NOT NULL, n_readings INTEGER NOT NULL, body BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS pending_device ON pending (device_id, id);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, device_id TEXT NOT NULL, seq INTEGER NOT NULL,
    n_readings INTEGER NOT NULL, created_ms INTEGER NOT NULL, payload BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS messages_device_seq ON messages (device_id, seq);
CREATE TABLE IF NOT EXISTS devices (
    device_id TEXT PRIMARY KEY, next_seq INTEGER NOT NULL DEFAULT 1,
    acked_messages INTEGER NOT NULL DEFAULT 0,
    dropped_messages INTEGER NOT NULL DEFAULT 0, dropped_readings INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS driver_state (device_id TEXT PRIMARY KEY, state BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('stored_bytes', 0);
"""


ENVELOPE_BYTES = 128
"""Room kept for the envelope ({"v":1,"seq":...,"sent_ms":...,"readings":[]}) in a payload."""


@dataclass(frozen=True, slots=True)
class Commit:
    """One driver batch to commit: its readings and the driver's state."""

    device_id: str
    readings: Sequence[Reading]
    state: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class SealedMessage:
    """A sealed message waiting for its confirmation (or PUBACK)."""

    id: int
    device_id: str
    seq: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class BufferDeviceStats:
    """Per-device counters kept in the buffer."""

    device_id: str
    last_seq: int
    acked_messages: int
    dropped_messages: int
    dropped_readings: int


@dataclass(frozen=True, slots=True)
class BufferStats:
    """What `gateway status` shows."""

    messages: int
    pending_readings: int
    stored_bytes: int
    oldest_created_ms: int | None
    devices: tuple[BufferDeviceStats, ...]
    waiting_for_ingest_since_ms: int | None = None


class Buffer:
    """One gateway's buffer file; open one instance per thread."""

    def __init__(
        self,
        path: Path | str,
        max_bytes: int = 1 << 40,
        sync: str = "full",
        max_readings: int = 100,
    ) -> None:
        self.path = str(path)
        self.max_bytes = max_bytes
        self.max_readings = max_readings
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if sync == 'full' else 'NORMAL'}")
            self._db.executescript(SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise GatewayBufferError(self.path, str(exc)) from exc

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def add(
        self,
        device_id: str,
        readings: Sequence[Reading],
        now_ms: int,
        state: Mapping[str, Any] | None = None,
    ) -> None:
        """Commit readings (and the driver's state) durably, in one transaction."""
        self.add_many([Commit(device_id, readings, state)], now_ms)

    def _chunks(self, readings: Sequence[Reading]) -> list[tuple[int, bytes]]:
        """Serialise readings in chunks that fit in one message (count and payload size)."""
        chunks: list[tuple[int, bytes]] = []
        for start in range(0, len(readings), self.max_readings):
            stack = [list(readings[start : start + self.max_readings])]
            while stack:
                part = stack.pop()
                body = encode_readings_body(reading_to_wire(r) for r in part)
                if len(body) > MAX_PAYLOAD_BYTES - ENVELOPE_BYTES and len(part) > 1:
                    half = len(part) // 2
                    stack.extend([part[half:], part[:half]])
                else:
                    chunks.append((len(part), body))
        return chunks

    def add_many(self, commits: Sequence[Commit], now_ms: int) -> None:
        """Group commit: several drivers' batches (and states) in one transaction."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            for item in commits:
                self._db.executemany(
                    "INSERT INTO pending (device_id, created_ms, n_readings, body) "
                    "VALUES (?, ?, ?, ?)",
                    [(item.device_id, now_ms, n, body) for n, body in self._chunks(item.readings)],
                )
                if item.state is not None:
                    self._db.execute(
                        "INSERT OR REPLACE INTO driver_state (device_id, state) VALUES (?, ?)",
                        (item.device_id, orjson.dumps(dict(item.state))),
                    )
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise GatewayBufferError(self.path, str(exc)) from exc

    def load_state(self, device_id: str) -> dict[str, Any]:
        """The state a driver last committed with its readings ({} when none)."""
        row = self._db.execute(
            "SELECT state FROM driver_state WHERE device_id = ?", (device_id,)
        ).fetchone()
        return {} if row is None else dict(orjson.loads(row[0]))

    def seal(self, max_delay_ms: int, now_ms: int, force: bool = False) -> int:
        """Pack due pending readings into messages with their seq; return messages sealed."""
        due = [
            device_id
            for device_id, count, oldest in self._db.execute(
                "SELECT device_id, SUM(n_readings), MIN(created_ms) FROM pending GROUP BY device_id"
            ).fetchall()
            if force or count >= self.max_readings or now_ms - oldest >= max_delay_ms
        ]
        if not due:
            return 0
        sealed = 0
        try:
            self._db.execute("BEGIN IMMEDIATE")
            for device_id in due:
                sealed += self._seal_device(device_id, max_delay_ms, now_ms, force)
            if self._stored_bytes() > self.max_bytes:
                self._evict()
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise GatewayBufferError(self.path, str(exc)) from exc
        return sealed

    def _groups(self, rows: list[Any]) -> list[list[Any]]:
        """Consecutive pending rows packed into messages (count and size limits)."""
        groups: list[list[Any]] = [[]]
        count = size = 0
        for row in rows:
            if groups[-1] and (
                count + row[2] > self.max_readings
                or size + len(row[3]) + 1 > MAX_PAYLOAD_BYTES - ENVELOPE_BYTES
            ):
                groups.append([])
                count = size = 0
            groups[-1].append(row)
            count, size = count + row[2], size + len(row[3]) + 1
        return groups

    def _seal_device(self, device_id: str, max_delay_ms: int, now_ms: int, force: bool) -> int:
        rows = self._db.execute(
            "SELECT id, created_ms, n_readings, body FROM pending WHERE device_id = ? ORDER BY id",
            (device_id,),
        ).fetchall()
        self._db.execute("INSERT OR IGNORE INTO devices (device_id) VALUES (?)", (device_id,))
        (seq,) = self._db.execute(
            "SELECT next_seq FROM devices WHERE device_id = ?", (device_id,)
        ).fetchone()
        sealed, added_bytes = 0, 0
        groups = self._groups(rows)
        for index, group in enumerate(groups):
            full = index < len(groups) - 1 or sum(row[2] for row in group) >= self.max_readings
            if not (full or force or now_ms - group[0][1] >= max_delay_ms):
                break
            payload = encode_envelope(seq, now_ms, [row[3] for row in group])
            self._db.execute(
                "INSERT INTO messages (device_id, seq, n_readings, created_ms, payload) "
                "VALUES (?, ?, ?, ?, ?)",
                (device_id, seq, sum(row[2] for row in group), group[0][1], payload),
            )
            self._db.execute(
                "DELETE FROM pending WHERE device_id = ? AND id BETWEEN ? AND ?",
                (device_id, group[0][0], group[-1][0]),
            )
            seq, sealed, added_bytes = seq + 1, sealed + 1, added_bytes + len(payload)
        self._db.execute("UPDATE devices SET next_seq = ? WHERE device_id = ?", (seq, device_id))
        self._db.execute(
            "UPDATE meta SET value = value + ? WHERE key = 'stored_bytes'", (added_bytes,)
        )
        return sealed

    def _stored_bytes(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'stored_bytes'").fetchone()
        return int(row[0])

    def _evict(self) -> None:
        """Drop oldest messages until under the limit, counting them per device."""
        excess = self._stored_bytes() - self.max_bytes
        victims: list[tuple[int, str, int, int]] = []
        for row in self._db.execute(
            "SELECT id, device_id, n_readings, length(payload) FROM messages ORDER BY id"
        ):
            if excess <= 0:
                break
            victims.append(row)
            excess -= row[3]
        for msg_id, device_id, n_readings, size in victims:
            self._db.execute("DELETE FROM messages WHERE id = ?", (msg_id,))
            self._db.execute(
                "UPDATE devices SET dropped_messages = dropped_messages + 1, "
                "dropped_readings = dropped_readings + ? WHERE device_id = ?",
                (n_readings, device_id),
            )
            self._db.execute(
                "UPDATE meta SET value = value - ? WHERE key = 'stored_bytes'", (size,)
            )

    def next_messages(self, after_id: int, limit: int) -> list[SealedMessage]:
        """Up to `limit` sealed messages with id > after_id, oldest first."""
        rows = self._db.execute(
            "SELECT id, device_id, seq, payload FROM messages WHERE id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        ).fetchall()
        return [SealedMessage(*row) for row in rows]

    def ack(self, ids: Sequence[int]) -> None:
        """Delete acknowledged messages (unknown ids, e.g. evicted ones, are ignored)."""
        if ids:
            self._delete("id = ?", [(msg_id,) for msg_id in ids])

    def confirm(self, ranges: Mapping[str, Sequence[tuple[int, int]]]) -> list[int]:
        """Delete the messages ingest confirmed (device -> inclusive seq ranges); return their
        ids. Seqs no longer in the buffer (confirmed twice, evicted) are ignored."""
        params = [
            (device_id, first, last) for device_id, pairs in ranges.items() for first, last in pairs
        ]
        return self._delete("device_id = ? AND seq BETWEEN ? AND ?", params) if params else []

    def _delete(self, where: str, params: Sequence[tuple[Any, ...]]) -> list[int]:
        """Delete messages matching `where` for each parameter tuple, counting them per device."""
        deleted: list[int] = []
        try:
            self._db.execute("BEGIN IMMEDIATE")
            per_device: dict[str, int] = {}
            freed = 0
            for args in params:
                for msg_id, device_id, size in self._db.execute(
                    f"DELETE FROM messages WHERE {where} RETURNING id, device_id, length(payload)",
                    args,
                ).fetchall():
                    per_device[device_id] = per_device.get(device_id, 0) + 1
                    freed += size
                    deleted.append(msg_id)
            for device_id, count in per_device.items():
                self._db.execute(
                    "UPDATE devices SET acked_messages = acked_messages + ? WHERE device_id = ?",
                    (count, device_id),
                )
            self._db.execute(
                "UPDATE meta SET value = value - ? WHERE key = 'stored_bytes'", (freed,)
            )
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise GatewayBufferError(self.path, str(exc)) from exc
        return deleted

    def messages_by_id(self, ids: Sequence[int]) -> list[SealedMessage]:
        """The messages with these ids that are still in the buffer, oldest first."""
        found: list[SealedMessage] = []
        for start in range(0, len(ids), 500):
            part = list(ids[start : start + 500])
            marks = ",".join("?" * len(part))
            found += [
                SealedMessage(*row)
                for row in self._db.execute(
                    f"SELECT id, device_id, seq, payload FROM messages WHERE id IN ({marks})",
                    part,
                )
            ]
        return sorted(found, key=lambda m: m.id)

    def set_waiting_for_ingest(self, since_ms: int | None) -> None:
        """Record (for `gateway status`) since when the publisher holds back; None: it does not."""
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('waiting_since_ms', ?)",
                (since_ms or 0,),
            )
        except sqlite3.Error as exc:
            raise GatewayBufferError(self.path, str(exc)) from exc

    def depth(self) -> int:
        """Messages not yet confirmed (or, with `delivery: puback`, acknowledged)."""
        return int(self._db.execute("SELECT COUNT(*) FROM messages").fetchone()[0])

    def stats(self) -> BufferStats:
        """Depth, age and per-device counters."""
        db = self._db
        pending = int(db.execute("SELECT COALESCE(SUM(n_readings), 0) FROM pending").fetchone()[0])
        oldest_msg = db.execute("SELECT MIN(created_ms) FROM messages").fetchone()[0]
        oldest_pending = db.execute("SELECT MIN(created_ms) FROM pending").fetchone()[0]
        oldest = [v for v in (oldest_msg, oldest_pending) if v is not None]
        devices = tuple(
            BufferDeviceStats(row[0], row[1] - 1, row[2], row[3], row[4])
            for row in db.execute(
                "SELECT device_id, next_seq, acked_messages, dropped_messages, dropped_readings "
                "FROM devices ORDER BY device_id"
            )
        )
        waiting = db.execute("SELECT value FROM meta WHERE key = 'waiting_since_ms'").fetchone()
        return BufferStats(
            waiting_for_ingest_since_ms=int(waiting[0]) if waiting and waiting[0] else None,
            messages=self.depth(),
            pending_readings=pending,
            stored_bytes=self._stored_bytes(),
            oldest_created_ms=min(oldest) if oldest else None,
            devices=devices,
        )
