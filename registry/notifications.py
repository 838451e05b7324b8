"""Wish subscriptions of providers and the notification outbox (transactional outbox).

A new or changed wish puts one WishEvent in the outbox in the same transaction as the wish
change (the request does no more than that); the portal's delivery loop fans each event out
into one Notification per matching subscription, then POSTs them to webhooks.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from registry.models import Base, Wish

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"


class WishSubscription(Base):
    """A provider's interest in wishes by category and/or keyword, delivered to a webhook."""

    __tablename__ = "wish_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider_id: Mapped[str] = mapped_column(String(64), index=True)
    categories: Mapped[list[Any]] = mapped_column(JSON, default=list)
    keywords: Mapped[list[Any]] = mapped_column(JSON, default=list)
    webhook_url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(128))
    created_ms: Mapped[int] = mapped_column(BigInteger, default=0)


class Notification(Base):
    """One wish event to deliver to one subscription, with its delivery state."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_due", "status", "next_attempt_ms"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("wish_subscriptions.id", ondelete="CASCADE"), index=True
    )
    wish_id: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    delivered_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class WishEvent(Base):
    """A wish change waiting to be fanned out to the subscriptions it matches."""

    __tablename__ = "wish_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    wish_id: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_ms: Mapped[int] = mapped_column(BigInteger, default=0)


def subscription_matches(subscription: WishSubscription, wish: dict[str, Any]) -> bool:
    """True when the wish (as in a payload) is in a subscribed category or mentions a keyword."""
    if wish.get("category") in (subscription.categories or []):
        return True
    text = f"{wish.get('title', '')}\n{wish.get('description', '')}".lower()
    return any(str(word).lower() in text for word in subscription.keywords or [] if word)


def wish_payload(wish: Wish, event: str) -> dict[str, Any]:
    """The JSON body delivered to a webhook for a wish event."""
    return {
        "event": event,
        "wish": {
            "id": wish.id,
            "title": wish.title,
            "department": wish.department,
            "category": wish.category,
            "description": wish.description,
            "status": wish.status,
            "updated_ms": wish.updated_ms,
        },
    }


def enqueue_wish_event(session: Session, wish: Wish, event: str, now_ms: int | None = None) -> None:
    """Put a wish change (`created`, `updated`) in the outbox; fan_out_events turns it into
    notifications later, outside the request."""
    enqueue_event(session, wish, event, wish_payload(wish, event), now_ms)


def enqueue_event(
    session: Session, wish: Wish, event: str, payload: dict[str, Any], now_ms: int | None = None
) -> None:
    """Put one `payload` about `wish` in the outbox (payload["wish"] is what subscriptions are
    matched against when it is fanned out).

    Events: `created` and `updated` (the wish itself), `report_published` (a report of a trial
    run for the wish was published, see reports/publish.py).
    """
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    session.add(WishEvent(wish_id=wish.id, event=event, payload=payload, created_ms=now_ms))


def count_matching(session: Session, wish: Wish) -> int:
    """How many subscriptions a wish matches now (read only; bounded by the per-provider limit)."""
    wish_fields = wish_payload(wish, "")["wish"]
    return sum(1 for subscription in session.scalars(select(WishSubscription))
               if subscription_matches(subscription, wish_fields))


def fan_out_events(session: Session, now_ms: int, batch_size: int = 100) -> int:
    """Turn outbox events into one pending Notification per matching subscription (oldest
    events first, at most `batch_size`); returns the number of notifications made."""
    # SKIP LOCKED (PostgreSQL): two portal processes never fan out the same event
    events = list(session.scalars(select(WishEvent).order_by(WishEvent.id).limit(batch_size)
                                  .with_for_update(skip_locked=True)))
    if not events:
        return 0
    subscriptions = list(session.scalars(select(WishSubscription).order_by(WishSubscription.id)))
    count = 0
    for event in events:
        wish = event.payload.get("wish") or {}
        for subscription in subscriptions:
            # a subscription hears of changes made after it was created, as when fanned out
            # in the request
            if (subscription.created_ms > event.created_ms
                    or not subscription_matches(subscription, wish)):
                continue
            session.add(
                Notification(
                    subscription_id=subscription.id,
                    wish_id=event.wish_id,
                    event=event.event,
                    payload=event.payload,
                    status=PENDING,
                    attempts=0,
                    next_attempt_ms=now_ms,
                    created_ms=event.created_ms,
                )
            )
            count += 1
        session.delete(event)
    session.flush()
    return count
