"""The one broker URL parser: every component reads broker URLs through it."""

from __future__ import annotations

import pytest

from telemetry.broker_url import BadBrokerUrl, BrokerAddress, parse_broker_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mqtt://broker.example:1884", BrokerAddress("broker.example", 1884)),
        ("mqtt://127.0.0.1", BrokerAddress("127.0.0.1", 1883)),
        ("mqtts://broker.example", BrokerAddress("broker.example", 8883, tls=True)),
        ("mqtt://gw%2D1:p%40ss@h:1/", BrokerAddress("h", 1, username="gw-1", password="p@ss")),
    ],
)
def test_parses_host_port_tls_and_credentials(url: str, expected: BrokerAddress) -> None:
    assert parse_broker_url(url) == expected


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://h:1883", "must look like"),
        ("mqtt://:1883", "missing host"),
        ("mqtt://h:99999", "bad port"),
        ("mqtt://h:1883/topic", "path or query"),
        ("mqtt://h:1883?x=1", "path or query"),
    ],
)
def test_refuses_bad_urls_naming_the_problem(url: str, problem: str) -> None:
    with pytest.raises(BadBrokerUrl) as caught:
        parse_broker_url(url)
    assert problem in caught.value.problem and caught.value.url == url


def test_tls_can_be_refused_where_a_client_does_not_speak_it() -> None:
    with pytest.raises(BadBrokerUrl, match="mqtt://HOST:PORT"):
        parse_broker_url("mqtts://h", allow_tls=False)
