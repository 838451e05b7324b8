"""The one reading validation, compiled once per profile: what the gateway's drivers, ingest
and the CSV import all validate raw readings with (`compiled_profile`).

Fast acceptance of raw readings, with telemetry.validation as the authority on rejections:
a compiled check per profile accepts the common, well-formed reading with a few type and
range tests. Anything it does not accept outright goes through
`telemetry.validation.validate_reading`, so the rejection reasons and details are exactly
the shared ones and the fast path can only ever accept what the slow path accepts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from device_profiles import DeviceProfile, FieldType
from telemetry.blocks import TS_KEY, ReadingBlock, values_getter
from telemetry.validation import MAX_FUTURE_SKEW_MS, Rejection, validate_reading
from telemetry.wire import INT64_MAX, INT64_MIN, MIN_TS_MS, FieldValue, Reading

_SAFE_INT_FLOAT = 2**53
_Check = Callable[[Any], FieldValue | None]


def _float_check(lo: float, hi: float) -> _Check:
    def check(value: Any) -> FieldValue | None:
        kind = type(value)
        if kind is float:
            if lo <= value <= hi and value - value == 0.0:
                return value  # type: ignore[no-any-return]
            return None
        if kind is int and -_SAFE_INT_FLOAT <= value <= _SAFE_INT_FLOAT:
            number = float(value)
            return number if lo <= number <= hi else None
        return None

    return check


def _int_check(lo: float, hi: float) -> _Check:
    def check(value: Any) -> FieldValue | None:
        if type(value) is int and lo <= value <= hi:
            return value
        return None

    return check


def _bool_check(value: Any) -> FieldValue | None:
    return value if type(value) is bool else None


def _string_check(value: Any) -> FieldValue | None:
    return value if type(value) is str and len(value) <= 256 else None


def _enum_check(allowed: frozenset[str]) -> _Check:
    def check(value: Any) -> FieldValue | None:
        return value if type(value) is str and value in allowed else None

    return check


def _field_check(spec_type: FieldType, lo: float | None, hi: float | None,
                 values: tuple[str, ...] | None) -> _Check:
    low = -math.inf if lo is None else lo
    high = math.inf if hi is None else hi
    if spec_type is FieldType.INT:  # and within a signed 64-bit integer
        low, high = max(low, INT64_MIN), min(high, INT64_MAX)
    if spec_type is FieldType.FLOAT:
        return _float_check(low, high)
    if spec_type is FieldType.INT:
        return _int_check(low, high)
    if spec_type is FieldType.BOOL:
        return _bool_check
    if spec_type is FieldType.ENUM:
        return _enum_check(frozenset(values or ()))
    return _string_check


class CompiledProfile:
    """A profile's checks prepared once; `validate` turns a raw reading into a Reading."""

    __slots__ = ("_checks", "_required", "profile")

    def __init__(self, profile: DeviceProfile) -> None:
        self.profile = profile
        self._checks: dict[str, _Check] = {
            name: _field_check(spec.type, spec.min, spec.max, spec.values)
            for name, spec in profile.fields.items()
        }
        self._required = frozenset(profile.required_fields)

    def _fast(self, device_id: str, raw: Any, now_ms: int) -> Reading | None:
        if type(raw) is not dict:
            return None
        ts_ms = raw.get("ts_ms")
        if type(ts_ms) is not int or ts_ms < MIN_TS_MS or ts_ms > now_ms + MAX_FUTURE_SKEW_MS:
            return None
        checks = self._checks
        values: dict[str, FieldValue] = {}
        for name, value in raw.items():
            if name == "ts_ms":
                continue
            check = checks.get(name)
            if check is None:
                return None
            accepted = check(value)
            if accepted is None:
                return None
            values[name] = accepted
        if not self._required <= values.keys():
            return None
        return Reading(device_id, ts_ms, values)

    def validate(self, device_id: str, raw: Any, now_ms: int) -> Reading | Rejection:
        """A typed Reading, or the Rejection `validate_reading` gives."""
        reading = self._fast(device_id, raw, now_ms)
        if reading is not None:
            return reading
        return validate_reading(self.profile, device_id, raw, now_ms)


_COMPILED: dict[str, CompiledProfile] = {}


def compiled_profile(profile: DeviceProfile) -> CompiledProfile:
    """The profile's compiled checks: built on first use in this process, then reused."""
    found = _COMPILED.get(profile.name)
    if found is None or found.profile is not profile:
        found = _COMPILED[profile.name] = CompiledProfile(profile)
    return found


# -- whole-message fast path ----------------------------------------------------------------
# Most messages carry readings that all have the same keys and valid values. Checking them
# column by column with C-level builtins (set(map(type, col)), min, max) avoids per-reading
# Python work; any doubt sends the message to the per-reading path above.

_TYPES_FLOAT = frozenset({float})
_TYPES_INT = frozenset({int})
_TYPES_BOOL = frozenset({bool})
_TYPES_STR = frozenset({str})
_TYPES_DICT = frozenset({dict})


def _column_ok(col: tuple[Any, ...], spec_type: FieldType, lo: float | None, hi: float | None,
               allowed: frozenset[str]) -> bool:
    types = set(map(type, col))
    if spec_type is FieldType.FLOAT:
        if types != _TYPES_FLOAT or not all(map(math.isfinite, col)):
            return False
    elif spec_type is FieldType.INT:
        if types != _TYPES_INT:
            return False
        lo = INT64_MIN if lo is None else max(lo, INT64_MIN)
        hi = INT64_MAX if hi is None else min(hi, INT64_MAX)
    elif spec_type is FieldType.BOOL:
        return types == _TYPES_BOOL
    elif spec_type is FieldType.ENUM:
        return types == _TYPES_STR and set(col) <= allowed
    else:
        return types == _TYPES_STR and max(map(len, col)) <= 256
    return (lo is None or min(col) >= lo) and (hi is None or max(col) <= hi)


class MessageValidator:
    """Validates all readings of a message at once when they share one shape."""

    __slots__ = ("_allowed", "_compiled", "_plans")

    def __init__(self, compiled: CompiledProfile) -> None:
        self._compiled = compiled
        profile = compiled.profile
        self._allowed = {name: frozenset(spec.values or ())
                         for name, spec in profile.fields.items()}
        self._plans: dict[tuple[str, ...], bool] = {}

    def _shape_ok(self, keys: tuple[str, ...]) -> bool:
        known = self._plans.get(keys)
        if known is None:
            fields = self._compiled.profile.fields
            names = set(keys)
            known = ("ts_ms" in names and len(names) == len(keys)
                     and names - {"ts_ms"} <= fields.keys()
                     and set(self._compiled.profile.required_fields) <= names)
            self._plans[keys] = known
        return known

    def validate_all(self, device_id: str, raws: tuple[Any, ...], received_ms: int,
                     ) -> ReadingBlock | None:
        """Every reading as one ReadingBlock, or None when any one needs the per-reading path."""
        first = raws[0]
        if type(first) is not dict:
            return None
        keys = tuple(first)
        if (not self._shape_ok(keys) or set(map(type, raws)) != _TYPES_DICT
                or set(map(len, raws)) != {len(keys)}):
            return None
        try:  # as many keys as the first and each of its keys: the same key set
            rows = list(map(values_getter(keys), raws))
        except KeyError:
            return None
        columns = dict(zip(keys, zip(*rows, strict=True), strict=True))
        stamps = columns.pop(TS_KEY)
        if (set(map(type, stamps)) != _TYPES_INT or min(stamps) < MIN_TS_MS
                or max(stamps) > received_ms + MAX_FUTURE_SKEW_MS):
            return None
        fields = self._compiled.profile.fields
        for name, column in columns.items():
            spec = fields[name]
            if not _column_ok(column, spec.type, spec.min, spec.max, self._allowed[name]):
                return None
        return ReadingBlock(device_id, received_ms, keys, rows)
