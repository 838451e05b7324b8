"""Settings of the modbus_tcp driver."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

DataType = Literal["int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64"]
REGISTER_COUNT: dict[str, int] = {
    "int16": 1,
    "uint16": 1,
    "int32": 2,
    "uint32": 2,
    "float32": 2,
    "int64": 4,
    "uint64": 4,
    "float64": 4,
}


class RegisterField(BaseModel):
    """Where one profile field lives (register table, address): value = raw * scale + offset."""

    model_config = ConfigDict(extra="forbid")

    table: Literal["holding", "input"] = "holding"
    address: Annotated[int, Field(ge=0, le=65_535)]
    data_type: DataType = "uint16"
    word_order: Literal["big", "little"] = "big"
    scale: float = 1.0
    offset: float = 0.0

    @property
    def count(self) -> int:
        """Registers this field occupies."""
        return REGISTER_COUNT[self.data_type]


class ModbusSettings(BaseModel):
    """Poll a Modbus TCP device every `poll_interval_s` seconds."""

    model_config = ConfigDict(extra="forbid")

    host: str
    port: Annotated[int, Field(ge=1, le=65_535)] = 502
    unit_id: Annotated[int, Field(ge=0, le=255)] = 1
    poll_interval_s: Annotated[float, Field(gt=0)] = 60.0
    timeout_s: Annotated[float, Field(gt=0)] = 3.0
    backoff_max_s: Annotated[float, Field(gt=0)] = 60.0
    fields: Annotated[dict[str, RegisterField], Field(min_length=1)]
