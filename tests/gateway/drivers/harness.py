"""Drive a driver without the gateway: commit batches in memory, like the runner does."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from device_profiles import get_profile
from gateway.drivers import DRIVERS
from gateway.drivers.base import DriverContext
from telemetry.wire import Reading


def make_driver(
    name: str,
    profile: str,
    settings: dict[str, Any],
    device_id: str = "dev-1",
    state: dict[str, Any] | None = None,
) -> tuple[Any, DriverContext]:
    spec = DRIVERS[name]
    ctx = DriverContext(device_id, "gw-test", get_profile(profile), state=dict(state or {}))
    return spec.create(ctx, spec.settings_model().model_validate(settings)), ctx


async def collect(
    driver: Any, ctx: DriverContext, until: Callable[[list[Reading]], bool], timeout_s: float = 20.0
) -> list[Reading]:
    """Collect readings until `until(readings)` holds, persisting state into ctx.state."""
    readings: list[Reading] = []

    async def consume() -> None:
        async for batch in driver.readings():
            readings.extend(batch.readings)
            if batch.state is not None:
                ctx.state = dict(batch.state)
            if until(readings):
                return

    task = asyncio.create_task(consume())
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout_s)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return readings


def as_wire(readings: list[Reading]) -> list[dict[str, Any]]:
    return [{"ts_ms": r.ts_ms, **r.values} for r in readings]
