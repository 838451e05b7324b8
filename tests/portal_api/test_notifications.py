"""Wish notifications: outbox on wish changes, signed webhook delivery to a real HTTP receiver,
retries with exponential backoff, delivery state in the API."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from portal_api.notify import (
    SIGNATURE_HEADER,
    DeliveryWorker,
    RetryPolicy,
    deliver_due,
    poster_from,
    verify_signature,
)
from registry.apply import apply_trial
from registry.notifications import fan_out_events
from telemetry.settings import ApiSettings
from telemetry.trial_spec import parse_trial_spec
from tests.portal_api.conftest import Portal, trial_definition
from tests.services import free_port

LOOPBACK_ALLOWED = ApiSettings(notify_interval_s=0, metrics_check_interval_s=0,
                              webhook_allowed_networks=["127.0.0.0/8"])


@pytest.fixture
def api_settings() -> ApiSettings:
    """These tests' receivers listen on loopback: the operator allowlist lets them in."""
    return LOOPBACK_ALLOWED


@dataclass
class Receiver:
    """A local webhook receiver; answers `status` and keeps what it received."""

    port: int
    status: int = 200
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    box = Receiver(port=free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            box.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(box.status)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", box.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield box
    server.shutdown()
    server.server_close()


def subscribe(portal: Portal, receiver: Receiver, **body: object) -> dict[str, object]:
    response = portal.client.post("/api/v1/subscriptions", headers=portal.auth("acme"),
                                  json={"webhook_url": receiver.url, **body})
    assert response.status_code == 201, response.text
    return dict(response.json())


def deliver(portal: Portal, now_ms: int, policy: RetryPolicy | None = None) -> int:
    policy = policy or RetryPolicy(max_attempts=3, base_s=2, max_s=60)
    with portal.registry.session() as session:
        return deliver_due(session, poster_from(LOOPBACK_ALLOWED), policy, now_ms)


def notifications(portal: Portal) -> list[dict[str, object]]:
    return list(portal.client.get("/api/v1/notifications", headers=portal.auth("acme")).json()["items"])


def test_new_wish_in_category_is_delivered_signed(portal: Portal, receiver: Receiver) -> None:
    subscription = subscribe(portal, receiver, categories=["lift"])
    assert subscription["provider_id"] == "acme"
    body = {"id": "w-lift", "title": "Lift monitoring", "department": "EMSD", "category": "lift"}
    portal.client.post("/api/v1/wishes", headers=portal.auth("admin"), json=body)
    portal.client.post("/api/v1/wishes", headers=portal.auth("admin"),
                       json={**body, "id": "w-other", "category": "water"})
    assert notifications(portal) == []  # the request only wrote the outbox; no fan-out in it
    assert deliver(portal, now_ms=10**13) == 1
    headers, raw = receiver.received[0]
    assert verify_signature(str(subscription["secret"]), raw, headers[SIGNATURE_HEADER.lower()])
    assert not verify_signature("wrong-secret", raw, headers[SIGNATURE_HEADER.lower()])
    payload = json.loads(raw)
    assert payload["event"] == "created" and payload["wish"]["id"] == "w-lift"
    assert headers["x-innotrial-event"] == "wish.created"
    delivered = notifications(portal)[0]
    assert delivered["status"] == "delivered" and delivered["attempts"] == 1


def test_keyword_match_on_trial_apply_and_wish_update(portal: Portal, receiver: Receiver) -> None:
    subscribe(portal, receiver, keywords=["RAIN GAUGE"])
    with portal.registry.session() as session:
        apply_trial(session, parse_trial_spec(trial_definition("t-k", "acme", gateway="gw-k", prefix="k")))
    portal.client.patch("/api/v1/wishes/w-k", headers=portal.auth("admin"), json={"status": "matched"})
    portal.client.patch("/api/v1/wishes/w-k", headers=portal.auth("admin"), json={"status": "matched"})
    with portal.registry.session() as session:
        assert fan_out_events(session, now_ms=10**13) == 2
    assert [(n["wish_id"], n["event"]) for n in notifications(portal)] == [
        ("w-k", "updated"), ("w-k", "created")]


def test_failed_delivery_backs_off_then_gives_up(portal: Portal, receiver: Receiver) -> None:
    receiver.status = 500
    subscribe(portal, receiver, categories=["lift"])
    portal.client.post("/api/v1/wishes", headers=portal.auth("admin"),
                       json={"id": "w-l", "title": "Lift", "department": "EMSD", "category": "lift"})
    t0 = 10**13
    assert deliver(portal, t0) == 1
    first = notifications(portal)[0]
    assert (first["status"], first["attempts"], first["last_error"]) == ("pending", 1, "HTTP 500")
    assert first["next_attempt_ms"] == t0 + 2_000
    assert deliver(portal, t0 + 1_999) == 0  # not due yet
    assert deliver(portal, t0 + 2_000) == 1
    assert notifications(portal)[0]["next_attempt_ms"] == t0 + 2_000 + 4_000  # doubled
    assert deliver(portal, t0 + 6_000) == 1
    final = notifications(portal)[0]
    assert (final["status"], final["attempts"]) == ("failed", 3)
    assert len(receiver.received) == 3
    assert deliver(portal, t0 + 10**9) == 0


def test_unreachable_receiver_is_retried_and_then_succeeds(portal: Portal, receiver: Receiver) -> None:
    subscribe(portal, receiver, categories=["iot"])
    port = receiver.port
    receiver.port = free_port()  # nothing listens there
    sub = portal.client.get("/api/v1/subscriptions", headers=portal.auth("acme")).json()["items"][0]
    portal.client.delete(f"/api/v1/subscriptions/{sub['id']}", headers=portal.auth("acme"))
    subscribe(portal, receiver, categories=["iot"])
    portal.client.post("/api/v1/wishes", headers=portal.auth("admin"),
                       json={"id": "w-i", "title": "IoT", "department": "D", "category": "iot"})
    deliver(portal, 10**13)
    assert notifications(portal)[0]["last_error"] == "connection failed"  # no address or port
    receiver.port = port
    with portal.registry.session() as session:
        from registry.notifications import WishSubscription

        for row in session.query(WishSubscription):
            row.webhook_url = receiver.url
    deliver(portal, 10**13 + 2_000)
    assert notifications(portal)[0]["status"] == "delivered"


def test_subscription_validation(portal: Portal) -> None:
    response = portal.client.post("/api/v1/subscriptions", headers=portal.auth("acme"),
                                  json={"webhook_url": "http://127.0.0.1:9/x"})
    assert response.status_code == 422
    assert response.json()["detail"] == "give at least one category or keyword"
    assert portal.client.post("/api/v1/subscriptions", headers=portal.auth("viewer"),
                              json={"webhook_url": "http://x", "keywords": ["a"]}).status_code == 403


def test_subscription_ids_out_of_range_are_refused_not_a_server_error(portal: Portal) -> None:
    """Found by schemathesis: an id beyond 64 bits made SQLite raise OverflowError (500)."""
    for bad in ("70593136610966249472", str(2**31), "0", "-1"):
        response = portal.client.delete(f"/api/v1/subscriptions/{bad}", headers=portal.auth("acme"))
        assert response.status_code == 422, bad
    missing = portal.client.delete(f"/api/v1/subscriptions/{2**31 - 1}", headers=portal.auth("acme"))
    assert missing.status_code == 404


def test_delivery_worker_thread_delivers(portal: Portal, receiver: Receiver) -> None:
    subscribe(portal, receiver, categories=["lift"])
    portal.client.post("/api/v1/wishes", headers=portal.auth("admin"),
                       json={"id": "w-t", "title": "Lift", "department": "EMSD", "category": "lift"})
    worker = DeliveryWorker(portal.registry, LOOPBACK_ALLOWED.model_copy(
        update={"notify_interval_s": 0.05}))
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while ([n["status"] for n in notifications(portal)] != ["delivered"]
               and time.monotonic() < deadline):
            time.sleep(0.05)
    finally:
        worker.stop()
    assert notifications(portal)[0]["status"] == "delivered"
    assert len(receiver.received) == 1
