"""Charts that work for a single short mission, a one-day and a 30-day trial (figure specs)."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from analytics.model import Window
from reports.charts import (
    MAX_MISSION_BARS,
    MAX_POINTS,
    fever_charts,
    lift_charts,
    rain_charts,
    time_axis,
    uv_charts,
)

TZ = "Asia/Hong_Kong"
START_MS = int(datetime.fromisoformat("2026-11-02T00:00:00+08:00").timestamp() * 1000)
HOUR_MS, DAY_MS = 3_600_000, 86_400_000


def _robot(missions: list[tuple[int, int]]) -> pd.DataFrame:
    rows = [(t, e) for start, end in missions for t, e in ((start, "mission_start"),
                                                           (end, "mission_end"))]
    return pd.DataFrame({"ts_ms": [t for t, _ in rows], "event": [e for _, e in rows],
                         "target_id": [None] * len(rows), "dose_mj_cm2": [np.nan] * len(rows)})


def _radiometer(missions: list[tuple[int, int]], irradiance: list[float],
                period_ms: int) -> pd.DataFrame:
    ts, irr = [np.zeros(0, dtype=np.int64)], [np.zeros(0)]
    for (start, end), e in zip(missions, irradiance, strict=True):
        stamps = np.arange(start, end, period_ms)
        ts.append(stamps)
        irr.append(np.full(stamps.size, e))
    return pd.DataFrame({"ts_ms": np.concatenate(ts), "irradiance_uw_cm2": np.concatenate(irr)})


def _range_holds(layout: dict, y: float) -> bool:
    low, high = layout["yaxis"]["range"]
    return low <= y <= high


@pytest.mark.parametrize("irradiance, dose", [(20.0, 12.0), (0.5, 0.3)])
def test_one_short_mission_gives_bars_from_zero_with_the_target_line_inside(irradiance, dose):
    mission = [(START_MS + 60_000, START_MS + 660_000)]  # ten minutes
    radiometers = {"uvr-a": _radiometer(mission, [irradiance], 1000),
                   "uvr-b": _radiometer(mission, [irradiance * 2], 1000)}
    (chart,) = uv_charts("c0", _robot(mission), radiometers, {"uvr-a": 1000, "uvr-b": 1000},
                         Window(START_MS, START_MS + HOUR_MS), 10.0, TZ)
    layout = chart.figure["layout"]
    assert chart.title_key == "chart_uv_dose"
    assert [t["type"] for t in chart.figure["data"]] == ["bar", "bar"]
    assert chart.figure["data"][0]["y"] == [pytest.approx(dose)]  # 600 s × E µW/cm² / 1000
    assert chart.figure["data"][0]["x"] == ["#1 11-02 00:01"]
    assert layout["xaxis"]["type"] == "category"  # no date axis: no sub-millisecond ticks
    assert layout["yaxis"]["range"][0] == 0.0
    (line,) = layout["shapes"]
    assert (line["y0"], line["y1"], line["xref"], line["x0"], line["x1"]) == (10.0, 10.0,
                                                                              "paper", 0, 1)
    assert _range_holds(layout, 10.0) and _range_holds(layout, 2 * dose)
    assert "10 mJ/cm²" in line["name"] and line["showlegend"]


def test_a_30_day_trial_shows_the_lowest_dose_per_day():
    missions = [(START_MS + k * HOUR_MS, START_MS + k * HOUR_MS + 300_000)
                for k in range(30 * 24)]
    irradiance = [40.0] * len(missions)
    irradiance[4 * 24 + 7] = 10.0  # one weak mission on day 5: 300 s × 10 / 1000 = 3 mJ/cm²
    radiometers = {"uvr-a": _radiometer(missions, irradiance, 10_000)}
    (chart,) = uv_charts("c0", _robot(missions), radiometers, {"uvr-a": 10_000},
                         Window(START_MS, START_MS + 30 * DAY_MS), 10.0, TZ)
    assert len(missions) > MAX_MISSION_BARS
    assert chart.title_key == "chart_uv_dose_daily"
    (bars,) = chart.figure["data"]
    assert len(bars["x"]) == 30 and bars["x"][0] == "11-02" and bars["x"][4] == "11-06"
    assert bars["y"][4] == pytest.approx(3.0) and bars["y"][3] == pytest.approx(12.0)
    assert _range_holds(chart.figure["layout"], 10.0)


def test_no_missions_still_draws_the_target_line_in_range():
    (chart,) = uv_charts("c0", _robot([]), {"uvr-a": _radiometer([], [], 1000)},
                         {"uvr-a": 1000}, Window(START_MS, START_MS + HOUR_MS), 25.0, TZ)
    assert chart.figure["data"][0]["x"] == []
    assert _range_holds(chart.figure["layout"], 25.0)


def test_time_axis_spans_the_window_whatever_the_data():
    assert time_axis(Window(START_MS, START_MS + DAY_MS), TZ)["range"] == [
        "2026-11-02 00:00:00", "2026-11-03 00:00:00"]
    assert time_axis(Window(START_MS, START_MS), TZ)["range"] == [
        "2026-11-02 00:00:00", "2026-11-02 00:01:00"]


@pytest.mark.parametrize("days, events", [(1, 1), (30, 6000)])
def test_lift_timeline_uses_the_window_and_bounds_points(days, events):
    window = Window(START_MS, START_MS + days * DAY_MS)
    ts = np.linspace(START_MS + 1000, window.end_ms - 10_000, events).astype(np.int64)
    ref = pd.DataFrame({"ts_ms": ts, "event_type": ["fault_door"] * events})
    dut = pd.DataFrame({"ts_ms": ts + 5000, "event_type": ["fault_door"] * events})
    (chart,) = lift_charts("c0", dut, ref, window, 60.0, TZ)
    xaxis = chart.figure["layout"]["xaxis"]
    assert xaxis["type"] == "date" and xaxis["range"] == time_axis(window, TZ)["range"]
    assert "Entrapment / 困人" in chart.figure["layout"]["yaxis"]["ticktext"]
    matched = chart.figure["data"][0]
    assert matched["name"] == f"matched (n={events})"
    assert 1 <= len(matched["x"]) <= MAX_POINTS


@pytest.mark.parametrize("days", [1, 30])
def test_rain_charts_for_one_and_30_days(days):
    minutes = days * 1440
    ts = START_MS + np.arange(minutes, dtype=np.int64) * 60_000
    rain = np.where(np.arange(minutes) % 7 == 0, 0.2, 0.0)
    ref = pd.DataFrame({"ts_ms": ts, "rain_mm": rain})
    dut = pd.DataFrame({"ts_ms": ts, "rain_mm": rain * 1.1})
    scatter, daily = rain_charts("c0", dut, ref, Window(START_MS, START_MS + days * DAY_MS), TZ)
    points = scatter.figure["data"][0]
    assert len(points["x"]) <= MAX_POINTS and f"(n={int((rain > 0).sum())})" in points["name"]
    assert scatter.figure["layout"]["xaxis"]["range"][0] == 0
    assert scatter.figure["layout"]["xaxis"]["range"][1] >= max(points["x"])
    assert len(daily.figure["data"][0]["x"]) == days
    assert daily.figure["layout"]["xaxis"]["type"] == "category"


def test_one_fever_pair_still_has_a_readable_axis():
    d = pd.DataFrame({"ts_ms": [START_MS], "skin_temp_c": [36.4], "alarm": [False],
                      "pair_id": ["p1"]})
    r = pd.DataFrame({"ts_ms": [START_MS + 1000], "body_temp_c": [36.8], "pair_id": ["p1"]})
    (chart,) = fever_charts("c0", d, r, Window(START_MS, START_MS + HOUR_MS),
                            {"bias_c": -0.4, "loa_low_c": None, "loa_high_c": None})
    low, high = chart.figure["layout"]["xaxis"]["range"]
    assert high - low >= 1.0 and low < 36.6 < high
    assert [t["name"] for t in chart.figure["data"]] == ["pairs (n=1)", "bias -0.400"]
