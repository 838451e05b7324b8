"""The one parser of broker URLs: mqtt[s]://[USER:PASS@]HOST[:PORT]."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import unquote, urlsplit

from pydantic import AfterValidator

DEFAULT_PORT = 1883
DEFAULT_TLS_PORT = 8883


class BadBrokerUrl(ValueError):
    """A broker URL that cannot be used; `url` and `problem` say why."""

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        self.problem = problem
        super().__init__(f"broker_url {url!r}: {problem}")


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Host, port, TLS flag and optional credentials of a broker."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None


def parse_broker_url(url: str, *, allow_tls: bool = True) -> BrokerAddress:
    """Parse a broker URL; raises BadBrokerUrl naming the problem."""
    schemes = ("mqtt", "mqtts") if allow_tls else ("mqtt",)
    parts = urlsplit(url)
    if parts.scheme not in schemes:
        wanted = "mqtt://HOST:PORT or mqtts://HOST:PORT" if allow_tls else "mqtt://HOST:PORT"
        raise BadBrokerUrl(url, f"must look like {wanted}")
    try:
        port = parts.port
    except ValueError as exc:
        raise BadBrokerUrl(url, f"bad port ({exc})") from exc
    if not parts.hostname:
        raise BadBrokerUrl(url, "missing host")
    if parts.path not in ("", "/") or parts.query:
        raise BadBrokerUrl(url, "must not carry a path or query")
    tls = parts.scheme == "mqtts"
    return BrokerAddress(
        host=parts.hostname,
        port=port if port is not None else (DEFAULT_TLS_PORT if tls else DEFAULT_PORT),
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def _valid_url(url: str, *, allow_tls: bool) -> str:
    try:
        parse_broker_url(url, allow_tls=allow_tls)
    except BadBrokerUrl as exc:  # pydantic reports a ValueError with the field's location
        raise ValueError(exc.problem) from exc
    return url


BrokerUrl = Annotated[str, AfterValidator(lambda url: _valid_url(url, allow_tls=True))]
"""A broker URL field of a pydantic model (mqtt:// or mqtts://), checked by parse_broker_url."""
PlainBrokerUrl = Annotated[str, AfterValidator(lambda url: _valid_url(url, allow_tls=False))]
"""A broker URL field that must be plain mqtt:// (no TLS)."""
