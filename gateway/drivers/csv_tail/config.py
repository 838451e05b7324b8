"""Settings of the csv_tail driver."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class CsvTailSettings(BaseModel):
    """Follow a logger's CSV file (header row first) across rotation and restarts."""

    model_config = ConfigDict(extra="forbid")

    path: Path
    ts_column: str = "ts_ms"
    ts_format: Literal["epoch_ms", "epoch_s", "rfc3339"] = "epoch_ms"
    columns: dict[str, str] = Field(default_factory=dict)
    """CSV column -> profile field; columns not named here map to the field of the same name."""
    delimiter: Annotated[str, Field(min_length=1, max_length=1)] = ","
    poll_interval_s: Annotated[float, Field(gt=0)] = 0.5
    max_lines_per_batch: Annotated[int, Field(ge=1)] = 1000
