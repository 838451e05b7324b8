"""Deliver wish notifications from the outbox to subscribers' webhooks.

Each delivery is a JSON POST whose body is signed with HMAC-SHA256 under the subscription's
secret: header `X-Innotrial-Signature: sha256=<hex>` (plus `X-Innotrial-Event` and
`X-Innotrial-Delivery`, the notification id, which receivers can use to drop repeats). A 2xx
answer marks it delivered; anything else is retried with exponential backoff
(base * 2^(attempts-1), capped) until `notify_max_attempts`, then it is `failed`.
Delivery is at-least-once: a crash after the POST and before the commit sends it again.
Each pass first fans the outbox's wish events out into notifications (never in the request that
changed the wish). Targets, time limit and answer size follow portal_api.webhook_post.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal_api.webhook_post import WebhookPoster
from registry.db import Registry
from registry.notifications import (
    DELIVERED,
    FAILED,
    PENDING,
    Notification,
    WishSubscription,
    fan_out_events,
)
from telemetry.settings import ApiSettings

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Innotrial-Signature"
BATCH_SIZE = 100


def sign(secret: str, body: bytes) -> str:
    """The signature header value for a body: `sha256=` + hex HMAC-SHA256."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """True when `header` is the signature of `body` under `secret` (constant-time)."""
    return header is not None and hmac.compare_digest(sign(secret, body), header)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to give up and how long to wait between attempts."""

    max_attempts: int
    base_s: float
    max_s: float

    def delay_ms(self, attempts: int) -> int:
        """Wait after the `attempts`-th failed attempt."""
        return int(min(self.max_s, self.base_s * 2 ** max(0, attempts - 1)) * 1000)


def _post(
    poster: WebhookPoster, subscription: WishSubscription, notification: Notification
) -> str | None:
    """POST one notification; None on success, else the error text."""
    body = json.dumps(
        {"id": notification.id, **notification.payload}, separators=(",", ":")
    ).encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(subscription.secret, body),
        "X-Innotrial-Event": f"wish.{notification.event}",
        "X-Innotrial-Delivery": str(notification.id),
    }
    return poster.post(subscription.webhook_url, body, headers)


def deliver_due(session: Session, poster: WebhookPoster, policy: RetryPolicy, now_ms: int) -> int:
    """Fan out new wish events, then attempt every pending notification that is due; returns
    how many were attempted."""
    fan_out_events(session, now_ms, BATCH_SIZE)
    due = session.execute(
        select(Notification, WishSubscription)
        .join(WishSubscription, WishSubscription.id == Notification.subscription_id)
        .where(Notification.status == PENDING, Notification.next_attempt_ms <= now_ms)
        .order_by(Notification.next_attempt_ms, Notification.id)
        .limit(BATCH_SIZE)
        # SKIP LOCKED (PostgreSQL): API processes running side by side never POST the same one
        .with_for_update(skip_locked=True, of=Notification)
    ).all()
    for notification, subscription in due:
        error = _post(poster, subscription, notification)
        notification.attempts += 1
        if error is None:
            notification.status = DELIVERED
            notification.delivered_ms = int(time.time() * 1000)
            notification.last_error = None
        else:
            notification.last_error = error[:500]
            if notification.attempts >= policy.max_attempts:
                notification.status = FAILED
            else:
                notification.next_attempt_ms = now_ms + policy.delay_ms(notification.attempts)
        session.flush()
    return len(due)


def poster_from(settings: ApiSettings) -> WebhookPoster:
    """The webhook poster the settings describe (allowlist, total time limit, answer cap)."""
    return WebhookPoster(
        allowed_networks=settings.webhook_networks,
        total_timeout_s=settings.notify_timeout_s,
        max_response_bytes=settings.webhook_max_response_bytes,
    )


class DeliveryWorker:
    """A background thread that delivers due notifications every `notify_interval_s`."""

    def __init__(self, registry: Registry, settings: ApiSettings) -> None:
        self.registry = registry
        self.interval_s = settings.notify_interval_s
        self.timeout_s = settings.notify_timeout_s
        self.poster = poster_from(settings)
        self.policy = RetryPolicy(
            settings.notify_max_attempts,
            settings.notify_backoff_base_s,
            settings.notify_backoff_max_s,
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the delivery thread."""
        self._thread = threading.Thread(target=self._run, name="wish-notifications", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout_s + 5)

    def run_once(self) -> int:
        """One delivery pass (committed); returns the number of attempts."""
        with self.registry.session() as session:
            return deliver_due(session, self.poster, self.policy, int(time.time() * 1000))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # supervisor loop: log and keep delivering
                log.exception("wish notification delivery pass failed")
            self._stop.wait(self.interval_s)
