"""The simulator driver and the pure `simulate()` function behind it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from device_profiles import get_profile
from gateway.drivers.base import Batch, DriverContext, now_ms
from gateway.drivers.simulator.config import SimulatorSettings
from gateway.drivers.simulator.observe import OBSERVERS
from telemetry.wire import Reading

MAX_CHUNK_MS = 600_000
"""At most this much simulated time per batch, so catching up never builds huge batches."""
TICK_S = 0.1


def _settings(settings: SimulatorSettings | Mapping[str, Any]) -> SimulatorSettings:
    if isinstance(settings, SimulatorSettings):
        return settings
    return SimulatorSettings.model_validate(settings)


def simulate(
    profile: str,
    settings: SimulatorSettings | Mapping[str, Any],
    start_ms: int,
    end_ms: int,
    device_id: str = "sim",
) -> list[Reading]:
    """Readings a simulated device produces with true times in [start_ms, end_ms), in ts order.

    Deterministic: the same settings give the same readings, and consecutive windows
    concatenate to the readings of their union. Clock offset/drift shift the reported ts.
    """
    s = _settings(settings)
    get_profile(profile)  # raises UnknownProfile for a typo
    anchor_ms = s.start_ms(0)
    readings = []
    for raw in OBSERVERS[profile](s, device_id, start_ms, end_ms):
        ts_ms = int(raw.pop("ts_ms"))
        if s.clock_offset_ms or s.clock_drift_ppm:
            ts_ms += s.clock_offset_ms + round(s.clock_drift_ppm * 1e-6 * (ts_ms - anchor_ms))
        readings.append(Reading(device_id=device_id, ts_ms=ts_ms, values=raw))
    readings.sort(key=lambda r: r.ts_ms)
    for index in range(1, len(readings)):  # the store key (device_id, ts_ms) must be unique
        if readings[index].ts_ms <= readings[index - 1].ts_ms:
            bumped = readings[index - 1].ts_ms + 1
            readings[index] = Reading(device_id, bumped, readings[index].values)
    return readings


class SimulatorDriver:
    """Plays `simulate()` against the clock: `speed` simulated seconds per real second,
    never ahead of the real clock; resumes where it stopped after a restart."""

    def __init__(self, ctx: DriverContext, settings: SimulatorSettings) -> None:
        self.ctx = ctx
        self.settings = settings
        self.start_ms = settings.start_ms(now_ms())

    def _resume_ms(self) -> int:
        saved = self.ctx.state
        if saved.get("start_ms") == self.start_ms or self.settings.start is None:
            return int(saved.get("next_ms", self.start_ms))
        return self.start_ms

    async def readings(self) -> AsyncIterator[Batch]:
        """Yield the readings of each slice of simulated time as real time passes."""
        sim_ms = self._resume_ms()
        real_anchor_s, sim_anchor_ms = time.monotonic(), sim_ms
        while True:
            target_ms = sim_anchor_ms + int(
                (time.monotonic() - real_anchor_s) * self.settings.speed * 1000
            )
            target_ms = min(target_ms, now_ms())
            if target_ms <= sim_ms:
                await asyncio.sleep(TICK_S)
                continue
            end_ms = min(target_ms, sim_ms + MAX_CHUNK_MS)
            raw = simulate(self.ctx.profile.name, self.settings, sim_ms, end_ms, self.ctx.device_id)
            valid = [
                r for r in (self.ctx.reading({"ts_ms": x.ts_ms, **x.values}) for x in raw) if r
            ]
            yield Batch(valid, {"start_ms": self.start_ms, "next_ms": end_ms})
            sim_ms = end_ms
            if end_ms == target_ms:
                await asyncio.sleep(TICK_S)

    async def check(self) -> str:
        """Nothing to connect to; report the simulated start."""
        return (
            f"simulated {self.ctx.profile.name} from {self.start_ms} at speed {self.settings.speed}"
        )
