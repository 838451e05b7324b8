"""The one reading validation: a device profile compiled once into checks that turn raw
readings into typed Readings, or say why not.

Everything that produces readings validates here: the gateway's drivers (the simulator
included), ingest and `readings import`, through `reading_validator(profile)`. Each profile
field becomes a `FieldRule`, the single statement of what that field accepts; the rule also
explains a refusal (a DESIGN.md reason code and a detail) and applies the same test to a whole
column of values. `ReadingValidator.validate` checks one raw reading;
`ReadingValidator.validate_message` checks the readings of a message column by column when
they all share one shape (the usual message), and declines (None) whenever any value would
need a conversion or a rejection, so the caller goes reading by reading.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from device_profiles import DeviceProfile, FieldSpec, FieldType
from telemetry.blocks import TS_KEY, ReadingBlock, values_getter
from telemetry.wire import (
    INT64_MAX,
    INT64_MIN,
    MAX_TS_MS,
    MIN_TS_MS,
    FieldValue,
    Reading,
    is_int64,
    is_plain_int,
    is_wire_ts_ms,
    ts_ms_problem,
)

MAX_FUTURE_SKEW_MS = 5 * 60 * 1000
"""A reading stamped further than this ahead of the receiver's clock is rejected."""

MAX_STRING_CHARS = 256
"""The longest string a string field accepts."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why one raw reading was refused: a DESIGN.md reason code and a human-readable detail."""

    reason: str
    detail: str
    ts_ms: int | None = None


_Accept = Callable[[Any], FieldValue | None]


def _fits_float(value: int) -> bool:
    try:
        float(value)
    except OverflowError:
        return False
    return True


def _float_acceptor(low: float, high: float) -> _Accept:
    def accept(value: Any) -> FieldValue | None:
        if type(value) is float:
            return value if low <= value <= high else None  # NaN fails both comparisons
        if is_plain_int(value) and low <= value <= high and _fits_float(value):
            return float(value)
        return None

    return accept


def _int_acceptor(low: float, high: float) -> _Accept:
    def accept(value: Any) -> FieldValue | None:
        return int(value) if is_plain_int(value) and low <= value <= high else None

    return accept


def _bool_acceptor(value: Any) -> FieldValue | None:
    return value if isinstance(value, bool) else None


def _string_acceptor(value: Any) -> FieldValue | None:
    return str(value) if isinstance(value, str) and len(value) <= MAX_STRING_CHARS else None


def _enum_acceptor(allowed: frozenset[str]) -> _Accept:
    def accept(value: Any) -> FieldValue | None:
        return str(value) if isinstance(value, str) and value in allowed else None

    return accept


def _shown(value: Any) -> str:
    """repr(value), also for an int too long for Python to print."""
    try:
        return repr(value)
    except ValueError:
        return f"<{value.bit_length()}-bit integer>"


class FieldRule:
    """One profile field, compiled: `accept` gives the stored value (floats as float) or None
    for a refused one, `refusal` says why, `column_ok` tests a column of values at once."""

    __slots__ = ("accept", "allowed", "high", "kind", "low", "name", "optional", "spec")

    def __init__(self, name: str, spec: FieldSpec) -> None:
        self.name = name
        self.spec = spec
        self.kind = spec.type
        self.optional = spec.optional
        self.allowed = frozenset(spec.values or ())
        low = -math.inf if spec.min is None else spec.min
        high = math.inf if spec.max is None else spec.max
        if self.kind is FieldType.INT:  # and within a signed 64-bit integer
            low, high = max(low, INT64_MIN), min(high, INT64_MAX)
        self.low, self.high = low, high
        self.accept = self._acceptor()

    def _acceptor(self) -> _Accept:
        kind = self.kind
        if kind is FieldType.FLOAT:
            return _float_acceptor(self.low, self.high)
        if kind is FieldType.INT:
            return _int_acceptor(self.low, self.high)
        if kind is FieldType.BOOL:
            return _bool_acceptor
        if kind is FieldType.ENUM:
            return _enum_acceptor(self.allowed)
        return _string_acceptor

    def _has_type(self, value: Any) -> bool:
        kind = self.kind
        if kind is FieldType.BOOL:
            return isinstance(value, bool)
        if kind is FieldType.INT:
            return is_int64(value)
        if kind is FieldType.FLOAT:
            if isinstance(value, float):
                return math.isfinite(value)
            return is_plain_int(value) and _fits_float(value)
        return isinstance(value, str)

    def _described_type(self) -> str:
        if self.kind is FieldType.INT:
            return "int (a signed 64-bit integer)"
        if self.kind is FieldType.FLOAT:
            return "float (a finite number)"
        return self.kind.value

    def refusal(self, value: Any, ts_ms: int | None = None) -> Rejection:
        """Why `accept` refused `value`: type_mismatch or out_of_range, with the field named."""
        name, spec = self.name, self.spec
        if not self._has_type(value):
            return Rejection(
                "type_mismatch",
                f"field {name!r} must be {self._described_type()}, got {type(value).__name__} "
                f"{_shown(value)}"[:300],
                ts_ms,
            )
        if self.kind is FieldType.ENUM:
            detail = f"field {name!r}: {value!r} is not one of {list(spec.values or ())}"[:300]
        elif self.kind is FieldType.STRING:
            detail = f"field {name!r}: string longer than {MAX_STRING_CHARS} characters"
        elif value < self.low:
            detail = f"field {name!r}: {value!r} is below the minimum {spec.min}"
        else:
            detail = f"field {name!r}: {value!r} is above the maximum {spec.max}"
        return Rejection("out_of_range", detail, ts_ms)

    def column_ok(self, column: tuple[Any, ...]) -> bool:
        """True when `accept` takes every value as it is (no conversion), tested with C-level
        builtins over the whole column; False also for a column that merely needs the
        per-value path (ints in a float field, nulls in an optional one)."""
        types = set(map(type, column))
        kind = self.kind
        if kind is FieldType.FLOAT:
            if types != _ONLY_FLOAT or not all(map(math.isfinite, column)):
                return False
        elif kind is FieldType.INT:
            if types != _ONLY_INT:
                return False
        elif kind is FieldType.BOOL:
            return types == _ONLY_BOOL
        elif kind is FieldType.ENUM:
            return types == _ONLY_STR and set(column) <= self.allowed
        else:
            return types == _ONLY_STR and max(map(len, column)) <= MAX_STRING_CHARS
        return bool(min(column) >= self.low and max(column) <= self.high)


_ONLY_FLOAT = frozenset({float})
_ONLY_INT = frozenset({int})
_ONLY_BOOL = frozenset({bool})
_ONLY_STR = frozenset({str})
_ONLY_DICT = frozenset({dict})


class ReadingValidator:
    """A profile's rules, compiled once (`reading_validator`)."""

    __slots__ = ("_required", "_required_set", "_rules", "_shapes", "profile")

    def __init__(self, profile: DeviceProfile) -> None:
        self.profile = profile
        self._rules = {name: FieldRule(name, spec) for name, spec in profile.fields.items()}
        self._required = tuple(profile.required_fields)
        self._required_set = frozenset(self._required)
        self._shapes: dict[tuple[Any, ...], bool] = {}

    def validate(self, device_id: str, raw: Any, now_ms: int) -> Reading | Rejection:
        """Turn one raw reading mapping into a typed Reading, or say why it is rejected."""
        if type(raw) is not dict and not isinstance(raw, Mapping):
            return Rejection("bad_schema",
                             f"a reading must be a JSON object, got {type(raw).__name__}")
        ts_ms = raw.get(TS_KEY)
        if not is_wire_ts_ms(ts_ms):
            return Rejection("bad_schema", ts_ms_problem(TS_KEY, ts_ms) or "")
        if ts_ms > now_ms + MAX_FUTURE_SKEW_MS:
            return Rejection(
                "timestamp_in_future",
                f"ts_ms {ts_ms} is {(ts_ms - now_ms) / 1000:.1f} s ahead of the receiver's clock",
                ts_ms,
            )
        rules = self._rules
        values: dict[str, FieldValue] = {}
        for name, value in raw.items():
            if name == TS_KEY:
                continue
            rule = rules.get(name)
            if rule is None:
                return Rejection(
                    "unknown_field",
                    f"field {str(name)[:80]!r} is not in profile {self.profile.name!r} "
                    f"(fields: {', '.join(self.profile.field_names)})",
                    ts_ms,
                )
            accepted = rule.accept(value)
            if accepted is None:
                if value is None and rule.optional:
                    continue
                return rule.refusal(value, ts_ms)
            values[name] = accepted
        if not self._required_set <= values.keys():
            missing = [name for name in self._required if name not in values]
            return Rejection("bad_schema", f"required field(s) {missing} missing", ts_ms)
        return Reading(device_id, ts_ms, values)

    def _shape_ok(self, keys: tuple[Any, ...]) -> bool:
        known = self._shapes.get(keys)
        if known is None:
            names = set(keys)
            known = (TS_KEY in names and names - {TS_KEY} <= self._rules.keys()
                     and names >= self._required_set)
            self._shapes[keys] = known
        return known

    def validate_message(self, device_id: str, raws: tuple[Any, ...], received_ms: int,
                         ) -> ReadingBlock | None:
        """Every reading of a message as one ReadingBlock when all of them share one shape and
        every value passes its rule as it is; None sends the message reading by reading."""
        first = raws[0]
        if type(first) is not dict:
            return None
        keys = tuple(first)
        if (not self._shape_ok(keys) or set(map(type, raws)) != _ONLY_DICT
                or set(map(len, raws)) != {len(keys)}):
            return None
        try:  # as many keys as the first and each of its keys: the same key set
            rows = list(map(values_getter(keys), raws))
        except KeyError:
            return None
        columns = dict(zip(keys, zip(*rows, strict=True), strict=True))
        stamps = columns.pop(TS_KEY)
        if (set(map(type, stamps)) != _ONLY_INT or min(stamps) < MIN_TS_MS
                or max(stamps) > min(MAX_TS_MS, received_ms + MAX_FUTURE_SKEW_MS)):
            return None
        rules = self._rules
        if not all(rules[name].column_ok(column) for name, column in columns.items()):
            return None
        return ReadingBlock(device_id, received_ms, keys, rows)


_VALIDATORS: dict[str, ReadingValidator] = {}


def reading_validator(profile: DeviceProfile) -> ReadingValidator:
    """The profile's compiled validator: built on first use in this process, then reused
    (and built again for a redefined profile of the same name)."""
    found = _VALIDATORS.get(profile.name)
    if found is None or found.profile is not profile:
        found = _VALIDATORS[profile.name] = ReadingValidator(profile)
    return found
