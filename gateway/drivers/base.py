"""The driver contract: one async method that yields batches of validated readings.

The runner commits each yielded batch (and the driver's optional state) to the buffer in one
transaction before it resumes the generator, so code after a `yield` may rely on the readings
being durable (http_push answers its client there; csv_tail's offset travels in `state`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from device_profiles import DeviceProfile
from telemetry.validation import Rejection, reading_validator
from telemetry.wire import Reading


@dataclass(frozen=True, slots=True)
class Batch:
    """Readings taken together; `state` (JSON-able) is persisted with them atomically."""

    readings: Sequence[Reading]
    state: Mapping[str, Any] | None = None


def now_ms() -> int:
    """The system clock in Unix epoch milliseconds."""
    return time.time_ns() // 1_000_000


@dataclass
class DriverContext:
    """What a driver knows about its device and gateway."""

    device_id: str
    gateway_id: str
    profile: DeviceProfile
    state: Mapping[str, Any] = field(default_factory=dict)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("gateway.driver"))
    rejected: int = 0

    def validate(self, raw: Mapping[str, Any]) -> Reading | Rejection:
        """Validate one raw reading against the profile; rejections are logged and counted."""
        result = reading_validator(self.profile).validate(self.device_id, raw, now_ms())
        if isinstance(result, Rejection):
            self.rejected += 1
            self.log.warning(
                "%s: reading rejected: %s: %s", self.device_id, result.reason, result.detail
            )
        return result

    def reading(self, raw: Mapping[str, Any]) -> Reading | None:
        """Validate one raw reading, returning None when the profile rejects it."""
        result = self.validate(raw)
        return result if isinstance(result, Reading) else None


class Driver(Protocol):
    """A device driver."""

    def readings(self) -> AsyncIterator[Batch]:
        """Yield batches of readings until cancelled."""
        ...

    async def check(self) -> str:
        """Try the device connection once; return a short description or raise DriverError."""
        ...
