"""One webhook POST: to the checked address, within a total time limit, answer body ignored.

The host name is resolved and checked (portal_api.webhook_targets) before connecting, and the
connection goes to that checked address: the network backend below ignores the host it is
asked for and connects to the pinned address, so the URL, the Host header and TLS (SNI and
certificate check) keep the name while a second DNS answer cannot redirect the request.
Every socket operation gets at most the time left of the delivery's total limit, so a receiver
that trickles its answer a byte at a time is cut off. At most `max_response_bytes` of the answer
body are read, then the connection is dropped. Errors are reported as a few fixed phrases that
say what went wrong without naming addresses, ports or system error text.
"""

from __future__ import annotations

import ssl
import time
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import httpcore

from portal_api.webhook_targets import TargetRefused, check_target, resolve_target
from telemetry.settings import IPNetwork

SocketOption = typing.Any


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every read and write ends by the delivery's deadline."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: float) -> None:
        self._inner = inner
        self._deadline = deadline

    def _left(self, timeout: float | None, error: type[Exception]) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise error("the delivery's total time limit is over")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(
            ssl_context, server_hostname, self._left(timeout, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(inner, self._deadline)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class _PinnedBackend(httpcore.SyncBackend):
    """Connects to one checked address whatever host name the request carries."""

    def __init__(self, address: str, deadline: float) -> None:
        self._address = address
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ConnectTimeout("the delivery's total time limit is over")
        stream = super().connect_tcp(
            self._address, port, min(timeout or left, left), local_address, socket_options
        )
        return _DeadlineStream(stream, self._deadline)


ERROR_PHRASES: tuple[tuple[type[Exception], str], ...] = (
    (httpcore.TimeoutException, "timed out"),
    (httpcore.ConnectError, "connection failed"),
    (httpcore.ProtocolError, "no valid HTTP answer"),
    (httpcore.NetworkError, "connection failed"),
)


def error_phrase(exc: Exception) -> str:
    """A fixed phrase for a delivery error: no addresses, ports or system error text."""
    for kind, phrase in ERROR_PHRASES:
        if isinstance(exc, kind):
            return phrase
    if isinstance(exc, ssl.SSLError):
        return "TLS failed"
    return "delivery failed"


@dataclass(frozen=True, slots=True)
class WebhookPoster:
    """POSTs webhook bodies under the portal's rules (see the module docstring)."""

    allowed_networks: Sequence[IPNetwork] = ()
    total_timeout_s: float = 5.0
    max_response_bytes: int = 65_536

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> str | None:
        """POST `body`; None on a 2xx answer, else a short error without network details."""
        deadline = time.monotonic() + self.total_timeout_s
        try:
            address = resolve_target(
                check_target(url, self.allowed_networks),
                self.allowed_networks,
                self.total_timeout_s,
            )
        except TargetRefused as exc:
            return f"refused: {exc}"
        pool = httpcore.ConnectionPool(
            ssl_context=ssl.create_default_context(),
            network_backend=_PinnedBackend(address, deadline),
            max_connections=1,
        )
        timeout = {key: self.total_timeout_s for key in ("connect", "read", "write", "pool")}
        try:
            with (
                pool,
                pool.stream(
                    "POST",
                    url,
                    headers=list(headers.items()),
                    content=body,
                    extensions={"timeout": timeout},
                ) as response,
            ):
                self._drain(response)
                status = response.status
        except (
            httpcore.TimeoutException,
            httpcore.NetworkError,
            httpcore.ProtocolError,
            httpcore.UnsupportedProtocol,
            ssl.SSLError,
            OSError,
        ) as exc:
            return error_phrase(exc)
        return None if 200 <= status < 300 else f"HTTP {status}"

    def _drain(self, response: httpcore.Response) -> None:
        """Read (and drop) at most max_response_bytes of the answer body."""
        read = 0
        for chunk in response.iter_stream():
            read += len(chunk)
            if read >= self.max_response_bytes:
                break
