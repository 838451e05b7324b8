"""The one reading validation: compiled once per profile and shared by the gateway's drivers."""

from __future__ import annotations

from device_profiles import get_profile
from gateway.drivers.base import DriverContext
from telemetry.validation import Rejection, reading_validator
from telemetry.wire import Reading


def test_a_profile_is_compiled_once_and_recompiled_only_for_another_definition() -> None:
    rain = get_profile("rain_gauge")
    assert reading_validator(rain) is reading_validator(rain)
    redefined = rain.model_copy()
    assert reading_validator(redefined) is not reading_validator(rain)
    assert reading_validator(redefined).profile is redefined


def test_a_driver_validates_with_the_compiled_checks_and_their_rejections() -> None:
    ctx = DriverContext("rg-1", "gw-1", get_profile("rain_gauge"))
    now = 1_764_000_000_000
    accepted = ctx.validate({"ts_ms": now, "rain_mm": 1})
    assert accepted == Reading("rg-1", now, {"rain_mm": 1.0})
    rejected = ctx.validate({"ts_ms": now, "rain_mm": "wet"})
    assert isinstance(rejected, Rejection) and rejected.reason == "type_mismatch"
    assert ctx.rejected == 1


def test_an_int_too_large_for_a_float_is_a_type_mismatch_not_a_crash() -> None:
    now = 1_764_000_000_000
    rain = get_profile("rain_gauge")
    unbounded_field = rain.fields["rain_mm"].model_copy(update={"max": None})
    unbounded = rain.model_copy(update={"fields": {**rain.fields, "rain_mm": unbounded_field}})
    for profile in (rain, unbounded):
        for huge in (10**400, 10**5000):
            result = reading_validator(profile).validate("rg-1", {"ts_ms": now, "rain_mm": huge}, now)
            assert isinstance(result, Rejection) and result.reason == "type_mismatch"
            assert "rain_mm" in result.detail and len(result.detail) <= 300
