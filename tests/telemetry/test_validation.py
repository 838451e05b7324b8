"""Validation of raw readings against device profiles: one reason code per problem."""

from __future__ import annotations

from typing import Any

import pytest

from device_profiles import DeviceProfile, get_profile
from telemetry.validation import MAX_FUTURE_SKEW_MS, Rejection, reading_validator
from telemetry.wire import Reading, decode_readings_payload

NOW_MS = 1_764_201_600_000
RAIN = get_profile("rain_gauge")
SCREENER = get_profile("fever_screener")
LIFT = get_profile("lift_monitor")
COUNTER = DeviceProfile.model_validate(
    {"name": "counter", "family": "lift", "roles": ["under_test"], "kind": "event",
     "fields": {"trips": {"type": "int", "min": 0, "max": 1000}, "label": {"type": "string", "optional": True}}}
)


def check(profile: DeviceProfile, raw: Any) -> Reading | Rejection:
    return reading_validator(profile).validate("dev-1", raw, NOW_MS)


def test_valid_reading_becomes_typed_and_floats_are_floats() -> None:
    reading = check(RAIN, {"ts_ms": NOW_MS - 60_000, "rain_mm": 0, "battery_v": 4})
    assert reading == Reading("dev-1", NOW_MS - 60_000, {"rain_mm": 0.0, "battery_v": 4.0})
    assert isinstance(reading, Reading)
    assert all(type(value) is float for value in reading.values.values())


def test_optional_fields_may_be_absent_or_null() -> None:
    reading = check(RAIN, {"ts_ms": NOW_MS, "rain_mm": 0.2, "battery_v": None})
    assert isinstance(reading, Reading) and dict(reading.values) == {"rain_mm": 0.2}


@pytest.mark.parametrize(
    ("profile", "raw", "reason", "mentions"),
    [
        (RAIN, {"ts_ms": NOW_MS, "rain_mm": 1e308}, "out_of_range", "maximum"),
        (RAIN, {"ts_ms": NOW_MS, "rain_mm": -0.1}, "out_of_range", "minimum"),
        (RAIN, {"ts_ms": NOW_MS, "rain_mm": True}, "type_mismatch", "rain_mm"),
        (RAIN, {"ts_ms": NOW_MS, "rain_mm": "0.2"}, "type_mismatch", "rain_mm"),
        (RAIN, {"ts_ms": NOW_MS, "rain_mm": float("nan")}, "type_mismatch", "rain_mm"),
        (RAIN, {"ts_ms": NOW_MS, "rain_mm": None}, "type_mismatch", "rain_mm"),
        (SCREENER, {"ts_ms": NOW_MS, "skin_temp_c": 36.6, "alarm": 1, "pair_id": "p"}, "type_mismatch", "alarm"),
        (SCREENER, {"ts_ms": NOW_MS, "skin_temp_c": 36.6, "alarm": False, "pair_id": 7}, "type_mismatch", "pair_id"),
        (COUNTER, {"ts_ms": NOW_MS, "trips": 1.0}, "type_mismatch", "trips"),
        (COUNTER, {"ts_ms": NOW_MS, "trips": False}, "type_mismatch", "trips"),
        (COUNTER, {"ts_ms": NOW_MS, "trips": 1001}, "out_of_range", "maximum"),
        (COUNTER, {"ts_ms": NOW_MS, "trips": 1, "label": "x" * 257}, "out_of_range", "256"),
        (LIFT, {"ts_ms": NOW_MS, "event_type": "explosion"}, "out_of_range", "explosion"),
        (RAIN, {"ts_ms": NOW_MS, "rain_mm": 0.2, "colour": "blue"}, "unknown_field", "colour"),
        (SCREENER, {"ts_ms": NOW_MS, "skin_temp_c": 36.6, "pair_id": "p"}, "bad_schema", "alarm"),
        (RAIN, {"rain_mm": 0.2}, "bad_schema", "ts_ms"),
        (RAIN, {"ts_ms": True, "rain_mm": 0.2}, "bad_schema", "ts_ms"),
        (RAIN, {"ts_ms": 1.5, "rain_mm": 0.2}, "bad_schema", "ts_ms"),
        (RAIN, {"ts_ms": -1, "rain_mm": 0.2}, "bad_schema", "ts_ms"),
        (RAIN, [NOW_MS, 0.2], "bad_schema", "object"),
        (RAIN, {"ts_ms": NOW_MS + MAX_FUTURE_SKEW_MS + 1, "rain_mm": 0.2}, "timestamp_in_future", "ahead"),
    ],
)
def test_rejections_name_the_reason_and_field(
    profile: DeviceProfile, raw: Any, reason: str, mentions: str
) -> None:
    outcome = check(profile, raw)
    assert isinstance(outcome, Rejection)
    assert outcome.reason == reason
    assert mentions in outcome.detail


def test_bool_int_and_float_are_distinct() -> None:
    assert isinstance(check(COUNTER, {"ts_ms": NOW_MS, "trips": 3}), Reading)
    assert isinstance(check(SCREENER, {"ts_ms": NOW_MS, "skin_temp_c": 36, "alarm": True, "pair_id": "p"}), Reading)


def test_future_skew_boundary_is_allowed() -> None:
    assert isinstance(check(RAIN, {"ts_ms": NOW_MS + MAX_FUTURE_SKEW_MS, "rain_mm": 0.2}), Reading)
    rejected = check(RAIN, {"ts_ms": NOW_MS + 3_600_000, "rain_mm": 0.2})
    assert isinstance(rejected, Rejection) and rejected.ts_ms == NOW_MS + 3_600_000


def test_decoded_payload_validates_reading_by_reading() -> None:
    message = decode_readings_payload(
        b'{"v":1,"seq":3,"sent_ms":1,"readings":[{"ts_ms":1764201540000,"rain_mm":0.4},'
        b'{"ts_ms":1764201600000,"rain_mm":1e308},{"ts_ms":1764201600000,"rain_mm":0.1,"x":1}]}'
    )
    outcomes = [check(RAIN, raw) for raw in message.readings]
    assert isinstance(outcomes[0], Reading)
    assert [getattr(o, "reason", None) for o in outcomes[1:]] == ["out_of_range", "unknown_field"]
