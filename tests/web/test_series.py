"""Chart data: decimation keeps peaks and bounds, traces per family, ranges, live increments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from portal_api.web.live import TrialFeed, format_after, parse_after, sse
from portal_api.web.sample import sample_trials, write_readings
from portal_api.web.series import (
    MAX_POINTS,
    chart_series,
    chart_specs,
    decimate_min_max,
    new_points,
    range_window,
)
from telemetry.store import open_store
from telemetry.wire import Reading

NOW_MS = 1_795_000_000_000


def _trial(family: str):
    return next(t for t in sample_trials(NOW_MS) if t.family == family)


def test_decimation_bounds_points_and_keeps_extremes() -> None:
    ts = np.arange(0, 2_592_000, dtype=np.int64) * 1000  # a month of one-second readings
    values = np.sin(ts / 3.6e6)
    values[1_234_567] = 99.0
    values[2_000_001] = -42.0
    out_ts, out_values = decimate_min_max(ts, values, MAX_POINTS)
    assert len(out_ts) <= MAX_POINTS
    assert out_values.max() == 99.0 and out_values.min() == -42.0
    assert np.all(np.diff(out_ts) > 0)


def test_short_series_is_untouched() -> None:
    ts = np.arange(10, dtype=np.int64)
    out_ts, out_values = decimate_min_max(ts, ts * 2.0, MAX_POINTS)
    assert out_ts.tolist() == ts.tolist() and out_values.tolist() == (ts * 2.0).tolist()


@pytest.mark.parametrize(
    ("family", "fields"),
    [
        ("rain_gauge", ["rain_mm", "rain_mm"]),
        ("fever_screener", ["skin_temp_c", "body_temp_c"]),
        ("lift", ["event_type", "event_type"]),
        ("uv_robot", ["irradiance_uw_cm2", "irradiance_uw_cm2", "event"]),
    ],
)
def test_each_family_overlays_the_device_under_test_on_its_reference(family: str, fields: list[str]) -> None:
    (chart,) = chart_specs(_trial(family).spec)
    assert [t.field for t in chart.traces] == fields
    assert chart.under_test in {t.device_id for t in chart.traces}
    assert set(chart.references) <= {t.device_id for t in chart.traces}


def test_range_window_is_clipped_to_the_trial_and_now() -> None:
    spec = _trial("rain_gauge").spec
    start_ms, end_ms = range_window(spec, "1h", NOW_MS)
    assert (start_ms, end_ms) == (NOW_MS + 1 - 3_600_000, NOW_MS + 1)
    assert range_window(spec, "all", NOW_MS)[0] == spec.trial.start_ms
    assert range_window(spec, "bogus", NOW_MS) == range_window(spec, "24h", NOW_MS)


def test_series_and_live_increments_from_a_store(tmp_path: Path) -> None:
    spec = _trial("lift").spec
    (chart,) = chart_specs(spec)
    with open_store(f"sqlite:///{tmp_path / 'r.db'}") as store:
        write_readings(store, [Reading("lc-ref-01", NOW_MS - 5_000, {"event_type": "entrapment"}),
                               Reading("lm-dut-01", NOW_MS - 4_500, {"event_type": "heartbeat"}),
                               Reading("lm-dut-01", NOW_MS - 4_000, {"event_type": "entrapment"})])
        series = chart_series(store, chart, NOW_MS - 60_000, NOW_MS)
        assert series["t0"] == {"x": [NOW_MS - 4_000], "y": ["lm-dut-01"], "text": ["entrapment"]}
        write_readings(store, [Reading("lm-dut-01", NOW_MS - 1_000, {"event_type": "fault_door"})])
        fresh = new_points(store, chart, {"lm-dut-01": NOW_MS - 4_000, "lc-ref-01": NOW_MS - 5_000}, NOW_MS)
        assert fresh == {"t0": {"x": [NOW_MS - 1_000], "y": ["lm-dut-01"], "text": ["fault_door"]}}


def test_feed_sends_only_what_is_new(tmp_path: Path) -> None:
    spec = _trial("rain_gauge").spec
    with open_store(f"sqlite:///{tmp_path / 'r.db'}") as store:
        write_readings(store, [Reading("rg-dut-01", NOW_MS - 60_000, {"rain_mm": 0.2})])
        ctx = type("Ctx", (), {"store": store})()
        feed = TrialFeed(ctx, spec, chart_specs(spec), {"rg-dut-01": NOW_MS - 60_000})  # type: ignore[arg-type]
        assert feed.points() is None
        write_readings(store, [Reading("rg-dut-01", NOW_MS, {"rain_mm": 0.4})])
        update = feed.points()
        assert update is not None
        assert update["charts"]["c0"]["t0"]["y"] == [0.4]
        assert feed.points() is None


def test_parse_after_ignores_junk_and_sse_frames_json() -> None:
    assert parse_after("a:1,b:-1,c:x,:5,d") == {"a": 1, "b": -1}
    assert sse("status", {"a": 1}) == b'event: status\ndata: {"a":1}\n\n'
    assert sse("points", [], "a:1") == b"id: a:1\nevent: points\ndata: []\n\n"
    assert parse_after(format_after({"a": 5, "b": -1, "c": 0})) == {"a": 5, "c": 0}
