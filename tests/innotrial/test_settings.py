"""Settings: file, environment and overrides; bad values name the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from telemetry.settings import ConfigError, load_settings


def test_defaults_put_everything_in_the_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("INNOTRIAL_DATA_DIR", raising=False)
    settings = load_settings()
    assert settings.broker_url == "mqtt://127.0.0.1:1883"
    assert (
        settings.effective_store_url == f"sqlite:///{tmp_path / 'innotrial-data' / 'readings.db'}"
    )
    assert settings.effective_database_url.endswith("innotrial-data/registry.db")


def test_environment_beats_file_and_flags_beat_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "innotrial.yaml"
    path.write_text(
        "store_url: sqlite:///from-file.db\nbroker_url: mqtt://file:1\ningest: {client_id: f}\n"
    )
    monkeypatch.setenv("INNOTRIAL_BROKER_URL", "mqtt://env:2")
    settings = load_settings(path)
    assert settings.store_url == "sqlite:///from-file.db"
    assert settings.broker_url == "mqtt://env:2"
    assert settings.ingest.client_id == "f"
    assert load_settings(path, broker_url="mqtt://flag:3").broker_url == "mqtt://flag:3"


@pytest.mark.parametrize(
    ("text", "env", "key"),
    [
        ("broker_url: http://x\n", {}, "broker_url"),
        ("no_such_key: 1\n", {}, "no_such_key"),
        ("ingest: {batch_max_readings: lots}\n", {}, "ingest.batch_max_readings"),
        ("", {"INNOTRIAL_LOG_LEVEL": "loud"}, "log_level"),
        ("- a list\n", {}, "(top level)"),
    ],
)
def test_bad_values_name_the_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str, env: dict[str, str], key: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert info.value.key == key


def test_command_line_exits_2_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("ingest: {batch_max_delay_ms: -5}\n")
    result = subprocess.run(
        [sys.executable, "-m", "innotrial", "--settings", str(path), "trial", "list"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "ingest.batch_max_delay_ms" in result.stderr
    assert "Traceback" not in result.stderr
