"""Settings of the fake driver (for tests)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field


class FakeSettings(BaseModel):
    """Replays the given raw readings, `per_batch` at a time, `interval_s` apart."""

    model_config = ConfigDict(extra="forbid")

    readings: list[dict[str, Any]] = Field(default_factory=list)
    per_batch: Annotated[int, Field(ge=1)] = 1
    interval_s: Annotated[float, Field(ge=0)] = 0.0
    fail_check: bool = False
