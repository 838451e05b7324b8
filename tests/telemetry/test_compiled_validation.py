"""The one reading validation: compiled once per profile and shared by the gateway's drivers."""

from __future__ import annotations

from device_profiles import get_profile
from gateway.drivers.base import DriverContext
from telemetry.compiled_validation import compiled_profile
from telemetry.validation import Rejection
from telemetry.wire import Reading


def test_a_profile_is_compiled_once_and_recompiled_only_for_another_definition() -> None:
    rain = get_profile("rain_gauge")
    assert compiled_profile(rain) is compiled_profile(rain)
    redefined = rain.model_copy()
    assert compiled_profile(redefined) is not compiled_profile(rain)
    assert compiled_profile(redefined).profile is redefined


def test_a_driver_validates_with_the_compiled_checks_and_their_rejections() -> None:
    ctx = DriverContext("rg-1", "gw-1", get_profile("rain_gauge"))
    now = 1_764_000_000_000
    accepted = ctx.validate({"ts_ms": now, "rain_mm": 1})
    assert accepted == Reading("rg-1", now, {"rain_mm": 1.0})
    rejected = ctx.validate({"ts_ms": now, "rain_mm": "wet"})
    assert isinstance(rejected, Rejection) and rejected.reason == "type_mismatch"
    assert ctx.rejected == 1
