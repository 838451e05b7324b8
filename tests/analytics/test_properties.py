"""Property tests: bounds, row-order invariance, and a stream compared with itself."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics import DeviceBookkeeping, Window, compute_trial_metrics
from analytics.quality import device_quality
from registry.trial_spec import parse_trial_spec
from tests.analytics.golden_cases import assert_matches

START_MS = 1_793_462_400_000  # 2026-11-01T00:00:00+08:00
WINDOW = Window(START_MS, START_MS + 7_200_000)
LIFT_TYPES = [
    "fault_door",
    "fault_levelling",
    "entrapment",
    "out_of_service",
    "in_service",
    "heartbeat",
]
UV_EVENTS = ["mission_start", "mission_end", "dose_report", "person_detected"]
SETTINGS = settings(max_examples=50, deadline=None)

SPEC = parse_trial_spec(
    {
        "wish": {"id": "w-p", "title": "Property", "department": "EMSD"},
        "solution": {"id": "s-p", "title": "All families", "provider": "acme"},
        "trial": {
            "id": "t-prop",
            "site": {"id": "site-p"},
            "start": "2026-11-01T00:00:00+08:00",
            "end": "2026-11-01T02:00:00+08:00",
            "gateways": [{"id": "gw"}],
            "devices": [
                {"id": "rg-d", "profile": "rain_gauge", "gateway": "gw", "role": "under_test"},
                {"id": "rg-r", "profile": "rain_gauge", "gateway": "gw", "role": "reference"},
                {"id": "fs", "profile": "fever_screener", "gateway": "gw", "role": "under_test"},
                {
                    "id": "ct",
                    "profile": "clinical_thermometer",
                    "gateway": "gw",
                    "role": "reference",
                },
                {"id": "lm", "profile": "lift_monitor", "gateway": "gw", "role": "under_test"},
                {
                    "id": "lc",
                    "profile": "lift_controller_log",
                    "gateway": "gw",
                    "role": "reference",
                },
                {"id": "uv", "profile": "uv_robot", "gateway": "gw", "role": "under_test"},
                {"id": "ra", "profile": "uv_radiometer", "gateway": "gw", "role": "reference"},
                {"id": "rb", "profile": "uv_radiometer", "gateway": "gw", "role": "reference"},
            ],
            "comparisons": [
                {"under_test": "rg-d", "reference": "rg-r"},
                {"under_test": "fs", "reference": "ct"},
                {"under_test": "lm", "reference": "lc"},
                {"under_test": "uv", "reference": ["ra", "rb"]},
            ],
            "acceptance": [
                {"metric": "quality.completeness", "op": ">=", "value": 0.5},
                {"metric": "lift.recall", "op": ">=", "value": 0.5},
            ],
        },
    }
)


def stamps(max_size: int, step_s: int = 1) -> st.SearchStrategy[list[int]]:
    """Unique timestamps (ms) around the window: some before, inside, and after it."""
    return st.lists(st.integers(-60, 7_300), unique=True, max_size=max_size).map(
        lambda ts: [START_MS + t * step_s * 1000 for t in ts]
    )


def frame(ts: list[int], **columns: list[Any]) -> pd.DataFrame:
    data: dict[str, Any] = {
        "ts_ms": np.array(ts, dtype=np.int64),
        "received_ms": np.array(ts, dtype=np.int64) + 1500,
    }
    data.update({k: v[: len(ts)] for k, v in columns.items()})
    return pd.DataFrame(data)


@st.composite
def rain_frames(draw: st.DrawFn) -> pd.DataFrame:
    ts = draw(st.lists(st.integers(-5, 125), unique=True, max_size=60))
    rain = draw(
        st.lists(
            st.sampled_from([0.0, 0.0, 0.002, 0.01, 0.1, 0.5]), min_size=len(ts), max_size=len(ts)
        )
    )
    return frame([START_MS + m * 60_000 for m in ts], rain_mm=rain)


@st.composite
def all_frames(draw: st.DrawFn) -> dict[str, pd.DataFrame]:
    n = 25
    pairs = st.lists(st.sampled_from([f"p{i}" for i in range(12)]), min_size=n, max_size=n)
    temps = st.lists(st.sampled_from([36.0, 36.8, 37.4, 37.5, 37.9, 38.6]), min_size=n, max_size=n)
    fs_ts, ct_ts = draw(stamps(n)), draw(stamps(n))
    uv_ts = draw(stamps(n))
    return {
        "rg-d": draw(rain_frames()),
        "rg-r": draw(rain_frames()),
        "fs": frame(
            fs_ts,
            skin_temp_c=draw(temps),
            pair_id=draw(pairs),
            alarm=draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        ),
        "ct": frame(ct_ts, body_temp_c=draw(temps), pair_id=draw(pairs)),
        "lm": frame(
            draw(stamps(n, 10)),
            event_type=draw(st.lists(st.sampled_from(LIFT_TYPES), min_size=n, max_size=n)),
        ),
        "lc": frame(
            draw(stamps(n, 10)),
            event_type=draw(st.lists(st.sampled_from(LIFT_TYPES), min_size=n, max_size=n)),
        ),
        "uv": frame(
            uv_ts,
            event=draw(st.lists(st.sampled_from(UV_EVENTS), min_size=n, max_size=n)),
            target_id=draw(st.lists(st.sampled_from(["ra", "rb", None]), min_size=n, max_size=n)),
            dose_mj_cm2=draw(st.lists(st.sampled_from([0.5, 10.0, 25.0]), min_size=n, max_size=n)),
        ),
        "ra": frame(
            draw(stamps(50)),
            irradiance_uw_cm2=draw(st.lists(st.floats(0, 5000), min_size=50, max_size=50)),
        ),
        "rb": frame(
            draw(stamps(50)),
            irradiance_uw_cm2=draw(st.lists(st.floats(0, 5000), min_size=50, max_size=50)),
        ),
    }


@SETTINGS
@given(ts=stamps(200), period_s=st.sampled_from([1, 60]))
def test_completeness_is_between_zero_and_one(ts: list[int], period_s: int) -> None:
    q = device_quality(frame(ts), WINDOW, period_s * 1000, DeviceBookkeeping())
    assert q["completeness"] is not None and 0.0 <= q["completeness"] <= 1.0
    assert q["gap_count"] >= 0 and q["longest_gap_s"] >= 0.0
    assert q["received"] == sum(WINDOW.start_ms <= t < WINDOW.end_ms for t in ts)


@SETTINGS
@given(frames=all_frames(), seed=st.integers(0, 2**32 - 1))
def test_shuffled_rows_give_the_same_metrics(frames: dict[str, pd.DataFrame], seed: int) -> None:
    rng = np.random.default_rng(seed)
    shuffled = {
        k: f.iloc[rng.permutation(len(f))].reset_index(drop=True) for k, f in frames.items()
    }
    before = compute_trial_metrics(SPEC, frames, {}, WINDOW)
    after = compute_trial_metrics(SPEC, shuffled, {}, WINDOW)
    assert_matches(after, before)
    assert_matches(before, after)


@SETTINGS
@given(frames=all_frames())
def test_a_rain_stream_against_itself_agrees_perfectly(frames: dict[str, pd.DataFrame]) -> None:
    frames["rg-r"] = frames["rg-d"].copy()
    rain = compute_trial_metrics(SPEC, frames, {}, WINDOW)["comparisons"][0]["metrics"]
    assert rain["pearson_r"] is None or abs(rain["pearson_r"] - 1.0) < 1e-12
    if rain["paired_minutes"]:
        assert rain["daily_bias_mm"] == 0.0 and rain["daily_rmse_mm"] == 0.0
    assert rain["total_ratio"] in (None, 1.0)
    assert rain["far"] in (None, 0.0) and rain["pod"] in (None, 1.0)
    assert rain["pct_within_tolerance"] in (None, 100.0)
    assert rain["median_rel_error_pct"] in (None, 0.0)


@SETTINGS
@given(frames=all_frames())
def test_a_lift_log_against_itself_has_full_recall_and_precision(
    frames: dict[str, pd.DataFrame],
) -> None:
    frames["lm"] = frames["lc"].copy()
    lift = compute_trial_metrics(SPEC, frames, {}, WINDOW)["comparisons"][2]["metrics"]
    if lift["tp"] + lift["fn"] > 0:
        assert lift["recall"] == 1.0 and lift["precision"] == 1.0 and lift["f1"] == 1.0
    assert lift["fn"] == 0 and lift["fp"] == 0
    assert lift["detection_delay_p95_s"] in (None, 0.0)


# --- methodology v2 (METRICS-v2.md) ---------------------------------------------------------

EXCLUSIONS = [
    {"id": "x-a", "start": "2026-11-01T00:20:00+08:00", "end": "2026-11-01T00:35:00+08:00",
     "devices": ["rg-d", "ct", "lm", "ra"], "reason": "maintenance", "approved_by": "assessor"},
    {"id": "x-b", "start": "2026-11-01T01:10:00+08:00", "end": "2026-11-01T01:12:30+08:00",
     "devices": "all", "reason": "power cut", "approved_by": "assessor"},
]  # fmt: skip
SPEC_X = parse_trial_spec(
    {**SPEC.model_dump(mode="json"), "trial": {**SPEC.trial.model_dump(mode="json"),
                                               "exclusions": EXCLUSIONS}}
)  # fmt: skip


def _outside_exclusions(device_id: str, frame: pd.DataFrame) -> pd.DataFrame:
    keep = np.ones(len(frame), dtype=bool)
    for x in SPEC_X.trial.exclusions_of(device_id):
        keep &= ~((frame["ts_ms"] >= x.start_ms) & (frame["ts_ms"] < x.end_ms)).to_numpy()
    return frame[keep].reset_index(drop=True)


@SETTINGS
@given(frames=all_frames())
def test_readings_inside_exclusion_windows_do_not_change_any_metric(
    frames: dict[str, pd.DataFrame],
) -> None:
    with_readings = compute_trial_metrics(SPEC_X, frames, {}, WINDOW)
    without = {k: _outside_exclusions(k, f) for k, f in frames.items()}
    assert_matches(compute_trial_metrics(SPEC_X, without, {}, WINDOW), with_readings)
    for device_id, quality in with_readings["quality"].items():
        assert quality["received"] == len(WINDOW.clip(without[device_id]))
        c = quality["completeness"]
        assert c is None or 0.0 <= c <= 1.0
    assert with_readings["quality"]["rg-d"]["expected"] == 120 - 15 - 3  # 2.5 min -> 2 slots


@SETTINGS
@given(frames=all_frames())
def test_exclusions_outside_the_window_change_nothing(frames: dict[str, pd.DataFrame]) -> None:
    later = [{**x, "start": "2026-11-02T00:00:00+08:00", "end": "2026-11-02T01:00:00+08:00"}
             for x in EXCLUSIONS]  # fmt: skip
    spec = parse_trial_spec(
        {**SPEC.model_dump(mode="json"), "trial": {**SPEC.trial.model_dump(mode="json"),
                                                   "exclusions": later}}
    )  # fmt: skip
    assert compute_trial_metrics(spec, frames, {}, WINDOW) == compute_trial_metrics(
        SPEC, frames, {}, WINDOW
    )


@SETTINGS
@given(
    rain=st.lists(st.sampled_from([0.0, 0.0, 0.01, 0.05, 0.2, 1.0]), min_size=40, max_size=80),
    lag=st.integers(-10, 10),
)
def test_a_shifted_copy_of_the_reference_gives_its_clock_lag(rain: list[float], lag: int) -> None:
    from analytics.rain_scales import clock_lag_min

    values = np.array(rain)
    if len(set(rain)) < 2 or len(set(rain[10:-10])) < 2:
        return  # constant series: no lag is defined
    bins = np.arange(values.size, dtype=np.int64)
    found = clock_lag_min(bins + lag, 60 * values, bins, 60 * values)
    assert found == lag


@SETTINGS
@given(
    scores=st.lists(st.sampled_from([36.0, 36.5, 37.0, 37.5, 38.0]), min_size=1, max_size=30),
    flags=st.lists(st.booleans(), min_size=30, max_size=30),
)
def test_roc_area_is_a_probability_and_flips_with_the_score(
    scores: list[float], flags: list[bool]
) -> None:
    from analytics.fever_screener import roc_auc

    s, pos = np.array(scores), np.array(flags[: len(scores)])
    auc = roc_auc(s, pos)
    if pos.all() or not pos.any():
        assert auc is None
        return
    assert auc is not None and 0.0 <= auc <= 1.0
    flipped = roc_auc(-s, pos)
    assert flipped is not None and abs(auc + flipped - 1.0) < 1e-12


@SETTINGS
@given(frames=all_frames())
def test_v2_rates_are_inside_their_wilson_intervals(frames: dict[str, pd.DataFrame]) -> None:
    metrics = compute_trial_metrics(SPEC_X, frames, {}, WINDOW)
    fever, lift = metrics["comparisons"][1]["metrics"], metrics["comparisons"][2]["metrics"]
    for block, key in ((fever, "ppv"), (fever, "npv"), (lift, "recall"), (lift, "precision")):
        value, low, high = block[key], block[f"{key}_ci_low"], block[f"{key}_ci_high"]
        assert (value is None) == (low is None) == (high is None)
        if value is not None:
            assert low - 1e-12 <= value <= high + 1e-12
    assert fever["n_febrile"] + fever["n_afebrile"] == fever["n_pairs"]
    if fever["bias_ci_low_c"] is not None:
        assert fever["bias_ci_low_c"] <= fever["bias_c"] <= fever["bias_ci_high_c"]
