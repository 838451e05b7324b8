"""The simulator: valid, deterministic, periodic, and one shared truth per world."""

from __future__ import annotations

import asyncio
import time

import pytest

from device_profiles import builtin_profiles, get_profile
from gateway.drivers.simulator.driver import simulate
from telemetry.validation import reading_validator
from telemetry.wire import Reading
from tests.gateway.drivers.harness import collect, make_driver

T0 = 1_764_201_600_000
HOUR = 3_600_000
DAY = 24 * HOUR


def _events(readings: list[Reading], key: str) -> dict[int, str]:
    return {r.ts_ms: str(r.values[key]) for r in readings if r.values[key] != "heartbeat"}


@pytest.mark.parametrize("profile", sorted(builtin_profiles()))
def test_valid_sorted_unique_and_chunkable(profile: str) -> None:
    settings = {
        "seed": 3,
        "targets": ["uvr-01"],
        "noise_sd": 0.3,
        "dropout_rate": 0.05,
        "recall": 0.7,
        "false_alarms_per_day": 3,
        "delay_s": 30,
    }
    end = T0 + (HOUR if profile == "uv_radiometer" else DAY)
    readings = simulate(profile, settings, T0, end, "uvr-01")
    assert readings, "a day produces readings"
    for r in readings:
        assert (
            reading_validator(get_profile(profile)).validate(
                "uvr-01", {"ts_ms": r.ts_ms, **r.values}, end)
            == r
        )
    stamps = [r.ts_ms for r in readings]
    assert stamps == sorted(set(stamps))
    mid = T0 + (end - T0) // 3
    assert (
        simulate(profile, settings, T0, mid, "uvr-01")
        + simulate(profile, settings, mid, end, "uvr-01")
        == readings
    )
    assert simulate(profile, settings, T0, end, "uvr-01") == readings


def test_periodic_profiles_one_reading_per_period_and_dropouts() -> None:
    rain = simulate("rain_gauge", {"seed": 1}, T0, T0 + DAY)
    assert [r.ts_ms for r in rain] == list(range(T0, T0 + DAY, 60_000))
    uv = simulate("uv_radiometer", {"seed": 1}, T0, T0 + HOUR)
    assert len(uv) == 3600
    dropped = simulate("uv_radiometer", {"seed": 1, "dropout_rate": 0.1}, T0, T0 + HOUR)
    assert 3600 * 0.85 < len(dropped) < 3600 * 0.95


def test_rain_reference_and_device_under_test_share_the_weather() -> None:
    world = {"world": "roof", "world_seed": 5, "rain_events_per_day": 6}
    ref = simulate("rain_gauge", {**world, "seed": 1}, T0, T0 + 3 * DAY)
    dut = simulate("rain_gauge", {**world, "seed": 2, "gain": 1.1}, T0, T0 + 3 * DAY)
    other = simulate("rain_gauge", {"world": "elsewhere", "seed": 1}, T0, T0 + 3 * DAY)
    total_ref = sum(r.values["rain_mm"] for r in ref)
    assert total_ref > 5
    assert sum(r.values["rain_mm"] for r in dut) / total_ref == pytest.approx(1.1, rel=0.01)
    assert [r.values for r in other] != [r.values for r in ref]
    wet = [r for r in ref if r.values["rain_mm"] > 0]
    assert any(r.values["rain_mm"] < 0.03 for r in wet), "drizzle minutes exist"
    assert max(r.values["rain_mm"] for r in wet) > 0.2, "showers exist"


def test_screener_and_thermometer_pair_up() -> None:
    world = {"world": "clinic", "fever_prevalence": 0.2}
    screens = simulate("fever_screener", {**world, "seed": 1, "bias": -0.4}, T0, T0 + DAY)
    clinic = simulate("clinical_thermometer", {**world, "seed": 9}, T0 - HOUR, T0 + DAY + HOUR)
    by_pair = {r.values["pair_id"]: r for r in clinic}
    assert {r.values["pair_id"] for r in screens} <= set(by_pair)
    diffs = [
        s.values["skin_temp_c"] - by_pair[s.values["pair_id"]].values["body_temp_c"]
        for s in screens
    ]
    assert all(d == pytest.approx(-0.4, abs=0.011) for d in diffs)
    fevers = [r for r in clinic if r.values["body_temp_c"] >= 37.5]
    assert 0.1 < len(fevers) / len(clinic) < 0.3
    assert all(by_pair[s.values["pair_id"]].ts_ms > s.ts_ms for s in screens)


def test_lift_monitor_sees_the_controller_log_through_its_error_model() -> None:
    world = {"world": "tower", "faults_per_day": 12, "outages_per_day": 4}
    truth = _events(
        simulate("lift_controller_log", {**world, "seed": 1}, T0, T0 + 5 * DAY), "event_type"
    )
    perfect = _events(
        simulate("lift_monitor", {**world, "seed": 2}, T0, T0 + 5 * DAY), "event_type"
    )
    assert perfect == truth and len(truth) > 40
    assert "out_of_service" in truth.values() and "in_service" in truth.values()
    model = {**world, "seed": 2, "recall": 0.7, "false_alarms_per_day": 2, "delay_s": 20}
    seen = _events(simulate("lift_monitor", model, T0, T0 + 5 * DAY), "event_type")
    matched = sum(
        any(0 <= ts_d - ts_r <= 30_000 and kind == truth[ts_r] for ts_d, kind in seen.items())
        for ts_r in truth
    )
    assert 0.5 < matched / len(truth) < 0.9
    assert len(seen) - matched > 0, "false alarms"


def test_uv_robot_doses_match_the_radiometers() -> None:
    world = {"world": "ward", "missions_per_day": 12}
    robot = simulate(
        "uv_robot", {**world, "seed": 1, "targets": ["uvr-01", "uvr-02"]}, T0, T0 + 6 * HOUR
    )
    starts = [r.ts_ms for r in robot if r.values["event"] == "mission_start"]
    ends = [r.ts_ms for r in robot if r.values["event"] == "mission_end"]
    assert starts and len(starts) == len(ends)
    for target in ("uvr-01", "uvr-02"):
        meter = simulate("uv_radiometer", {**world, "seed": 7}, T0, T0 + 6 * HOUR, target)
        for start, end in zip(starts, ends, strict=True):
            inside = [r.values["irradiance_uw_cm2"] for r in meter if start <= r.ts_ms < end]
            dose = sum(inside) / 1000  # 1 s per reading, µJ -> mJ
            report = next(
                r for r in robot if r.values.get("target_id") == target and start <= r.ts_ms <= end
            )
            assert report.values["dose_mj_cm2"] == pytest.approx(dose, rel=0.02)
            assert max(inside) > 15
        outside = [
            r.values["irradiance_uw_cm2"]
            for r in meter
            if not any(s <= r.ts_ms < e for s, e in zip(starts, ends, strict=True))
        ]
        assert max(outside) < 0.1


def test_clock_error_shifts_timestamps() -> None:
    base = simulate("rain_gauge", {"seed": 1}, T0, T0 + HOUR)
    late = simulate(
        "rain_gauge",
        {"seed": 1, "clock_offset_ms": 1500, "clock_drift_ppm": 100, "start": T0},
        T0,
        T0 + HOUR,
    )
    assert [b.ts_ms + 1500 + round(100e-6 * (b.ts_ms - T0)) for b in base] == [
        r.ts_ms for r in late
    ]


def test_driver_speed_never_runs_ahead_of_the_real_clock() -> None:
    start_ms = int(time.time() * 1000) - 600_000
    driver, ctx = make_driver(
        "simulator", "rain_gauge", {"seed": 1, "speed": 3600, "start": start_ms}
    )

    async def scenario() -> list[Reading]:
        return await collect(driver, ctx, lambda r: len(r) >= 10, timeout_s=20)

    readings = asyncio.run(scenario())
    now_ms = int(time.time() * 1000)
    # one batch may carry two readings when the loop ran late on a busy machine
    assert len(readings) >= 10
    assert all(r.ts_ms <= now_ms for r in readings)
    assert ctx.state["next_ms"] <= now_ms
    assert [r.ts_ms for r in readings] == list(
        range(-(-start_ms // 60_000) * 60_000, readings[-1].ts_ms + 1, 60_000)
    )
