"""The InfluxDB 1.x HTTP API: `/ping` and `/query` over a pooled httpx client, `/write` pipelined.

httpx errors and InfluxDB error replies are translated here, where they enter: transport
errors and 5xx become StoreUnavailable (retry later), rejected credentials BadStoreUrl, and a
request InfluxDB refuses for good (a bad query, a forbidden write) InfluxRejected, and a field
type conflict InfluxFieldTypeConflict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson

from telemetry.store.base import (
    BadStoreUrl,
    FieldTypeRejected,
    StoreError,
    StoreRejected,
    StoreUnavailable,
)
from telemetry.store.influx_pipeline import InfluxWritePipeline
from telemetry.store.influx_url import InfluxUrl

QueryRow = list[Any]


class InfluxRejected(StoreRejected):
    """InfluxDB refused a request for a reason that retrying will not fix."""

    def __init__(self, operation: str, status_code: int, detail: str) -> None:
        self.operation = operation
        self.status_code = status_code
        self.detail = detail
        super().__init__(f"InfluxDB refused {operation} (HTTP {status_code}): {detail}")


class InfluxFieldTypeConflict(InfluxRejected, FieldTypeRejected):
    """InfluxDB answered *field type conflict*: it dropped the points of another type (and,
    being a partial write, stored the request's other points)."""


class DatabaseMissing(StoreError):
    """The database does not exist (it was never created or was dropped)."""


@dataclass(frozen=True, slots=True)
class SeriesChunk:
    """Rows of one series from one statement of a query (a chunk of it when streamed)."""

    statement_id: int
    columns: list[str]
    values: list[QueryRow]


def _error_text(content: bytes) -> str:
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        return content.decode(errors="replace")[:300]
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])[:300]
    return content.decode(errors="replace")[:300]


class InfluxHttp:
    """A thin, thread-safe client of one InfluxDB database."""

    def __init__(self, target: InfluxUrl, timeout_s: float = 30.0) -> None:
        self.database = target.database
        self.display_url = target.display
        auth = (target.username, target.password or "") if target.username else None
        self._client = httpx.Client(
            base_url=target.base_url,
            auth=auth,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=8),
            trust_env=False,  # a store is a loopback or LAN service; ignore HTTP_PROXY
        )
        self._pipe = InfluxWritePipeline(target, timeout_s, self._check)

    def close(self) -> None:
        """Close pooled connections."""
        self._client.close()
        self._pipe.close()

    def _check(self, status: int, content: bytes, operation: str) -> None:
        if status < 300:
            return
        detail = _error_text(content)
        if status == 401:
            raise BadStoreUrl(self.display_url, f"InfluxDB rejected the credentials: {detail}")
        if status == 404 and "database not found" in detail:
            raise DatabaseMissing(detail)
        if status >= 500:
            raise StoreUnavailable(
                f"InfluxDB {self.display_url} failed {operation} (HTTP {status}): {detail}"
            )
        if status == 403 and operation == "write":  # permissions: an operator's fix, then retry
            raise StoreUnavailable(
                f"InfluxDB {self.display_url} forbids writing (HTTP 403): {detail}"
            )
        if status == 400 and "field type conflict" in detail:
            raise InfluxFieldTypeConflict(operation, status, detail)
        raise InfluxRejected(operation, status, detail)

    def ping(self) -> None:
        """Raise StoreUnavailable unless /ping answers."""
        try:
            response = self._client.get("/ping")
        except httpx.RequestError as exc:
            raise StoreUnavailable(f"InfluxDB {self.display_url} unreachable: {exc!r}") from exc
        self._check(response.status_code, response.content, "ping")

    def write(self, bodies: Iterable[bytes]) -> None:
        """POST line-protocol bodies (ms precision) to /write, pipelined (see InfluxWritePipeline).

        Raises DatabaseMissing when the database does not exist.
        """
        self._pipe.write(bodies)

    def query_soon(self, statements: Sequence[str]) -> Callable[[], Iterator[SeriesChunk]]:
        """Send small SELECTs now; the function returned reads their series (not streamed)."""
        form = urlencode({"q": ";".join(statements), "db": self.database, "epoch": "ms"})
        reply = self._pipe.post_soon("/query", form.encode())

        def series() -> Iterator[SeriesChunk]:
            try:
                return iter(list(self._parse_chunk(reply())))
            except orjson.JSONDecodeError as exc:
                raise StoreUnavailable(
                    f"InfluxDB {self.display_url} sent a bad reply: {exc}"
                ) from exc

        return series

    def execute(self, statement: str) -> list[dict[str, Any]]:
        """Run statements that return little (admin statements) and return their results."""
        try:
            response = self._client.post("/query", data={"q": statement})
        except httpx.RequestError as exc:
            raise StoreUnavailable(f"InfluxDB {self.display_url} unreachable: {exc!r}") from exc
        self._check(response.status_code, response.content, "query")
        results: list[dict[str, Any]] = orjson.loads(response.content).get("results", [])
        for result in results:
            if "error" in result:
                raise InfluxRejected("query", response.status_code, str(result["error"]))
        return results

    def query(self, statements: Sequence[str], chunk_size: int = 10_000) -> Iterator[SeriesChunk]:
        """Stream the series of SELECT statements (chunked), each tagged with its statement index.

        A missing database reads as no data.
        """
        data = {"q": ";".join(statements), "db": self.database, "epoch": "ms",
                "chunked": "true", "chunk_size": str(chunk_size)}
        try:
            with self._client.stream("POST", "/query", data=data) as response:
                if response.status_code >= 300:
                    self._check(response.status_code, response.read(), "query")
                for line in response.iter_lines():
                    if line:
                        yield from self._parse_chunk(line)
        except httpx.RequestError as exc:
            raise StoreUnavailable(f"InfluxDB {self.display_url} query failed: {exc!r}") from exc
        except orjson.JSONDecodeError as exc:
            raise StoreUnavailable(f"InfluxDB {self.display_url} sent a bad reply: {exc}") from exc

    @staticmethod
    def _parse_chunk(line: str | bytes) -> Iterator[SeriesChunk]:
        payload = orjson.loads(line)
        if "error" in payload:
            raise InfluxRejected("query", 200, str(payload["error"]))
        for result in payload.get("results", []):
            error = result.get("error")
            if error is not None:
                if str(error).startswith("database not found"):
                    continue
                raise InfluxRejected("query", 200, str(error))
            for series in result.get("series", []):
                statement_id = int(result.get("statement_id", 0))
                yield SeriesChunk(statement_id, series["columns"], series["values"])
