"""A deliberately tiny HTTP/1.1 request reader and response writer (one request per connection)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import orjson

REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    503: "Service Unavailable",
}


class HttpProblem(Exception):
    """A request we refuse: `status` and a JSON-able `body`."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        self.status = status
        self.body = {"error": error, "detail": detail}
        super().__init__(f"{status} {error}: {detail}")


@dataclass(frozen=True, slots=True)
class Request:
    """Method, path and body of a request."""

    method: str
    path: str
    body: bytes


def _content_length(value: str) -> int:
    """A Content-Length value: ASCII digits only (no sign, no spaces inside), else 400."""
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise HttpProblem(400, "bad_request", "bad Content-Length")
    return int(text)


async def read_request(reader: asyncio.StreamReader, max_body_bytes: int) -> Request:
    """Parse one request; raises HttpProblem for anything we do not accept."""
    request_line = (await reader.readline()).decode("latin-1").split()
    if len(request_line) != 3:
        raise HttpProblem(400, "bad_request", "malformed request line")
    method, target, _version = request_line
    length: int | None = None
    while True:
        line = (await reader.readline()).decode("latin-1").strip()
        if not line:
            break
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = _content_length(value)
    if method == "POST" and length is None:
        raise HttpProblem(411, "length_required", "send a Content-Length header")
    if length is not None and length > max_body_bytes:
        raise HttpProblem(413, "payload_too_large", f"body over {max_body_bytes} bytes")
    body = await reader.readexactly(length) if length else b""
    return Request(method, target.split("?")[0], body)


async def write_response(writer: asyncio.StreamWriter, status: int, body: object) -> None:
    """Write a JSON response and close the connection."""
    payload = orjson.dumps(body)
    head = (
        f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        "Connection: close\r\n\r\n"
    )
    writer.write(head.encode("latin-1") + payload)
    await writer.drain()
    writer.close()
