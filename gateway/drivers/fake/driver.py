"""A fake driver: replays readings from its settings, then idles."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from gateway.drivers.base import Batch, DriverContext
from gateway.drivers.fake.config import FakeSettings
from gateway.errors import DriverError


class FakeDriver:
    """Yields the configured readings (validated against the profile) and remembers progress."""

    def __init__(self, ctx: DriverContext, settings: FakeSettings) -> None:
        self.ctx = ctx
        self.settings = settings

    async def readings(self) -> AsyncIterator[Batch]:
        """Replay readings not yet committed in an earlier run, then idle until cancelled."""
        done = int(self.ctx.state.get("done", 0))
        items = self.settings.readings
        while done < len(items):
            chunk = items[done : done + self.settings.per_batch]
            done += len(chunk)
            valid = [r for r in map(self.ctx.reading, chunk) if r is not None]
            yield Batch(valid, {"done": done})
            await asyncio.sleep(self.settings.interval_s)
        while True:
            await asyncio.sleep(3600)

    async def check(self) -> str:
        """Fails when told to (to test `gateway check`)."""
        if self.settings.fail_check:
            raise DriverError(self.ctx.device_id, "fake device does not answer")
        return f"{len(self.settings.readings)} readings to replay"
