"""Server-sent events for an open trial page: new points, gateway status, fresh metrics.

Each connection polls cheaply every POLL_S: the newest stored ts_ms of every device (one
indexed MAX per device) and the trial's gateway rows. Only when a device has something newer
does it read the new rows; only when a gateway changed does it send a status event.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from portal_api.routes.common import parse_int64
from portal_api.web.context import WebContext
from portal_api.web.series import ChartSpec, new_points
from portal_api.web.status import METRICS_TTL_S, gateway_statuses
from telemetry.trial_spec import TrialSpec

POLL_S = 0.5
HEARTBEAT_S = 15.0
RETRY_MS = 1_000
# A stream ends after this long and the browser reconnects at once, resuming from the
# Last-Event-ID it was sent: uvicorn waits for open responses when it shuts down, so an open
# page must never hold a server's shutdown for longer than this.
STREAM_MAX_S = 20.0


def parse_after(raw: str | None) -> dict[str, int]:
    """Parse `dev:ts,dev:ts` (the newest point the page holds per device); ignores junk."""
    out: dict[str, int] = {}
    for item in (raw or "").split(","):
        device_id, _, value = item.partition(":")
        number = parse_int64(value)
        if device_id and number is not None:
            out[device_id] = number
    return out


def format_after(after: dict[str, int]) -> str:
    """`dev:ts,dev:ts` for the devices that have readings (the inverse of parse_after)."""
    return ",".join(f"{device_id}:{ts}" for device_id, ts in after.items() if ts >= 0)


def sse(event: str, data: Any, event_id: str | None = None) -> bytes:
    """One server-sent event frame with a JSON payload (and an id the browser echoes back)."""
    head = b"" if event_id is None else b"id: " + event_id.encode() + b"\n"
    return head + b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


class TrialFeed:
    """The polling state of one open trial page."""

    def __init__(
        self, ctx: WebContext, spec: TrialSpec, charts: list[ChartSpec], after: dict[str, int]
    ) -> None:
        self.ctx = ctx
        self.spec = spec
        self.charts = charts
        # never before the trial window: a reused device id must not show older readings
        floor_ms = spec.trial.start_ms - 1
        self.after = {d.id: max(after.get(d.id, -1), floor_ms) for d in spec.trial.devices}
        self.last_status: list[dict[str, Any]] | None = None

    def statuses(self) -> list[dict[str, Any]] | None:
        """Gateway and device status if it changed since the last call, else None."""
        with self.ctx.registry.session() as session:
            current = [g.as_json() for g in gateway_statuses(session, self.ctx.store, self.spec)]
        if current == self.last_status:
            return None
        self.last_status = current
        return current

    def points(self) -> dict[str, Any] | None:
        """New points per chart and trace since the last call, or None when nothing is new."""
        store = self.ctx.store
        newest = {device_id: store.last_reading_ms(device_id) for device_id in self.after}
        fresh = {d: ts for d, ts in newest.items() if ts is not None and ts > self.after[d]}
        if not fresh:
            return None
        end_ms = min(max(fresh.values()) + 1, self.spec.trial.end_ms)
        since = {d: self.after[d] for d in fresh}
        out = {chart.chart_id: new_points(store, chart, since, end_ms) for chart in self.charts}
        self.after.update(fresh)
        return {"charts": {k: v for k, v in out.items() if v}, "after": self.after}


async def trial_events(request: Request, feed: TrialFeed) -> AsyncIterator[bytes]:
    """The event stream of one page, until the browser goes away."""
    yield f"retry: {RETRY_MS}\n\n".encode()
    started_s = last_beat_s = last_metrics_s = time.monotonic()
    changed_since_metrics = False
    while time.monotonic() - started_s < STREAM_MAX_S and not await request.is_disconnected():
        status = await run_in_threadpool(feed.statuses)
        if status is not None:
            yield sse("status", status)
        points = await run_in_threadpool(feed.points)
        if points is not None:
            changed_since_metrics = True
            yield sse("points", points, format_after(feed.after))
        now_s = time.monotonic()
        if changed_since_metrics and now_s - last_metrics_s >= METRICS_TTL_S:
            changed_since_metrics, last_metrics_s = False, now_s
            yield sse("metrics", {"at_ms": int(time.time() * 1000)})
        if now_s - last_beat_s >= HEARTBEAT_S:
            last_beat_s = now_s
            yield b": keep-alive\n\n"
        await asyncio.sleep(POLL_S)
