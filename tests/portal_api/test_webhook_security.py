"""Webhook targets: internal addresses refused at creation and after DNS at delivery, the
connection pinned to the checked address, a total time limit, a capped answer, and errors that
say nothing about the network."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from portal_api.webhook_post import WebhookPoster
from portal_api.webhook_targets import TargetRefused, check_target, literal_address
from telemetry.settings import ApiSettings, parse_networks
from tests.portal_api.conftest import Portal

INTERNAL_URLS = [
    "http://127.0.0.1:8086/query?q=DROP%20DATABASE%20x",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.1.2.3/hook",
    "http://192.168.0.10/hook",
    "http://172.16.5.4/hook",
    "http://100.64.0.1/hook",
    "http://[::1]/hook",
    "http://[fe80::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://0.0.0.0/hook",
    "http://[::]/hook",
    "http://224.0.0.1/hook",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://0x7f.1/",
    "http://127.1/",
    "http://localhost:8000/hook",
    "http://LOCALHOST./hook",
    "http://api.localhost/hook",
]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_internal_targets_are_refused_at_creation(portal: Portal) -> None:
    for url in INTERNAL_URLS:
        response = portal.client.post(
            "/api/v1/subscriptions",
            headers=portal.auth("acme"),
            json={"webhook_url": url, "categories": ["iot"]},
        )
        assert response.status_code == 422, url
        detail = response.json()["detail"]
        assert detail.startswith("webhook_url: the webhook host is"), (url, detail)
    for url in ("https://hooks.example.com/innotrial", "http://93.184.216.34/hook"):
        response = portal.client.post(
            "/api/v1/subscriptions",
            headers=portal.auth("acme"),
            json={"webhook_url": url, "categories": ["iot"]},
        )
        assert response.status_code == 201, (url, response.text)


@pytest.fixture
def api_settings() -> ApiSettings:
    return ApiSettings(notify_interval_s=0, metrics_check_interval_s=0, webhook_max_subscriptions=2)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_provider_has_at_most_the_configured_number_of_subscriptions(portal: Portal) -> None:
    body = {"webhook_url": "https://hooks.example.com/x", "keywords": ["rain"]}
    codes = [
        portal.client.post("/api/v1/subscriptions", headers=portal.auth(user), json=body)
        for user in ("acme", "acme", "acme", "beta")
    ]
    assert [r.status_code for r in codes] == [201, 201, 422, 201]
    assert "api.webhook_max_subscriptions" in codes[2].json()["detail"]


def test_literal_forms_and_the_allowlist() -> None:
    assert str(literal_address("2130706433")) == "127.0.0.1"
    assert str(literal_address("0177.0.0.1")) == "127.0.0.1"
    assert str(literal_address("0x7f.0.0.1")) == "127.0.0.1"
    assert literal_address("hooks.example.com") is None
    with pytest.raises(TargetRefused, match="malformed"):
        check_target("http://1.2.3.4.5/", ())
    on_premises = parse_networks(["10.20.0.0/16"])
    assert check_target("http://10.20.1.2:9000/hook", on_premises).port == 9000
    with pytest.raises(TargetRefused):
        check_target("http://10.21.1.2/hook", on_premises)
    with pytest.raises(TargetRefused, match="http:// or https://"):
        check_target("ftp://93.184.216.34/x", ())
    with pytest.raises(ValueError, match="not an IP network"):
        ApiSettings(webhook_allowed_networks=["10.0.0.0/33"])


Serve = Callable[[socket.socket], None]


@pytest.fixture
def raw_server() -> Iterator[Callable[[Serve], int]]:
    """A loopback TCP server running `serve(conn)` for each connection; yields a starter."""
    listeners: list[socket.socket] = []

    def start(serve: Serve) -> int:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)

        def loop() -> None:
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                threading.Thread(target=serve, args=(conn,), daemon=True).start()

        threading.Thread(target=loop, daemon=True).start()
        return int(listener.getsockname()[1])

    yield start
    for listener in listeners:
        listener.close()


LOOPBACK = parse_networks(["127.0.0.0/8"])


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_a_name_resolving_to_an_internal_address_is_refused_at_delivery(
    raw_server: Callable[[Serve], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bytes] = []

    def answer(conn: socket.socket) -> None:
        seen.append(_read_request(conn))
        conn.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
        conn.close()

    port = raw_server(answer)
    lookups: list[str] = []

    def fake_dns(host: str, *args: Any, **kwargs: Any) -> list[Any]:
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_dns)
    url = f"http://hooks.example.com:{port}/hook"
    refused = WebhookPoster().post(url, b"{}", {"Content-Type": "application/json"})
    assert refused == "refused: the webhook host resolves to an address that is not allowed"
    assert seen == []
    # allowlisted on-premises receiver: connects to the checked address, keeps the name
    assert WebhookPoster(allowed_networks=LOOPBACK).post(url, b"{}", {}) is None
    # one name lookup per delivery; the connection then goes to the checked address itself
    assert lookups == ["hooks.example.com", "hooks.example.com", "127.0.0.1"]
    assert f"host: hooks.example.com:{port}".encode() in seen[0].lower()


def test_a_trickling_receiver_is_cut_off_by_the_total_time_limit(
    raw_server: Callable[[Serve], int],
) -> None:
    closed = threading.Event()

    def trickle(conn: socket.socket) -> None:
        _read_request(conn)
        try:
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
                conn.sendall(bytes([byte]))
                if closed.wait(1.0):  # a byte a second, until the portal hangs up
                    break
            conn.sendall(b"a")
        except OSError:
            pass
        closed.set()
        conn.close()

    port = raw_server(trickle)
    poster = WebhookPoster(allowed_networks=LOOPBACK, total_timeout_s=2.5)
    assert poster.post(f"http://127.0.0.1:{port}/hook", b"{}", {}) == "timed out"


def test_an_endless_answer_body_is_capped_and_ignored(raw_server: Callable[[Serve], int]) -> None:
    sent = [0]

    def endless(conn: socket.socket) -> None:
        _read_request(conn)
        try:
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            chunk = b"10000\r\n" + b"\0" * 65536 + b"\r\n"
            while sent[0] < 1 << 30:
                conn.sendall(chunk)
                sent[0] += 65536
        except OSError:
            pass
        conn.close()

    port = raw_server(endless)
    poster = WebhookPoster(allowed_networks=LOOPBACK, max_response_bytes=65_536)
    assert poster.post(f"http://127.0.0.1:{port}/hook", b"{}", {}) is None
    assert sent[0] < 1 << 30  # the portal hung up long before the receiver ran out


def test_delivery_errors_name_no_address_or_port(raw_server: Callable[[Serve], int]) -> None:
    def hang_up(conn: socket.socket) -> None:
        _read_request(conn)
        conn.close()

    port = raw_server(hang_up)
    closed_port = socket.create_server(("127.0.0.1", 0))
    unused = closed_port.getsockname()[1]
    closed_port.close()
    poster = WebhookPoster(allowed_networks=LOOPBACK, total_timeout_s=5)
    errors = [poster.post(f"http://127.0.0.1:{p}/hook", b"{}", {}) for p in (port, unused)]
    assert errors == ["no valid HTTP answer", "connection failed"]


def test_a_name_that_never_resolves_ends_within_the_time_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    released = threading.Event()

    def stuck_dns(*_args: Any, **_kwargs: Any) -> list[Any]:
        released.wait(60)  # a DNS server that never answers
        raise socket.gaierror("no answer")

    monkeypatch.setattr(socket, "getaddrinfo", stuck_dns)
    try:
        error = WebhookPoster(total_timeout_s=1.0).post("https://slow.example/hook", b"{}", {})
    finally:
        released.set()
    assert error == "refused: the webhook host name did not resolve in time"
