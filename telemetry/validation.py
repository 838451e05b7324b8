"""Check raw readings against a device profile, one reading at a time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from device_profiles import DeviceProfile, FieldSpec, FieldType
from telemetry.wire import (
    FieldValue,
    Reading,
    is_finite_number,
    is_int64,
    is_wire_ts_ms,
    ts_ms_problem,
)

MAX_FUTURE_SKEW_MS = 5 * 60 * 1000
"""A reading stamped further than this ahead of the receiver's clock is rejected."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why one raw reading was refused: a DESIGN.md reason code and a human-readable detail."""

    reason: str
    detail: str
    ts_ms: int | None = None


def _described(kind: FieldType) -> str:
    if kind is FieldType.INT:
        return "int (a signed 64-bit integer)"
    if kind is FieldType.FLOAT:
        return "float (a finite number)"
    return kind.value


def _check_value(name: str, spec: FieldSpec, value: Any) -> Rejection | None:
    kind = spec.type
    if kind is FieldType.BOOL:
        ok = isinstance(value, bool)
    elif kind is FieldType.INT:
        ok = is_int64(value)
    elif kind is FieldType.FLOAT:
        ok = is_finite_number(value)
    else:
        ok = isinstance(value, str)
    if not ok:
        return Rejection(
            "type_mismatch",
            f"field {name!r} must be {_described(kind)}, got {type(value).__name__} "
            f"{value!r}"[:300],
        )
    if kind is FieldType.ENUM and value not in (spec.values or ()):
        return Rejection(
            "out_of_range",
            f"field {name!r}: {value!r} is not one of {list(spec.values or ())}"[:300],
        )
    if kind in (FieldType.FLOAT, FieldType.INT):
        if spec.min is not None and value < spec.min:
            return Rejection(
                "out_of_range", f"field {name!r}: {value!r} is below the minimum {spec.min}"
            )
        if spec.max is not None and value > spec.max:
            return Rejection(
                "out_of_range", f"field {name!r}: {value!r} is above the maximum {spec.max}"
            )
    if kind is FieldType.STRING and len(value) > 256:
        return Rejection("out_of_range", f"field {name!r}: string longer than 256 characters")
    return None


def validate_reading(
    profile: DeviceProfile, device_id: str, raw: Any, now_ms: int
) -> Reading | Rejection:
    """Turn one raw reading mapping into a typed Reading, or say why it is rejected."""
    if not isinstance(raw, Mapping):
        return Rejection("bad_schema", f"a reading must be a JSON object, got {type(raw).__name__}")
    ts_ms = raw.get("ts_ms")
    if not is_wire_ts_ms(ts_ms):
        return Rejection("bad_schema", ts_ms_problem("ts_ms", ts_ms) or "")
    if ts_ms > now_ms + MAX_FUTURE_SKEW_MS:
        return Rejection(
            "timestamp_in_future",
            f"ts_ms {ts_ms} is {(ts_ms - now_ms) / 1000:.1f} s ahead of the receiver's clock",
            ts_ms,
        )
    values: dict[str, FieldValue] = {}
    for name, value in raw.items():
        if name == "ts_ms":
            continue
        spec = profile.fields.get(name)
        if spec is None:
            return Rejection(
                "unknown_field",
                f"field {str(name)[:80]!r} is not in profile {profile.name!r} "
                f"(fields: {', '.join(profile.field_names)})",
                ts_ms,
            )
        if value is None and spec.optional:
            continue
        problem = _check_value(name, spec, value)
        if problem is not None:
            return Rejection(problem.reason, problem.detail, ts_ms)
        values[name] = float(value) if spec.type is FieldType.FLOAT else value
    missing = [name for name in profile.required_fields if name not in values]
    if missing:
        return Rejection("bad_schema", f"required field(s) {missing} missing", ts_ms)
    return Reading(device_id=device_id, ts_ms=ts_ms, values=values)
