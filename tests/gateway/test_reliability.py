"""SIGKILL while draining a large backlog, and a backlog beyond paho's 65,535 message ids."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from gateway.buffer import Buffer
from telemetry.wire import Reading
from tests.gateway.conftest import GatewayThread, gateway_config
from tests.services import Mosquitto

BASE_MS = 1_750_000_000_000


def _prefill(path: Path, devices: list[str], per_device: int, max_readings: int) -> int:
    buffer = Buffer(path, max_readings=max_readings)
    try:
        for device in devices:
            readings = [
                Reading(device, BASE_MS + i * 60_000, {"rain_mm": (i % 7) / 10})
                for i in range(per_device)
            ]
            buffer.add(device, readings, now_ms=0)
        buffer.seal(0, now_ms=1, force=True)
        return buffer.depth()
    finally:
        buffer.close()


def _devices(names: list[str]) -> list[dict]:
    return [{"id": n, "profile": "rain_gauge", "driver": "fake", "settings": {}} for n in names]


def _start(config_file: Path, log_file: Path) -> subprocess.Popen[bytes]:
    code = "from innotrial.cli import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, "gateway", "run", "--config", str(config_file)],
        stdout=log_file.open("ab"),
        stderr=subprocess.STDOUT,
    )


@pytest.mark.slow
def test_sigkill_while_draining_loses_nothing(
    fresh_mosquitto: Mosquitto, tmp_path: Path, collector_factory
) -> None:
    names = ["rg-a", "rg-b"]
    messages = _prefill(tmp_path / "buf.db", names, 100_000, max_readings=10)
    assert messages == 20_000
    data = {
        "gateway_id": "gw-kill",
        "broker_url": fresh_mosquitto.url,
        "buffer_path": str(tmp_path / "buf.db"),
        "devices": _devices(names),
        "max_inflight": 200,
    }
    config_file = tmp_path / "gateway.yaml"
    config_file.write_text(yaml.safe_dump(data))
    collector = collector_factory(fresh_mosquitto.port, "gw-kill")
    proc = _start(config_file, tmp_path / "gw.log")
    try:
        assert collector.wait_for(lambda c: len(c.messages) >= 3_000, 60)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        time.sleep(1)
        killed_at = len(collector.messages)
        probe = Buffer(tmp_path / "buf.db")
        depth_after_kill = probe.depth()
        probe.close()
        proc = _start(config_file, tmp_path / "gw.log")
        assert collector.wait_for(lambda c: len(c.reading_keys()) >= 200_000, 120)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert proc.returncode == 0
    keys = collector.reading_keys()
    assert len(keys) == 200_000
    assert keys == {(n, BASE_MS + i * 60_000) for n in names for i in range(100_000)}
    total_readings = sum(len(rs) for _d, _s, rs in collector.messages)
    report = collector.seq_report()
    assert sorted(report["first_order"]["rg-a"]) == list(range(1, 10_001))
    print(
        f"killed after {killed_at} messages, {depth_after_kill} left; MQTT-level duplicate messages "
        f"{report['mqtt_duplicates']}, duplicate readings {total_readings - 200_000}"
    )
    buffer = Buffer(tmp_path / "buf.db")
    assert buffer.depth() == 0
    buffer.close()


@pytest.mark.slow
def test_backlog_beyond_65535_message_ids(
    mosquitto: Mosquitto, tmp_path: Path, collector_factory
) -> None:
    names = ["rg-x"]
    assert _prefill(tmp_path / "buf.db", names, 70_000, max_readings=1) == 70_000
    config = gateway_config(mosquitto.url, tmp_path / "buf.db", _devices(names), max_inflight=1000)
    collector = collector_factory(mosquitto.port, config.gateway_id)
    with GatewayThread(config):
        assert collector.wait_for(lambda c: len(c.reading_keys()) >= 70_000, 180)
        time.sleep(1)
    assert len(collector.reading_keys()) == 70_000
    order = collector.seq_report()["first_order"]["rg-x"]
    assert order == list(range(1, 70_001))
