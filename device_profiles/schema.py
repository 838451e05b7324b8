"""Pydantic schema of a device profile: the fields a device family puts on the wire."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FIELD_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
# "time" is InfluxDB's timestamp column: a field of that name would be dropped silently.
RESERVED_FIELD_NAMES = frozenset({"ts_ms", "device_id", "received_ms", "seq", "time"})


class FieldType(StrEnum):
    """Wire type of a profile field."""

    FLOAT = "float"
    INT = "int"
    BOOL = "bool"
    STRING = "string"
    ENUM = "enum"


class Family(StrEnum):
    """Device family; each has one analytics module."""

    RAIN_GAUGE = "rain_gauge"
    FEVER_SCREENER = "fever_screener"
    LIFT = "lift"
    UV_ROBOT = "uv_robot"


class Role(StrEnum):
    """Role of a device in a trial."""

    UNDER_TEST = "under_test"
    REFERENCE = "reference"


KEY_FIELD_TYPES = frozenset({FieldType.STRING, FieldType.ENUM, FieldType.INT})
"""Types a key field may have: values with one exact text form (no floats, no booleans)."""


class FieldSpec(BaseModel):
    """One field of a reading: type, unit, allowed range or values."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: FieldType
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    values: tuple[str, ...] | None = None
    optional: bool = False
    description: str = ""

    @model_validator(mode="after")
    def _check_consistency(self) -> FieldSpec:
        if self.type is FieldType.ENUM and not self.values:
            raise ValueError("an enum field needs a non-empty 'values' list")
        if self.type is not FieldType.ENUM and self.values is not None:
            raise ValueError("'values' is only allowed on enum fields")
        numeric = self.type in (FieldType.FLOAT, FieldType.INT)
        if not numeric and (self.min is not None or self.max is not None):
            raise ValueError("'min'/'max' are only allowed on float and int fields")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"'min' ({self.min}) is greater than 'max' ({self.max})")
        return self


class DeviceProfile(BaseModel):
    """A device family's wire schema, loaded from one YAML file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=FIELD_NAME_PATTERN)]
    family: Family
    roles: tuple[Role, ...]
    kind: Literal["periodic", "event"]
    period_s: Annotated[float, Field(gt=0)] | None = None
    description: str = ""
    fields: dict[Annotated[str, Field(pattern=FIELD_NAME_PATTERN)], FieldSpec]
    key: tuple[str, ...] = ()
    """An event profile's fields that tell simultaneous events apart: the store key of a
    reading is (device_id, ts_ms, values of these fields)."""

    @model_validator(mode="after")
    def _check_key(self) -> DeviceProfile:
        if self.key and self.kind != "event":
            raise ValueError("only an event profile may declare a 'key'")
        if len(set(self.key)) != len(self.key):
            raise ValueError(f"'key' lists a field twice: {list(self.key)}")
        for name in self.key:
            spec = self.fields.get(name)
            if spec is None:
                raise ValueError(f"'key' field {name!r} is not one of the profile's fields")
            if spec.type not in KEY_FIELD_TYPES:
                raise ValueError(f"'key' field {name!r} must be a string, enum or int field, "
                                 f"not {spec.type.value}")
        return self

    @model_validator(mode="after")
    def _check_kind(self) -> DeviceProfile:
        if self.kind == "periodic" and self.period_s is None:
            raise ValueError("a periodic profile needs 'period_s'")
        if self.kind == "event" and self.period_s is not None:
            raise ValueError("an event profile must not set 'period_s'")
        if not self.fields:
            raise ValueError("a profile needs at least one field")
        reserved = RESERVED_FIELD_NAMES.intersection(self.fields)
        if reserved:
            raise ValueError(f"field names {sorted(reserved)} are reserved by the wire contract")
        if not self.roles:
            raise ValueError("a profile needs at least one role")
        return self

    @property
    def period_ms(self) -> int | None:
        """Sample period in milliseconds for periodic profiles, else None."""
        return None if self.period_s is None else round(self.period_s * 1000)

    @property
    def field_names(self) -> tuple[str, ...]:
        """Field names in profile (file) order."""
        return tuple(self.fields)

    @property
    def required_fields(self) -> tuple[str, ...]:
        """Names of the fields every reading must carry."""
        return tuple(name for name, spec in self.fields.items() if not spec.optional)
