"""`innotrial analyze TRIAL_ID` end to end: registry + store on disk, real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from registry.apply import apply_trial
from registry.db import open_registry
from registry.models import DeadLetter
from telemetry.store.sqlite import SQLiteStore
from tests.analytics.golden_cases import GOLDEN_DIR, assert_matches, load_case
from tests.analytics.store_helpers import write_frames


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "INNOTRIAL_DATA_DIR": str(tmp_path),
        "INNOTRIAL_DATABASE_URL": f"sqlite:///{tmp_path / 'registry.db'}",
        "INNOTRIAL_STORE_URL": f"sqlite:///{tmp_path / 'readings.db'}",
    }
    return subprocess.run(
        [sys.executable, "-c", "from innotrial.cli import main; main()", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_analyze_prints_the_metrics_json(tmp_path: Path) -> None:
    case = load_case(GOLDEN_DIR / "lift")
    registry = open_registry(f"sqlite:///{tmp_path / 'registry.db'}")
    with registry.session() as session:
        apply_trial(session, case.spec)
        session.add_all(
            DeadLetter(received_ms=1, reason="out_of_range", detail="x", device_id="lm-1")
            for _ in range(3)
        )
    registry.close()
    with SQLiteStore(tmp_path / "readings.db") as store:
        write_frames(store, case.frames)
    result = _run(tmp_path, "analyze", "t-lift", "--now-ms", str(case.window.end_ms + 1))
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert result.stdout.startswith('{\n  "trial_id": "t-lift"')  # indent 2
    assert_matches(metrics, case.expected)
    assert metrics["quality"]["lm-1"]["rejected"] == 3
    assert metrics["quality"]["lc-1"]["rejected"] == 0
    assert metrics["methodology_version"] == "2"


def test_analyze_unknown_trial_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = _run(tmp_path, "analyze", "t-nope")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: unknown trial 't-nope'"
    assert "Traceback" not in result.stderr


def test_analyze_criterion_on_unknown_metric_exits_2(tmp_path: Path) -> None:
    case = load_case(GOLDEN_DIR / "lift")
    data = case.spec.model_dump(mode="json")
    data["trial"]["acceptance"] = [{"metric": "lift.recal", "op": ">=", "value": 0.9}]
    spec = type(case.spec).model_validate(data)
    registry = open_registry(f"sqlite:///{tmp_path / 'registry.db'}")
    with registry.session() as session:
        apply_trial(session, spec)
    registry.close()
    result = _run(tmp_path, "analyze", "t-lift")
    assert result.returncode == 2
    assert "lift.recal" in result.stderr and "recall" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_analyze_applies_the_trial_yaml_exclusion_windows(tmp_path: Path) -> None:
    case = load_case(GOLDEN_DIR / "v2_lift")
    registry = open_registry(f"sqlite:///{tmp_path / 'registry.db'}")
    with registry.session() as session:
        apply_trial(session, case.spec)
    registry.close()
    with SQLiteStore(tmp_path / "readings.db") as store:
        write_frames(store, case.frames)
    result = _run(tmp_path, "analyze", "t-lift-v2", "--now-ms", str(case.window.end_ms + 1))
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert [x["id"] for x in metrics["exclusions"]] == ["x-monitor-power", "x-typhoon"]
    assert_matches(metrics["comparisons"], case.expected["comparisons"])
    assert metrics["quality"]["lm-1"]["excluded_s"] == 12_400.0
