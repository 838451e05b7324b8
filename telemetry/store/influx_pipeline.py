"""Requests sent now and answered later: pipelined `/write` POSTs, and a query sent ahead.

httpx sends a request and waits for its response in one call. Here a body goes out on one of
a few keep-alive connections as soon as it is rendered, and its response is read only when
that connection is needed again or at the end: InfluxDB parses one body while the caller
renders the next. In the same way a small query can be sent, the caller works, and reads the
answer afterwards. No threads: a thread that sends or reads while the caller renders waits up
to the interpreter's switch interval (5 ms) for the GIL each time, which costs more than the
overlap gains (measured in bench/store_write.py).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import socket
from collections import deque
from collections.abc import Callable, Iterable
from urllib.parse import urlencode

from telemetry.store.base import StoreUnavailable
from telemetry.store.influx_url import InfluxUrl

BODIES_IN_FLIGHT = 4
"""Bodies sent and not yet answered; InfluxDB writes concurrent bodies with one WAL fsync."""

ReplyCheck = Callable[[int, bytes, str], None]
"""Raises for an error reply: (HTTP status, response body, "write" or "query")."""

_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)
_FORM = "application/x-www-form-urlencoded"


class _Sent:
    """A POST on its connection, waiting for the reply."""

    __slots__ = ("body", "conn", "path", "reused")

    def __init__(self, conn: http.client.HTTPConnection, path: str, body: bytes,
                 reused: bool) -> None:
        self.conn, self.path, self.body, self.reused = conn, path, body, reused


class InfluxWritePipeline:
    """POSTs to one InfluxDB over keep-alive connections, replies read when needed."""

    def __init__(self, target: InfluxUrl, timeout_s: float, check: ReplyCheck) -> None:
        self._host, self._port, self._timeout_s = target.host, target.port, timeout_s
        self._path = "/write?" + urlencode({"db": target.database, "precision": "ms"})
        self._headers: dict[str, str] = {}
        if target.username:
            token = f"{target.username}:{target.password or ''}".encode()
            self._headers["Authorization"] = "Basic " + base64.b64encode(token).decode()
        self._display = target.display
        self._check = check
        self._idle: list[http.client.HTTPConnection] = []

    def close(self) -> None:
        """Close the keep-alive connections."""
        while self._idle:
            self._idle.pop().close()

    def post_soon(self, path: str, form: bytes) -> Callable[[], bytes]:
        """POST a form now; the function returned reads the reply (raising for an error)."""
        sent = self._send(path, form)

        def reply() -> bytes:
            return self._finish(sent, "query")

        return reply

    def write(self, bodies: Iterable[bytes]) -> None:
        """POST every body to /write, then wait for every reply; raise the first error.

        After an error no further body is sent, and the replies of bodies already sent are
        awaited first, so nothing is still being written once this returns or raises.
        """
        pending: deque[_Sent] = deque()
        try:
            for body in bodies:
                if len(pending) >= BODIES_IN_FLIGHT:
                    self._finish(pending.popleft(), "write")
                pending.append(self._send(self._path, body))
            while pending:
                self._finish(pending.popleft(), "write")
        except BaseException:
            self._settle(pending)
            raise

    def _settle(self, pending: deque[_Sent]) -> None:
        """Await the replies still due after an error, ignoring their outcome."""
        while pending:
            sent = pending.popleft()
            with contextlib.suppress(Exception):  # the first error is the one reported
                self._finish(sent, "write")

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        if self._idle:
            return self._idle.pop(), True
        conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout_s)
        return conn, False

    def _send(self, path: str, body: bytes) -> _Sent:
        conn, reused = self._connection()
        try:
            conn.request("POST", path, body, self._headers_for(path))
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            if reused and isinstance(exc, _STALE):  # closed by the server while idle
                return self._send(path, body)
            raise self._unavailable(exc) from exc
        return _Sent(conn, path, body, reused)

    def _headers_for(self, path: str) -> dict[str, str]:
        kind = "text/plain; charset=utf-8" if path == self._path else _FORM
        return {**self._headers, "Content-Type": kind}

    def _finish(self, sent: _Sent, operation: str) -> bytes:
        """Read one reply; a keep-alive connection the server had closed is retried fresh
        (sending a write or a query again is harmless)."""
        try:
            response = sent.conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as exc:
            sent.conn.close()
            if sent.reused and isinstance(exc, _STALE):
                return self._finish(self._send(sent.path, sent.body), operation)
            raise self._unavailable(exc) from exc
        if response.will_close:
            sent.conn.close()
        else:
            self._idle.append(sent.conn)
        self._check(response.status, payload, operation)
        return payload

    def _unavailable(self, exc: BaseException) -> StoreUnavailable:
        reason = "timed out" if isinstance(exc, socket.timeout) else repr(exc)
        return StoreUnavailable(f"InfluxDB {self._display} request failed: {reason}")
