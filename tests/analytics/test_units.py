"""Focused checks of the building blocks behind the family metrics."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analytics._stats import f1, pearson, percentile, std, wilson
from analytics.fever_screener import as_bool
from analytics.lift import availability, greedy_match
from analytics.model import Window
from analytics.quality import gap_stats
from analytics.rain_gauge import local_midnights_ms
from analytics.uv_robot import doses, missions


def test_wilson_matches_closed_form_and_edges() -> None:
    low, high = wilson(0, 10)
    assert low == pytest.approx(0.0, abs=1e-15)
    z2 = 1.959964**2
    assert high == pytest.approx(z2 / (10 + z2), abs=1e-12)  # closed form for 0 successes
    low, high = wilson(10, 10)
    assert high == pytest.approx(1.0, abs=1e-15)
    assert wilson(0, 0) == (None, None)


def test_stats_nulls() -> None:
    assert percentile([], 50) is None
    assert std(np.array([1.0])) is None
    assert pearson(np.array([1.0, 2.0]), np.array([3.0, 3.0])) is None
    assert pearson(np.array([1.0]), np.array([1.0])) is None
    assert f1(0, 0, 5) is None and f1(0, 3, 0) is None and f1(0, 1, 1) == 0.0


def test_greedy_match_takes_earliest_unmatched_candidate() -> None:
    # r at 100 could take d 50 or d 160; the earliest (50) wins, leaving 160 for r at 200.
    assert greedy_match([100_000, 200_000], [50_000, 160_000], 60_000) == [
        (100_000, 50_000),
        (200_000, 160_000),
    ]
    # Edge: exactly the window is a match, one ms more is not.
    assert greedy_match([0], [60_000], 60_000) == [(0, 60_000)]
    assert greedy_match([0], [60_001], 60_000) == []
    assert greedy_match([0], [-60_000], 60_000) == [(0, -60_000)]


def test_availability_union_and_clipping() -> None:
    window = Window(0, 1000)
    events = pd.DataFrame(
        {
            "ts_ms": [100, 150, 300, 900],
            "event_type": ["out_of_service", "out_of_service", "in_service", "out_of_service"],
        }
    )
    # [100, 300) ∪ [150, 300) ∪ [900, 1000) = 200 + 100
    assert availability(events, window) == pytest.approx(0.7)
    only_back = pd.DataFrame({"ts_ms": [10], "event_type": ["in_service"]})
    assert availability(only_back, window) == 1.0
    assert availability(events.iloc[0:0], window) is None


def test_missions_scan_rules() -> None:
    robot = pd.DataFrame(
        {
            "ts_ms": [1, 2, 3, 4, 5, 6],
            "event": [
                "mission_end",
                "mission_start",
                "mission_start",
                "mission_end",
                "mission_end",
                "mission_start",
            ],
        }
    )
    assert [(m.start_ms, m.end_ms) for m in missions(robot)] == [(3, 4)]


def test_dose_caps_steps_at_two_periods_and_clips_at_mission_end() -> None:
    radiometer = pd.DataFrame(
        {"ts_ms": [0, 1000, 5000, 5500], "irradiance_uw_cm2": [1000.0, 1000.0, 2000.0, 2000.0]}
    )
    found = missions(pd.DataFrame({"ts_ms": [0, 5800], "event": ["mission_start", "mission_end"]}))
    # 1000 × 1000 + 1000 × min(4000, 2000) + 2000 × 500 + 2000 × (5800 − 5500) = 4.6e6 nJ
    assert doses(radiometer, found, 1000).tolist() == pytest.approx([4.6])


def test_gap_stats_empty_window() -> None:
    assert gap_stats(np.array([], dtype=np.int64), Window(0, 0), 60_000) == (0, 0.0)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (pd.Series([True, False]), [True, False]),
        (pd.Series([1, 0]), [True, False]),
        (pd.Series(["true", "false", "TRUE"]), [True, False, True]),
        (pd.Series([True, None], dtype=object), [True, False]),
    ],
)
def test_as_bool(values: pd.Series, expected: list[bool]) -> None:
    assert as_bool(values).tolist() == expected


def test_wilson_centre_is_inside() -> None:
    low, high = wilson(3, 7)
    assert low is not None and high is not None
    assert low < 3 / 7 < high and not math.isnan(low)


@pytest.mark.parametrize(
    ("timezone", "start", "hours"),
    [
        ("Asia/Hong_Kong", "2026-11-01T00:00", [24, 24, 24, 24]),
        ("Europe/London", "2026-10-24T12:00", [24, 25, 24, 24]),  # clocks go back 25 Oct
        ("America/Santiago", "2026-09-05T12:00", [24, 23, 24, 24]),  # 6 Sep starts at 01:00
    ],
)
def test_local_days_follow_the_calendar(timezone: str, start: str, hours: list[int]) -> None:
    start_ms = int(pd.Timestamp(start, tz=timezone).timestamp() * 1000)
    midnights = local_midnights_ms(Window(start_ms, start_ms + 2 * 86_400_000), timezone)
    assert (np.diff(midnights) / 3_600_000).tolist() == hours
    assert midnights[0] <= start_ms < midnights[1]
