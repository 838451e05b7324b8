"""Run a gateway: drivers -> buffer (asyncio thread), buffer -> broker (publisher thread).

`run_gateway(config, stop_event)` is the Python API the CLI and the demo use; it returns once
`stop_event` is set and the gateway has stopped cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from device_profiles import get_profile
from gateway.buffer import Buffer, Commit
from gateway.config import GatewayConfig
from gateway.drivers import DRIVERS, Driver, DriverContext
from gateway.drivers.base import now_ms
from gateway.errors import DriverError, GatewayBufferError
from gateway.publisher import Publisher, PublisherStats
from gateway.status import warn_if_clock_implausible
from telemetry.version import __version__

log = logging.getLogger("gateway")

DRIVER_RETRY_S = 5.0
T = TypeVar("T")


@dataclass
class RunStats:
    """What a run did, for logs and tests."""

    committed_readings: dict[str, int] = field(default_factory=dict)
    sealed_messages: int = 0
    publisher: PublisherStats = field(default_factory=PublisherStats)


def build_drivers(config: GatewayConfig, buffer: Buffer) -> dict[str, tuple[Driver, DriverContext]]:
    """Instantiate every device's driver with its persisted state."""
    drivers: dict[str, tuple[Driver, DriverContext]] = {}
    for device in config.devices:
        ctx = DriverContext(
            device_id=device.id,
            gateway_id=config.gateway_id,
            profile=get_profile(device.profile),
            state=buffer.load_state(device.id),
            log=logging.getLogger(f"gateway.driver.{device.driver}"),
        )
        spec = DRIVERS[device.driver]
        drivers[device.id] = (spec.create(ctx, config.settings_for(device.id)), ctx)
    return drivers


class Committer:
    """Group commit: batches yielded by all drivers meanwhile go into one transaction.

    Every buffer operation runs on one worker thread (SQLite connections belong to a thread),
    so the event loop keeps serving devices while a commit waits for fsync.
    """

    def __init__(self, config: GatewayConfig, stats: RunStats) -> None:
        self.config = config
        self.stats = stats
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="buffer")
        self.buffer: Buffer | None = None
        self._queue: list[tuple[Commit, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run a buffer operation on the buffer thread."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)

    async def open(self) -> Buffer:
        """Open the buffer on its thread."""
        config = self.config
        self.buffer = await self.call(
            Buffer,
            config.buffer_path,
            config.buffer_max_bytes,
            config.buffer_sync,
            config.batch.max_readings,
        )
        return self.buffer

    async def commit(self, item: Commit) -> None:
        """Return once `item` is durably in the buffer."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((item, done))
        self._wake.set()
        await done

    async def flush(self) -> None:
        """Commit everything queued, in one transaction."""
        items, self._queue = self._queue, []
        if not items or self.buffer is None:
            return
        try:
            await self.call(self.buffer.add_many, [item for item, _ in items], now_ms())
        except GatewayBufferError as exc:
            for _, done in items:
                if not done.done():
                    done.set_exception(exc)
            return
        for item, done in items:
            count = self.stats.committed_readings.get(item.device_id, 0)
            self.stats.committed_readings[item.device_id] = count + len(item.readings)
            if not done.done():
                done.set_result(None)

    async def run(self) -> None:
        """Commit whenever something is queued, until cancelled."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.flush()


async def _drive(driver: Driver, ctx: DriverContext, committer: Committer) -> None:
    """Supervise one driver: commit each batch before resuming it; restart it on failure."""
    while True:
        try:
            async for batch in driver.readings():
                if batch.readings or batch.state is not None:
                    await committer.commit(Commit(ctx.device_id, batch.readings, batch.state))
            return
        except DriverError as exc:
            log.warning("%s; restarting the driver in %.0f s", exc, DRIVER_RETRY_S)
        except Exception:
            log.exception(
                "driver of %s crashed; restarting in %.0f s", ctx.device_id, DRIVER_RETRY_S
            )
        await asyncio.sleep(DRIVER_RETRY_S)


async def _seal_until(
    config: GatewayConfig,
    committer: Committer,
    stop_event: threading.Event,
    wake: threading.Event,
    stats: RunStats,
) -> None:
    assert committer.buffer is not None
    buffer = committer.buffer
    period_s = min(0.2, max(0.01, config.batch.max_delay_ms / 4000))
    next_log = time.monotonic() + 10.0
    while not stop_event.is_set():
        try:
            sealed = await committer.call(buffer.seal, config.batch.max_delay_ms, now_ms())
        except GatewayBufferError as exc:  # e.g. disk full: keep readings pending, retry
            log.error("%s; will retry", exc)
            sealed = 0
        if sealed:
            stats.sealed_messages += sealed
            wake.set()
        if time.monotonic() >= next_log:
            next_log = time.monotonic() + 10.0
            log.info(
                "committed %d readings, sealed %d messages, buffer depth %d",
                sum(stats.committed_readings.values()),
                stats.sealed_messages,
                await committer.call(buffer.depth),
            )
        await asyncio.sleep(period_s)


async def _main(
    config: GatewayConfig, stop_event: threading.Event, wake: threading.Event, stats: RunStats
) -> None:
    committer = Committer(config, stats)
    buffer = await committer.open()
    try:
        drivers = await committer.call(build_drivers, config, buffer)
        commit_task = asyncio.create_task(committer.run())
        tasks = [
            asyncio.create_task(_drive(driver, ctx, committer), name=device_id)
            for device_id, (driver, ctx) in drivers.items()
        ]
        await _seal_until(config, committer, stop_event, wake, stats)
        for task in [*tasks, commit_task]:
            task.cancel()
        for task in [*tasks, commit_task]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await committer.flush()
        stats.sealed_messages += await committer.call(
            buffer.seal, config.batch.max_delay_ms, now_ms(), True
        )
        wake.set()
    finally:
        await committer.call(buffer.close)
        committer.executor.shutdown()


def run_gateway(
    config: GatewayConfig, stop_event: threading.Event, stats: RunStats | None = None
) -> RunStats:
    """Run until `stop_event` is set, then stop drivers, drain briefly and go offline cleanly."""
    stats = stats or RunStats()
    warn_if_clock_implausible()
    Buffer(config.buffer_path, config.buffer_max_bytes, config.buffer_sync).close()  # fail early
    publisher_stop, wake = threading.Event(), threading.Event()
    publisher = Publisher(config, __version__, publisher_stop, wake, stats.publisher)
    thread = threading.Thread(target=publisher.run, name=f"publisher-{config.gateway_id}")
    thread.start()
    log.info("gateway %s running with %d devices", config.gateway_id, len(config.devices))
    try:
        asyncio.run(_main(config, stop_event, wake, stats))
    finally:
        publisher.drain_deadline = time.monotonic() + config.shutdown_drain_s
        publisher_stop.set()
        thread.join()
    log.info("gateway %s stopped", config.gateway_id)
    return stats


def drivers_for(config: GatewayConfig) -> Mapping[str, str]:
    """Device id -> driver name, for logs and `gateway check`."""
    return {device.id: device.driver for device in config.devices}
