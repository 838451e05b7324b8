"""The reading rules of DESIGN.md written as plainly as possible, one value at a time: the
oracle the compiled `telemetry.validation` is checked against (it is never used by the code).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from device_profiles import DeviceProfile, FieldSpec, FieldType
from telemetry.validation import MAX_FUTURE_SKEW_MS, Rejection
from telemetry.wire import INT64_MAX, INT64_MIN, MAX_TS_MS, MIN_TS_MS, FieldValue, Reading


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _has_float(value: int) -> bool:
    try:
        float(value)
    except OverflowError:
        return False
    return True


def _right_type(kind: FieldType, value: Any) -> bool:
    if kind is FieldType.BOOL:
        return isinstance(value, bool)
    if kind is FieldType.INT:
        return _is_int(value) and INT64_MIN <= value <= INT64_MAX
    if kind is FieldType.FLOAT:
        if isinstance(value, float):
            return math.isfinite(value)
        return _is_int(value) and _has_float(value)
    return isinstance(value, str)


def _value_problem(spec: FieldSpec, value: Any) -> str | None:
    """None for an accepted value, else the reason code."""
    if not _right_type(spec.type, value):
        return "type_mismatch"
    if spec.type is FieldType.ENUM:
        return None if value in (spec.values or ()) else "out_of_range"
    if spec.type is FieldType.STRING:
        return None if len(value) <= 256 else "out_of_range"
    if spec.type is FieldType.BOOL:
        return None
    too_low = spec.min is not None and value < spec.min
    too_high = spec.max is not None and value > spec.max
    return "out_of_range" if too_low or too_high else None


def reference_validate(profile: DeviceProfile, device_id: str, raw: Any,
                       now_ms: int) -> Reading | str:
    """A Reading, or the reason code the reading is rejected with."""
    if not isinstance(raw, Mapping):
        return "bad_schema"
    ts_ms = raw.get("ts_ms")
    if not (_is_int(ts_ms) and MIN_TS_MS <= ts_ms <= MAX_TS_MS):
        return "bad_schema"
    if ts_ms > now_ms + MAX_FUTURE_SKEW_MS:
        return "timestamp_in_future"
    values: dict[str, FieldValue] = {}
    for name, value in raw.items():
        if name == "ts_ms":
            continue
        spec = profile.fields.get(name)
        if spec is None:
            return "unknown_field"
        if value is None and spec.optional:
            continue
        problem = _value_problem(spec, value)
        if problem is not None:
            return problem
        values[name] = float(value) if spec.type is FieldType.FLOAT else value
    if any(name not in values for name in profile.required_fields):
        return "bad_schema"
    return Reading(device_id, ts_ms, values)


def outcome(result: Reading | Rejection) -> Reading | str:
    """A validator's result in the reference's terms: the Reading, or the reason code."""
    return result.reason if isinstance(result, Rejection) else result
