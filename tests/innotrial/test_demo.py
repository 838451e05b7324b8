"""The README's first command, `scripts/demo`, with `--minutes 30 --exit`: the whole system,
end to end, as a newcomer runs it (scripts/demo installs into ./.venv, then runs the demo)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FAMILIES = {
    "t-demo-rain": "rain_gauge",
    "t-demo-fever": "fever_screener",
    "t-demo-lift": "lift",
    "t-demo-uv": "uv_robot",
}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path, float]:
    data_dir = tmp_path_factory.mktemp("demo-data")
    env = {**os.environ, "INNOTRIAL_DATA_DIR": str(data_dir)}
    began = time.monotonic()
    result = subprocess.run(
        [str(REPO / "scripts" / "demo"), "--minutes", "30", "--exit"],
        capture_output=True, text=True, env=env, timeout=600, check=False, cwd=data_dir,
    )
    seconds = time.monotonic() - began
    print(f"scripts/demo --minutes 30 --exit took {seconds:.1f} s")
    return result, data_dir, seconds


def test_demo_exits_cleanly_and_prints_where_things_are(demo_run) -> None:
    result, _, _ = demo_run
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert re.search(r"dashboard\s+http://127\.0\.0\.1:\d+/", result.stdout)
    assert re.search(r"demo ready in \d+\.\d s", result.stdout)
    assert "Traceback" not in result.stderr


def test_demo_builds_one_report_per_family_with_differing_verdicts(demo_run) -> None:
    result, data_dir, _ = demo_run
    verdicts = dict(re.findall(r"^(t-demo-\w+)\s+verdict (\w+)", result.stdout, re.M))
    assert set(verdicts) == set(FAMILIES)
    assert {"PASS", "FAIL"} <= set(verdicts.values())
    for trial_id, family in FAMILIES.items():
        report_dir = data_dir / "reports" / trial_id / "v1"
        assert (report_dir / "report.html").stat().st_size > 10_000
        with zipfile.ZipFile(report_dir / "package.zip") as package:
            metrics = json.loads(package.read("metrics.json"))
        assert metrics["trial_id"] == trial_id
        assert metrics["verdict"].upper() == verdicts[trial_id]
        comparison = metrics["comparisons"][0]
        assert comparison["family"] == family
        computed = [v for v in comparison["metrics"].values() if v is not None]
        assert len(computed) >= 3, comparison
        for device_quality in metrics["quality"].values():
            assert device_quality["received"] > 0
        published = data_dir / "public" / trial_id / "v1" / "package.zip"  # the demo publishes
        assert published.read_bytes() == (report_dir / "package.zip").read_bytes()


@pytest.mark.slow
def test_demo_broker_restarted_mid_run_loses_nothing(tmp_path: Path) -> None:
    """amqtt restarted mid-run forgets every session, queue and retained message; the gateways'
    end-to-end confirmations make them re-send what it dropped."""
    from innotrial.demo.scenario import TRIALS
    from telemetry.store import open_store

    env = {**os.environ, "INNOTRIAL_DATA_DIR": str(tmp_path)}
    innotrial = str(Path(sys.executable).parent / "innotrial")
    result = subprocess.run(
        [innotrial, "demo", "--minutes", "10", "--speed", "60", "--exit", "--no-pdf",
         "--broker-engine", "amqtt", "--restart-broker-at", "4"],
        capture_output=True, text=True, env=env, timeout=600, check=False, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "restarting the broker at simulated minute" in result.stdout
    assert "did not arrive" not in result.stdout, result.stdout[-3000:]
    store = open_store(f"sqlite:///{tmp_path / 'readings.db'}")
    try:
        for device in [d.id for trial in TRIALS for d in trial.devices]:
            stats = store.device_stats(device)
            assert stats.seq_min in (None, 1) and stats.seq_missing == 0, (device, stats)
    finally:
        store.close()
