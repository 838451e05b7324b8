"""The runner against a real SQLite store: same metrics as from the frames directly."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics import compute_trial_metrics
from analytics.runner import analyze_trial, load_frames, trial_window
from telemetry.store.sqlite import SQLiteStore
from tests.analytics.golden_cases import GOLDEN_DIR, assert_matches, case_folders, load_case
from tests.analytics.store_helpers import frame_readings, write_frames


@pytest.mark.parametrize("folder", case_folders(), ids=lambda p: p.name)
def test_runner_on_sqlite_matches_the_pure_computation(folder: Path, tmp_path: Path) -> None:
    case = load_case(folder)
    with SQLiteStore(tmp_path / "readings.db") as store:
        write_frames(store, case.frames)
        metrics = analyze_trial(case.spec, store, {}, now_ms=case.window.end_ms + 86_400_000)
    direct = compute_trial_metrics(case.spec, case.frames, {}, case.window)
    assert metrics["window"] == {"start_ms": case.window.start_ms, "end_ms": case.window.end_ms}
    assert_matches(metrics["comparisons"], direct["comparisons"])
    assert_matches(metrics["verdict"], direct["verdict"])
    for device_id, quality in direct["quality"].items():
        assert_matches(metrics["quality"][device_id], quality)


def test_runner_bookkeeping_and_running_trial(tmp_path: Path) -> None:
    case = load_case(GOLDEN_DIR / "rain_gauge")
    batch = frame_readings("rg-d", case.frames["rg-d"])
    with SQLiteStore(tmp_path / "readings.db") as store:
        # seqs 1, 2, 4: one message missing; the first two readings redelivered once.
        store.write(batch, [("rg-d", 1), ("rg-d", 2), ("rg-d", 4)])
        store.write(batch[:2], [("rg-d", 1)])
        write_frames(store, {k: v for k, v in case.frames.items() if k != "rg-d"})
        now_ms = case.window.start_ms + 240_000 + 30_000  # 4.5 minutes into the trial
        metrics = analyze_trial(case.spec, store, {"rg-d": 7}, now_ms=now_ms)
    assert metrics["window"]["end_ms"] == now_ms
    q = metrics["quality"]["rg-d"]
    assert (q["duplicates"], q["rejected"], q["seq_missing"]) == (2, 7, 1)
    assert q["received"] == 6  # t = 0, 60, 120, 150, 180, 240
    assert q["expected"] == 4  # floor(270 s / 60 s)
    assert q["completeness"] == 1.0
    assert metrics["quality"]["rg-r"]["rejected"] == 0
    assert metrics["comparisons"][0]["metrics"]["paired_minutes"] == 5


def test_window_before_start_is_empty() -> None:
    case = load_case(GOLDEN_DIR / "lift")
    window = trial_window(case.spec, now_ms=case.window.start_ms - 1)
    assert window.start_ms == window.end_ms == case.window.start_ms


def test_load_frames_reads_only_needed_columns(tmp_path: Path) -> None:
    case = load_case(GOLDEN_DIR / "quality")
    with SQLiteStore(tmp_path / "readings.db") as store:
        write_frames(store, case.frames)
        frames = load_frames(case.spec, store, case.window)
    assert list(frames["rg-a"].columns) == ["ts_ms", "received_ms", "rain_mm"]
    assert list(frames["rg-c"].columns) == ["ts_ms", "received_ms"]  # in no comparison
    assert frames["rg-a"]["ts_ms"].dtype == "int64" and len(frames["rg-a"]) == 5
