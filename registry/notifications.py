"""Wish subscriptions of providers and the notification outbox (transactional outbox).

A new or changed wish puts one Notification per matching subscription in the outbox in the
same transaction as the wish change; the portal's delivery loop POSTs them to webhooks.
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


def subscription_matches(subscription: WishSubscription, wish: Wish) -> bool:
    """True when the wish is in a subscribed category or mentions a subscribed keyword."""
    if wish.category in (subscription.categories or []):
        return True
    text = f"{wish.title}\n{wish.description}".lower()
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


def enqueue_wish_event(session: Session, wish: Wish, event: str, now_ms: int | None = None) -> int:
    """Put a notification in the outbox for every subscription the wish matches; returns count."""
    return enqueue_event(session, wish, event, wish_payload(wish, event), now_ms)


def enqueue_event(
    session: Session, wish: Wish, event: str, payload: dict[str, Any], now_ms: int | None = None
) -> int:
    """Outbox one `payload` about `wish` to every subscription the wish matches; returns count.

    Events: `created` and `updated` (the wish itself), `report_published` (a report of a trial
    run for the wish was published, see reports/publish.py).
    """
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    count = 0
    for subscription in session.scalars(select(WishSubscription).order_by(WishSubscription.id)):
        if not subscription_matches(subscription, wish):
            continue
        session.add(
            Notification(
                subscription_id=subscription.id,
                wish_id=wish.id,
                event=event,
                payload=payload,
                status=PENDING,
                attempts=0,
                next_attempt_ms=now_ms,
                created_ms=now_ms,
            )
        )
        count += 1
    return count
