"""`innotrial ingest` start-up errors, `readings import|export` and `dead-letters`."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from innotrial.cli import cli
from registry.dead_letters import DeadLetterRecord, add_dead_letters
from tests.ingest.conftest import TrialEnv, apply_doc, trial_doc
from tests.services import env_without_proxies, free_port, running_mosquitto

INNOTRIAL = str(Path(sys.executable).parent / "innotrial")


def _run(args: list[str], env: TrialEnv, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    environ = env_without_proxies() | {"INNOTRIAL_DATABASE_URL": env.database_url,
                                       "INNOTRIAL_DATA_DIR": str(tmp_path)}
    return subprocess.run([INNOTRIAL, *args], env=environ, capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)


@pytest.mark.parametrize(
    ("args", "key"),
    [
        (["--store", "postgres://nope"], "store_url"),
        (["--store", "sqlite://relative.db"], "store_url"),
        (["--broker", "http://127.0.0.1:1883"], "broker_url"),
        (["--broker", "mqtt://127.0.0.1:notaport"], "broker_url"),
    ],
)
def test_malformed_urls_exit_2_naming_the_key(
    args: list[str], key: str, make_env: Callable[..., TrialEnv], tmp_path: Path
) -> None:
    env = make_env({"gw-x": ["dev-x"]})
    result = _run(["ingest", *args], env, tmp_path)
    assert result.returncode == 2, result.stderr
    assert key in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_broker_exits_1_with_a_clear_message(
    make_env: Callable[..., TrialEnv], tmp_path: Path
) -> None:
    env = make_env({"gw-x": ["dev-x"]})
    result = _run(["ingest", "--broker", f"mqtt://127.0.0.1:{free_port()}",
                   "--store", env.store_url], env, tmp_path)
    assert result.returncode == 1, result.stderr
    assert "cannot connect" in result.stderr and "Traceback" not in result.stderr


def _invoke(env: TrialEnv, args: list[str]) -> str:
    runner = CliRunner()
    result = runner.invoke(cli, args, env={"INNOTRIAL_DATABASE_URL": env.database_url,
                                           "INNOTRIAL_STORE_URL": env.store_url},
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


T0 = 1_764_201_600_000  # 2025-11-27T00:00:00Z
IMPORT_CSV = f"""ts_ms,rain_mm,battery_v,rssi_dbm
{T0 + 1000},0.2,3.6,
{T0 + 2000},0,,-80
{T0 + 3000},wet,3.6,
{T0 + 4000},150,3.6,
{T0 + 5000},0.4,3.5,-70.5
{T0 + 1000},0.2,3.6,
"""


def test_import_then_export_in_every_format(
    make_env: Callable[..., TrialEnv], tmp_path: Path, any_store_url: str
) -> None:
    env = make_env({"gw-i": ["dev-i1", "dev-i2"]}, any_store_url)
    source = tmp_path / "logger.csv"
    source.write_text(IMPORT_CSV)
    out = _invoke(env, ["readings", "import", env.trial_id, "--device-id", "dev-i1", str(source)])
    assert out.strip() == "rows=6 stored=3 duplicates=1 rejected=2"
    dead = json.loads(_invoke(env, ["dead-letters", "--format", "json"]))
    assert sorted(d["reason"] for d in dead) == ["out_of_range", "type_mismatch"]
    assert {d["source"] for d in dead} == {"import"}
    assert {d["gateway_id"] for d in dead} == {"gw-i"}

    text = _invoke(env, ["readings", "export", env.trial_id])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["ts_ms", "device_id", "rain_mm", "battery_v", "rssi_dbm"]
    assert rows[1:] == [[str(T0 + 1000), "dev-i1", "0.2", "3.6", ""],
                        [str(T0 + 2000), "dev-i1", "0.0", "", "-80.0"],
                        [str(T0 + 5000), "dev-i1", "0.4", "3.5", "-70.5"]]

    lines = _invoke(env, ["readings", "export", env.trial_id, "--device-id", "dev-i1",
                          "--start-ms", str(T0 + 2000), "--end-ms", str(T0 + 5000), "--format", "json"])
    assert [json.loads(line) for line in lines.splitlines()] == [
        {"ts_ms": T0 + 2000, "device_id": "dev-i1", "rain_mm": 0.0, "rssi_dbm": -80.0}]

    target = tmp_path / "out.parquet"
    _invoke(env, ["readings", "export", env.trial_id, "--format", "parquet", "--out", str(target)])
    table = pq.read_table(target)
    assert table.column_names == ["ts_ms", "device_id", "rain_mm", "battery_v", "rssi_dbm"]
    assert table.column("ts_ms").to_pylist() == [T0 + 1000, T0 + 2000, T0 + 5000]
    assert table.column("battery_v").to_pylist() == [3.6, None, 3.5]


def test_import_of_two_events_in_one_second_stores_both_and_exports_both(
    make_env: Callable[..., TrialEnv], tmp_path: Path, any_store_url: str
) -> None:
    """A lift controller log with 1 s resolution: fault_door and out_of_service in one second."""
    env = make_env({"gw-i": ["dev-i1"]}, any_store_url)
    apply_doc(env.registry, trial_doc("t-lift", {"gw-l": ["lc-1"]}, profile="lift_controller_log"))
    source = tmp_path / "controller.csv"
    source.write_text(f"ts_ms,event_type\n{T0},fault_door\n{T0},out_of_service\n{T0 + 60_000},in_service\n")
    out = _invoke(env, ["readings", "import", "t-lift", "--device-id", "lc-1", str(source)])
    assert out.strip() == "rows=3 stored=3 duplicates=0 rejected=0"
    again = _invoke(env, ["readings", "import", "t-lift", "--device-id", "lc-1", str(source)])
    assert again.strip() == "rows=3 stored=0 duplicates=3 rejected=0"
    rows = list(csv.reader(io.StringIO(_invoke(env, ["readings", "export", "t-lift"]))))
    assert sorted(rows[1:]) == [[str(T0), "lc-1", "fault_door"], [str(T0), "lc-1", "out_of_service"],
                                [str(T0 + 60_000), "lc-1", "in_service"]]


def test_import_refuses_out_of_bounds_cells_row_by_row(
    make_env: Callable[..., TrialEnv], tmp_path: Path
) -> None:
    env = make_env({"gw-i": ["dev-i1"]})
    source = tmp_path / "logger.csv"
    source.write_text(f"ts_ms,rain_mm\n{2**63},0.1\n5,0.1\n{T0},nan\n{T0},inf\n{T0},{'9' * 5000}\n"
                      f"{T0 + 1},0.3\n")
    out = _invoke(env, ["readings", "import", env.trial_id, "--device-id", "dev-i1", str(source)])
    assert out.strip() == "rows=6 stored=1 duplicates=0 rejected=5"
    dead = json.loads(_invoke(env, ["dead-letters", "--format", "json"]))
    assert sorted(d["reason"] for d in dead) == ["bad_schema", "bad_schema", "type_mismatch",
                                                  "type_mismatch", "type_mismatch"]


def test_dead_letters_lists_and_filters(make_env: Callable[..., TrialEnv]) -> None:
    env = make_env({"gw-d": ["dev-d"]})
    with env.registry.session() as session:
        add_dead_letters(session, [
            DeadLetterRecord(1_000, "bad_json", "not JSON", topic="t", gateway_id="gw-d",
                             payload_excerpt="\\xff"),
            DeadLetterRecord(2_000, "unknown_device", "nope", gateway_id="gw-d", device_id="x"),
            DeadLetterRecord(3_000, "bad_json", "other gateway", gateway_id="gw-e"),
        ])
    table = _invoke(env, ["dead-letters", "--gateway-id", "gw-d"])
    assert "unknown_device" in table and "bad_json" in table and "gw-e" not in table
    assert table.strip().endswith("2 dead letter(s)")
    rows = json.loads(_invoke(env, ["dead-letters", "--reason", "bad_json", "--format", "json"]))
    assert [r["detail"] for r in rows] == ["other gateway", "not JSON"]


def test_broker_refusing_the_connection_exits_2(
    make_env: Callable[..., TrialEnv], tmp_path: Path
) -> None:
    env = make_env({"gw-x": ["dev-x"]})
    with running_mosquitto(tmp_path / "closed", anonymous=False) as broker:
        result = _run(["ingest", "--broker", broker.url, "--store", env.store_url], env, tmp_path)
    assert result.returncode == 2, result.stderr
    assert "connection refused" in result.stderr and "Traceback" not in result.stderr
