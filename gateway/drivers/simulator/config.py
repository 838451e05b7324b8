"""Settings of the simulator driver (DESIGN.md fixes seed, speed, start, dropout_rate)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

Rate = Annotated[float, Field(ge=0)]


class SimulatorSettings(BaseModel):
    """World (shared truth) + device error model; every error model is off unless set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = 0
    speed: Annotated[float, Field(gt=0, le=1_000_000)] = 1.0
    start: int | datetime | None = None
    dropout_rate: Annotated[float, Field(ge=0, lt=1)] = 0.0
    # the world: devices with the same world and world_seed observe the same truth
    world: Annotated[str, Field(min_length=1, max_length=64)] = "site"
    world_seed: int = 0
    rain_events_per_day: Rate = 3.0
    drizzle_share: Annotated[float, Field(ge=0, le=1)] = 0.15
    screenings_per_hour: Rate = 30.0
    fever_prevalence: Annotated[float, Field(ge=0, le=1)] = 0.08
    faults_per_day: Rate = 4.0
    outages_per_day: Rate = 1.0
    heartbeat_s: Annotated[float, Field(gt=0)] = 300.0
    missions_per_day: Rate = 6.0
    targets: tuple[str, ...] = ()
    target_id: str | None = None
    # the device-under-test error model
    gain: float = 1.0
    bias: float = 0.0
    noise_sd: Rate = 0.0
    clock_offset_ms: int = 0
    clock_drift_ppm: float = 0.0
    recall: Annotated[float, Field(ge=0, le=1)] = 1.0
    false_alarms_per_day: Rate = 0.0
    delay_s: Rate = 0.0
    alarm_threshold_c: float = 37.5

    @field_validator("start")
    @classmethod
    def _epoch_or_aware(cls, value: int | datetime | None) -> int | datetime | None:
        if isinstance(value, datetime) and value.tzinfo is None:
            raise ValueError(
                "a start time needs a UTC offset (RFC 3339), e.g. 2026-11-01T00:00:00Z"
            )
        return value

    def start_ms(self, default_ms: int) -> int:
        """Simulated start in epoch ms (the default when `start` is not set)."""
        if self.start is None:
            return default_ms
        if isinstance(self.start, datetime):
            return int(self.start.timestamp() * 1000)
        return self.start
