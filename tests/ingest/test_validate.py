"""The compiled validation accepts and rejects exactly as the plainly written reference rules
do, and the whole-message path accepts only what the per-reading path accepts."""

from __future__ import annotations

import copy
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from device_profiles import builtin_profiles, get_profile
from telemetry.validation import FieldRule, ReadingValidator
from telemetry.wire import MIN_TS_MS, Reading
from tests.telemetry.reference_validation import outcome, reference_validate

NOW_MS = 1_800_000_000_000
PROFILE_NAMES = sorted(builtin_profiles())

values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([2**63, -(2**63) - 1, 2**64, 2**63 - 1, -(2**63)]),
    st.booleans(), st.none(), st.text(max_size=300), st.sampled_from(["ok", "fault", "start"]),
    st.just(1e308), st.just(-0.0), st.lists(st.integers(), max_size=2),
)


@st.composite
def raw_readings(draw: st.DrawFn, profile_name: str) -> Any:
    profile = get_profile(profile_name)
    if draw(st.integers(0, 30)) == 0:
        return draw(values)
    raw: dict[str, Any] = {}
    if draw(st.integers(0, 20)) > 0:
        raw["ts_ms"] = draw(st.one_of(st.integers(0, NOW_MS + 10**7), st.just(-1),
                                      st.just("1"), st.just(1.0), st.just(2**63),
                                      st.just(MIN_TS_MS - 1), st.just(MIN_TS_MS)))
    for name in profile.fields:
        if draw(st.integers(0, 8)) > 0:
            raw[name] = draw(values)
    if draw(st.integers(0, 20)) == 0:
        raw["extra_field"] = 1.0
    return raw


@settings(max_examples=400, deadline=None)
@given(data=st.data(), profile_name=st.sampled_from(PROFILE_NAMES))
def test_validator_matches_the_reference_rules(data: st.DataObject, profile_name: str) -> None:
    raw = data.draw(raw_readings(profile_name))
    profile = get_profile(profile_name)
    expected = reference_validate(profile, "dev", copy.deepcopy(raw), NOW_MS)
    got = ReadingValidator(profile).validate("dev", raw, NOW_MS)
    assert outcome(got) == expected


def _valid_raw(profile_name: str, ts_ms: int) -> dict[str, Any]:
    raw: dict[str, Any] = {"ts_ms": ts_ms}
    for name, spec in get_profile(profile_name).fields.items():
        if spec.type.value == "float":
            low = spec.min if spec.min is not None else -5.0
            raw[name] = float(low) + 0.5 if spec.max is None or spec.max >= low + 0.5 else low
        elif spec.type.value == "int":
            raw[name] = int(spec.min if spec.min is not None else 0)
        elif spec.type.value == "bool":
            raw[name] = True
        elif spec.type.value == "enum":
            raw[name] = (spec.values or ("x",))[0]
        else:
            raw[name] = "text"
    return raw


@settings(max_examples=300, deadline=None)
@given(data=st.data(), profile_name=st.sampled_from(PROFILE_NAMES), n=st.integers(1, 5))
def test_whole_message_path_matches_per_reading_validation(
    data: st.DataObject, profile_name: str, n: int
) -> None:
    profile = get_profile(profile_name)
    raws = [_valid_raw(profile_name, NOW_MS - 10**6 + 1_000 * i) for i in range(n)]
    if data.draw(st.booleans()):  # mutate one reading into something maybe invalid
        victim = data.draw(st.integers(0, n - 1))
        raws[victim] = data.draw(raw_readings(profile_name))
    validator = ReadingValidator(profile)
    expected = [validator.validate("dev", copy.deepcopy(r), NOW_MS) for r in raws]
    assert [outcome(e) for e in expected] == [
        reference_validate(profile, "dev", copy.deepcopy(r), NOW_MS) for r in raws]
    got = validator.validate_message("dev", tuple(raws), NOW_MS)
    if got is None:
        return  # the per-reading path decides; covered by the test above
    assert all(isinstance(e, Reading) for e in expected)
    assert [item.reading for item in got.received_readings()] == expected
    assert {item.received_ms for item in got.received_readings()} == {NOW_MS}


def test_a_typical_message_is_accepted_whole() -> None:
    profile = get_profile("rain_gauge")
    raws = tuple({"ts_ms": NOW_MS - 10**6 + 1000 * i, "rain_mm": 0.2, "battery_v": 3.6}
                 for i in range(60))
    got = ReadingValidator(profile).validate_message("dev", raws, NOW_MS)
    assert got is not None and len(got) == 60
    second_ms = NOW_MS - 10**6 + 1000
    assert got.rows[1] == (second_ms, 0.2, 3.6)
    assert got.received_readings()[1].reading == Reading(
        "dev", second_ms, {"rain_mm": 0.2, "battery_v": 3.6})


def test_whole_message_path_declines_nan_and_ints_in_float_fields() -> None:
    validator = ReadingValidator(get_profile("rain_gauge"))
    assert validator.validate_message("d", ({"ts_ms": 1, "rain_mm": math.nan},), NOW_MS) is None
    assert validator.validate_message("d", ({"ts_ms": 1, "rain_mm": 0},), NOW_MS) is None


def test_whole_message_path_declines_ints_beyond_64_bits_and_stamps_before_2000() -> None:
    validator = ReadingValidator(get_profile("rain_gauge"))
    old = ({"ts_ms": MIN_TS_MS - 1, "rain_mm": 0.2},)
    assert validator.validate_message("d", old, NOW_MS) is None
    assert validator.validate_message("d", ({"ts_ms": MIN_TS_MS, "rain_mm": 0.2},), NOW_MS)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), profile_name=st.sampled_from(PROFILE_NAMES))
def test_a_column_passes_only_when_its_rule_accepts_every_value_as_it_is(
    data: st.DataObject, profile_name: str
) -> None:
    for name, spec in get_profile(profile_name).fields.items():
        rule = FieldRule(name, spec)
        column = tuple(data.draw(st.lists(values, min_size=1, max_size=4)))
        if rule.column_ok(column):
            assert all(rule.accept(value) is value for value in column), (rule.name, column)
