"""`innotrial gateway run | check | status` as a user runs them."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from paho.mqtt import publish

from telemetry.acks import encode_presence, presence_topic
from tests.gateway.conftest import Collector
from tests.services import Mosquitto, free_port, running_mosquitto

CLI = [sys.executable, "-c", "from innotrial.cli import main; main()", "gateway"]


def _cli(*args: str, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout_s)


def _write(tmp_path: Path, data: dict[str, Any] | str) -> Path:
    path = tmp_path / "gateway.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def _base(broker_url: str, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {
        "gateway_id": "gw-cli",
        "broker_url": broker_url,
        "buffer_path": str(tmp_path / "b.db"),
        "devices": [{"id": "rg-1", "profile": "rain_gauge", "driver": "fake", "settings": {}}],
        **extra,
    }


BROKEN = [
    ({"colour": "red"}, "colour: Extra inputs are not permitted"),
    (
        {
            "devices": [
                {
                    "id": "rg-1",
                    "profile": "rain_gauge",
                    "driver": "simulator",
                    "settings": {"seed": "x"},
                }
            ]
        },
        "devices.0.settings.seed: Input should be a valid integer",
    ),
    (
        {"devices": [{"id": "rg-1", "profile": "rain_gage", "driver": "simulator"}]},
        "devices.0.profile: Value error, unknown profile 'rain_gage'",
    ),
    (
        {
            "devices": [
                {"id": "fs-1", "profile": "fever_screener", "driver": "http_push", "settings": {}}
            ]
        },
        "devices.0.settings.port: Field required",
    ),
    (
        {"devices": [{"id": "rg-1", "profile": "rain_gauge", "driver": "modbus"}]},
        "devices.0.driver: Value error, unknown driver 'modbus'",
    ),
    ({"max_inflight": 100_000}, "max_inflight: Input should be less than or equal to 10000"),
    ({"password": 12}, "password: Input should be a valid string"),
    ({"gateway_id": "GW 1"}, "gateway_id: String should match pattern"),
]


@pytest.mark.parametrize(
    ("command", "change", "message"),
    [("check", *case) for case in BROKEN]
    + [("run", *case) for case in BROKEN[:2]]
    + [("status", *BROKEN[0])],
)
def test_broken_config_exits_2_naming_file_and_key(
    tmp_path: Path, command: str, change: dict, message: str
) -> None:
    path = _write(tmp_path, {**_base("mqtt://127.0.0.1:1", tmp_path), **change})
    result = _cli(command, "--config", str(path))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {path}: {message}")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_unreadable_and_invalid_yaml(tmp_path: Path) -> None:
    result = _cli("check", "--config", str(tmp_path / "missing.yaml"))
    assert result.returncode == 2 and "missing.yaml: (file): cannot read" in result.stderr
    path = _write(tmp_path, "gateway_id: gw\ndevices: [\n")
    result = _cli("check", "--config", str(path))
    assert result.returncode == 2 and "not valid YAML" in result.stderr


def test_check_passes_and_fails(mosquitto: Mosquitto, tmp_path: Path) -> None:
    ok = _cli("check", "--config", str(_write(tmp_path, _base(mosquitto.url, tmp_path))))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert re.search(r"^broker +ok ", ok.stdout, re.M) and re.search(
        r"^device rg-1 +ok ", ok.stdout, re.M
    )
    bad = _base(f"mqtt://127.0.0.1:{free_port()}", tmp_path)
    bad["devices"][0]["settings"] = {"fail_check": True}
    failed = _cli("check", "--config", str(_write(tmp_path, bad)))
    assert failed.returncode == 1
    assert re.search(r"^broker +FAIL ", failed.stdout, re.M)
    assert re.search(r"^device rg-1 +FAIL .*does not answer", failed.stdout, re.M)
    assert re.search(r"^clock +ok ", failed.stdout, re.M)


def test_check_reports_whether_ingest_is_online(tmp_path: Path) -> None:
    with running_mosquitto(tmp_path / "broker") as broker:
        path = _write(tmp_path, _base(broker.url, tmp_path))
        alone = _cli("check", "--config", str(path))
        assert alone.returncode == 0, alone.stdout + alone.stderr  # a warning, not a failure
        assert re.search(r"^ingest +WARN +no ingest worker online", alone.stdout, re.M)
        publish.single(presence_topic("ingest-a"), encode_presence("online"), qos=1,
                       retain=True, hostname="127.0.0.1", port=broker.port)
        publish.single(presence_topic("ingest-b"), encode_presence("offline"), qos=1,
                       retain=True, hostname="127.0.0.1", port=broker.port)
        online = _cli("check", "--config", str(path))
        assert online.returncode == 0, online.stdout + online.stderr
        assert re.search(r"^ingest +ok +1 ingest worker\(s\) online: ingest-a$", online.stdout,
                         re.M)
        puback = _cli("check", "--config", str(_write(tmp_path, _base(
            broker.url, tmp_path, delivery="puback"))))
        assert re.search(r"^ingest +ok +delivery: puback", puback.stdout, re.M)


def test_check_credentials(tmp_path: Path) -> None:
    passwords = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), "gw", "s3cret"], check=True)
    with running_mosquitto(
        tmp_path / "broker", anonymous=False, extra_conf=f"password_file {passwords}"
    ) as broker:
        good = _base(broker.url, tmp_path, username="gw", password="s3cret")
        assert _cli("check", "--config", str(_write(tmp_path, good))).returncode == 0
        wrong = _cli("check", "--config", str(_write(tmp_path, {**good, "password": "nope"})))
        assert wrong.returncode == 1 and "refused" in wrong.stdout
        assert "nope" not in wrong.stdout and "s3cret" not in wrong.stdout


def test_run_sigterm_then_status(mosquitto: Mosquitto, tmp_path: Path) -> None:
    readings = [{"ts_ms": 1_750_000_000_000 + i * 60_000, "rain_mm": 0.1} for i in range(30)]
    data = _base(
        mosquitto.url,
        tmp_path,
        batch={"max_readings": 10, "max_delay_ms": 100},
        status_interval_s=0.5,
    )
    data["gateway_id"] = "gw-sigterm"
    data["devices"][0]["settings"] = {"readings": readings, "per_batch": 5}
    path = _write(tmp_path, data)
    collector = Collector(mosquitto.port, "gw-sigterm").start()
    proc = subprocess.Popen(
        [*CLI, "run", "--config", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert collector.wait_for(lambda c: len(c.reading_keys()) == 30, 30)
        assert collector.wait_for(lambda c: len(c.statuses) >= 3, 30), "status is republished"
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, output
        assert collector.wait_for(
            lambda c: bool(c.statuses) and c.statuses[-1]["state"] == "offline", 10
        )
    finally:
        collector.stop()
        if proc.poll() is None:
            proc.kill()
    online = [s for s in collector.statuses if s["state"] == "online"]
    assert online and {"version", "buffer_messages", "oldest_unsent_age_s"} <= set(online[0])
    assert "stopped cleanly" in output
    status = _cli("status", "--config", str(path))
    assert status.returncode == 0
    assert "buffer depth: 0 messages" in status.stdout
    row = next(line for line in status.stdout.splitlines() if line.startswith("rg-1"))
    assert row.split() == ["rg-1", "3", "3", "0", "0"]
