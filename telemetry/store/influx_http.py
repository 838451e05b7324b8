"""The InfluxDB 1.x HTTP API (`/ping`, `/write`, `/query`) over one pooled httpx client.

httpx errors and InfluxDB error replies are translated here, where they enter: transport
errors and 5xx become StoreUnavailable (retry later), rejected credentials BadStoreUrl, and a
request InfluxDB refuses for good (a field type conflict, a bad query) InfluxRejected.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from telemetry.store.base import BadStoreUrl, StoreError, StoreUnavailable

QueryRow = list[Any]


class InfluxRejected(StoreError):
    """InfluxDB refused a request for a reason that retrying will not fix."""

    def __init__(self, operation: str, status_code: int, detail: str) -> None:
        self.operation = operation
        self.status_code = status_code
        self.detail = detail
        super().__init__(f"InfluxDB refused {operation} (HTTP {status_code}): {detail}")


class DatabaseMissing(StoreError):
    """The database does not exist (it was never created or was dropped)."""


@dataclass(frozen=True, slots=True)
class SeriesChunk:
    """Rows of one series from one statement of a query (a chunk of it when streamed)."""

    statement_id: int
    columns: list[str]
    values: list[QueryRow]


def _error_text(response: httpx.Response) -> str:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.text[:300]
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])[:300]
    return response.text[:300]


class InfluxHttp:
    """A thin, thread-safe client of one InfluxDB database."""

    def __init__(
        self,
        base_url: str,
        database: str,
        display_url: str,
        auth: tuple[str, str] | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.base_url = base_url
        self.database = database
        self.display_url = display_url
        self._client = httpx.Client(
            base_url=base_url,
            auth=auth,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=8),
            trust_env=False,  # a store is a loopback or LAN service; ignore HTTP_PROXY
        )

    def close(self) -> None:
        """Close pooled connections."""
        self._client.close()

    def _check(self, response: httpx.Response, operation: str) -> None:
        status = response.status_code
        if status < 300:
            return
        detail = _error_text(response)
        if status == 401:
            raise BadStoreUrl(self.display_url, f"InfluxDB rejected the credentials: {detail}")
        if status == 404 and "database not found" in detail:
            raise DatabaseMissing(detail)
        if status >= 500:
            raise StoreUnavailable(
                f"InfluxDB {self.display_url} failed {operation} (HTTP {status}): {detail}"
            )
        raise InfluxRejected(operation, status, detail)

    def ping(self) -> None:
        """Raise StoreUnavailable unless /ping answers."""
        try:
            response = self._client.get("/ping")
        except httpx.RequestError as exc:
            raise StoreUnavailable(f"InfluxDB {self.display_url} unreachable: {exc!r}") from exc
        self._check(response, "ping")

    def write(self, body: bytes) -> None:
        """POST line protocol (ms precision) to /write; raises DatabaseMissing on 404."""
        try:
            response = self._client.post(
                "/write", params={"db": self.database, "precision": "ms"}, content=body
            )
        except httpx.RequestError as exc:
            raise StoreUnavailable(f"InfluxDB {self.display_url} write failed: {exc!r}") from exc
        self._check(response, "write")

    def execute(self, statement: str) -> list[dict[str, Any]]:
        """Run statements that return little (admin statements) and return their results."""
        try:
            response = self._client.post("/query", data={"q": statement})
        except httpx.RequestError as exc:
            raise StoreUnavailable(f"InfluxDB {self.display_url} unreachable: {exc!r}") from exc
        self._check(response, "query")
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
                    response.read()
                    self._check(response, "query")
                for line in response.iter_lines():
                    if line:
                        yield from self._parse_chunk(line)
        except httpx.RequestError as exc:
            raise StoreUnavailable(f"InfluxDB {self.display_url} query failed: {exc!r}") from exc
        except orjson.JSONDecodeError as exc:
            raise StoreUnavailable(f"InfluxDB {self.display_url} sent a bad reply: {exc}") from exc

    @staticmethod
    def _parse_chunk(line: str) -> Iterator[SeriesChunk]:
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
