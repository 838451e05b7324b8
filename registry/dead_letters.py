"""Write and list dead letters: rejected readings and messages kept with their reason."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from registry.models import DeadLetter

PAYLOAD_EXCERPT_BYTES = 1024
"""At most this many payload bytes are kept with a dead letter."""
DETAIL_MAX_CHARS = 1000


def payload_excerpt(payload: bytes, limit_bytes: int = PAYLOAD_EXCERPT_BYTES) -> str:
    """A bounded, printable excerpt of any bytes (invalid UTF-8 and NUL escaped as \\xNN)."""
    head = payload[:limit_bytes]
    text = head.decode("utf-8", errors="backslashreplace").replace("\x00", "\\x00")
    return text + ("..." if len(payload) > limit_bytes else "")


def _clip(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    return value.replace("\x00", "\\x00")[:limit]


@dataclass(frozen=True, slots=True)
class DeadLetterRecord:
    """One rejected reading (or whole message) before it is written to the registry."""

    received_ms: int
    reason: str
    detail: str
    source: str = "mqtt"
    topic: str | None = None
    gateway_id: str | None = None
    device_id: str | None = None
    seq: int | None = None
    ts_ms: int | None = None
    payload_excerpt: str = ""
    redelivered: bool = False
    """From a message the broker marked as a redelivery (MQTT DUP): it may be stored already."""


def add_dead_letters(
    session: Session, records: Iterable[DeadLetterRecord]
) -> list[DeadLetterRecord]:
    """Add dead letters to the session (committed with it); returns those added.

    A `redelivered` record is left out when the same dead letter (reason, source, topic,
    gateway, device, seq, ts_ms and payload excerpt; not the receive time or detail) is
    stored already: the worker committed it, then stopped before acknowledging the message.
    """
    added = [record for record in records
             if not (record.redelivered and _stored_already(session, record))]
    for record in added:
        identity = {column.key: value for column, value in _identity(record).items()}
        detail = _clip(record.detail, DETAIL_MAX_CHARS) or ""
        session.add(DeadLetter(received_ms=record.received_ms, detail=detail, **identity))
    return added


def _identity(record: DeadLetterRecord) -> dict[InstrumentedAttribute[Any], Any]:
    """The columns that tell one dead letter from another (not its receive time or detail),
    as stored."""
    return {
        DeadLetter.reason: record.reason,
        DeadLetter.source: record.source,
        DeadLetter.topic: _clip(record.topic, 1024),
        DeadLetter.gateway_id: _clip(record.gateway_id, 300),
        DeadLetter.device_id: _clip(record.device_id, 300),
        DeadLetter.seq: record.seq,
        DeadLetter.ts_ms: record.ts_ms,
        DeadLetter.payload_excerpt: _clip(record.payload_excerpt, PAYLOAD_EXCERPT_BYTES * 4 + 3)
        or "",
    }


def _stored_already(session: Session, record: DeadLetterRecord) -> bool:
    query = select(DeadLetter.id).where(
        *(column.is_(None) if value is None else column == value
          for column, value in _identity(record).items())
    ).limit(1)
    return session.scalar(query) is not None


def list_dead_letters(
    session: Session,
    *,
    gateway_id: str | None = None,
    device_id: str | None = None,
    reason: str | None = None,
    limit: int | None = 1000,
) -> list[DeadLetter]:
    """Dead letters, newest first, optionally filtered by gateway, device and reason."""
    query = select(DeadLetter).order_by(DeadLetter.received_ms.desc(), DeadLetter.id.desc())
    if gateway_id is not None:
        query = query.where(DeadLetter.gateway_id == gateway_id)
    if device_id is not None:
        query = query.where(DeadLetter.device_id == device_id)
    if reason is not None:
        query = query.where(DeadLetter.reason == reason)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def dead_letter_dict(row: DeadLetter) -> dict[str, object]:
    """A dead letter as a plain JSON-able mapping."""
    return {
        "id": row.id,
        "received_ms": row.received_ms,
        "reason": row.reason,
        "detail": row.detail,
        "source": row.source,
        "topic": row.topic,
        "gateway_id": row.gateway_id,
        "device_id": row.device_id,
        "seq": row.seq,
        "ts_ms": row.ts_ms,
        "payload_excerpt": row.payload_excerpt,
    }
