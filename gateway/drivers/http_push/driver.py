"""http_push: devices POST JSON readings; the reply comes only after the buffer commit.

Body: one reading object, a list of them, or {"readings": [...]}. Each reading is
{"ts_ms": ..., <profile fields>}. The whole body is accepted or refused: 400 bad JSON,
422 with the first invalid reading's reason, 200 {"accepted": n} once committed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson

from gateway.drivers.base import Batch, DriverContext
from gateway.drivers.http_push.config import HttpPushSettings
from gateway.drivers.http_push.http import HttpProblem, Request, read_request, write_response
from gateway.errors import DriverError
from telemetry.validation import Rejection
from telemetry.wire import Reading


class HttpPushDriver:
    """Serves one endpoint for one device."""

    def __init__(self, ctx: DriverContext, settings: HttpPushSettings) -> None:
        self.ctx = ctx
        self.settings = settings
        self._queue: asyncio.Queue[tuple[list[Reading], asyncio.Future[None]]] = asyncio.Queue()

    def _parse(self, request: Request) -> list[Reading]:
        if request.path != self.settings.path:
            raise HttpProblem(404, "not_found", f"POST readings to {self.settings.path}")
        if request.method != "POST":
            raise HttpProblem(405, "method_not_allowed", "use POST")
        try:
            data: Any = orjson.loads(request.body)
        except orjson.JSONDecodeError as exc:
            raise HttpProblem(400, "bad_json", str(exc)) from exc
        if isinstance(data, dict) and "readings" in data:
            data = data["readings"]
        items = data if isinstance(data, list) else [data]
        if not items:
            raise HttpProblem(422, "bad_schema", "no readings in the body")
        readings = []
        for index, raw in enumerate(items):
            result = (
                self.ctx.validate(raw)
                if isinstance(raw, dict)
                else Rejection("bad_schema", "a reading must be a JSON object")
            )
            if isinstance(result, Rejection):
                raise HttpProblem(422, result.reason, f"reading {index}: {result.detail}")
            readings.append(result)
        return readings

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(
                read_request(reader, self.settings.max_body_bytes), self.settings.request_timeout_s
            )
            readings = self._parse(request)
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            await self._queue.put((readings, done))
            await done
            await write_response(writer, 200, {"accepted": len(readings)})
        except HttpProblem as exc:
            await write_response(writer, exc.status, exc.body)
        except ConnectionAbortedError:
            with contextlib.suppress(ConnectionError):
                await write_response(writer, 503, {"error": "stopping", "detail": "retry later"})
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()  # every path ends the connection (idempotent after write_response)

    async def readings(self) -> AsyncIterator[Batch]:
        """Serve until cancelled; each accepted body is one batch."""
        try:
            server = await asyncio.start_server(
                self._handle, self.settings.host, self.settings.port
            )
        except OSError as exc:
            raise DriverError(
                self.ctx.device_id, f"cannot listen on port {self.settings.port}: {exc}"
            ) from exc
        self.ctx.log.info(
            "%s: listening on http://%s:%d%s",
            self.ctx.device_id,
            self.settings.host,
            self.settings.port,
            self.settings.path,
        )
        done: asyncio.Future[None] | None = None
        try:
            while True:
                readings, done = await self._queue.get()
                yield Batch(readings)
                if not done.done():
                    done.set_result(None)
        finally:
            server.close()
            if done is not None and not done.done():  # maybe committed: the device retries
                done.set_exception(ConnectionAbortedError("gateway stopping"))
            while not self._queue.empty():  # refuse what was never committed
                _readings, pending = self._queue.get_nowait()
                if not pending.done():
                    pending.set_exception(ConnectionAbortedError("gateway stopping"))

    async def check(self) -> str:
        """The port must be free to listen on."""
        try:
            server = await asyncio.start_server(
                self._handle, self.settings.host, self.settings.port
            )
        except OSError as exc:
            raise DriverError(
                self.ctx.device_id, f"cannot listen on port {self.settings.port}: {exc}"
            ) from exc
        server.close()
        await server.wait_closed()
        return f"can listen on http://{self.settings.host}:{self.settings.port}{self.settings.path}"
