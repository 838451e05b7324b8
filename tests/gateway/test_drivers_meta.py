"""Every driver folder follows the convention, and every test case in it passes (Telegraf style)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import paho.mqtt.publish as publish
import pytest
import yaml
from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
from pymodbus.server import ModbusTcpServer

from gateway.config import parse_config
from gateway.drivers import DRIVERS
from gateway.drivers.simulator.driver import simulate
from telemetry.settings import ConfigError
from tests.gateway.drivers.harness import as_wire, collect, make_driver
from tests.services import Mosquitto, free_port

DRIVERS_DIR = Path(__file__).parents[2] / "gateway" / "drivers"
CASES = sorted(
    (name, case.name) for name in DRIVERS for case in (DRIVERS_DIR / name / "testcases").iterdir()
)


def _wrap(devices: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "gateway_id": "gw-meta",
        "broker_url": "mqtt://127.0.0.1:1883",
        "buffer_path": "/nonexistent/buffer.db",
        "devices": devices,
    }


def test_every_folder_is_registered() -> None:
    folders = {p.name for p in DRIVERS_DIR.iterdir() if p.is_dir() and not p.name.startswith("_")}
    assert folders == set(DRIVERS)


@pytest.mark.parametrize("name", sorted(DRIVERS))
def test_driver_folder_convention(name: str) -> None:
    folder = DRIVERS_DIR / name
    for required in ("driver.py", "config.py", "README.md", "sample.yaml"):
        assert (folder / required).is_file(), f"{name} lacks {required}"
    readme = (folder / "README.md").read_text()
    assert readme.startswith(f"# {name}") and "## Settings" in readme
    devices = yaml.safe_load((folder / "sample.yaml").read_text())
    config = parse_config(_wrap(devices), f"{name}/sample.yaml")
    assert {d.driver for d in config.devices} == {name}
    kinds = {
        ("error" if (c / "error.txt").exists() else "expected")
        for c in (folder / "testcases").iterdir()
    }
    assert kinds == {"error", "expected"}, f"{name} needs both kinds of test case"


def _run_case(name: str, case_dir: Path, mosquitto: Mosquitto, tmp_path: Path) -> list[dict]:
    cfg = yaml.safe_load((case_dir / "config.yaml").read_text())
    profile, settings = cfg["profile"], dict(cfg["settings"])
    if name == "simulator":
        window = cfg["window"]
        return as_wire(
            simulate(
                profile,
                settings,
                window["start_ms"],
                window["end_ms"],
                cfg.get("device_id", "dev-1"),
            )
        )
    expected_count = len((case_dir / "expected.jsonl").read_text().splitlines())
    if name == "csv_tail":
        shutil.copy(case_dir / settings["path"], tmp_path / "input.csv")
        settings.update(path=str(tmp_path / "input.csv"), poll_interval_s=0.05)
    if name == "mqtt_bridge":
        settings.update(broker_url=mosquitto.url, topic=f"case/{uuid.uuid4().hex[:8]}")
    if name in ("http_push", "modbus_tcp"):
        settings["port"] = free_port()
    driver, ctx = make_driver(name, profile, settings)
    feeders = {"http_push": _post, "modbus_tcp": _modbus, "mqtt_bridge": _mqtt}
    feeder = feeders.get(name)

    async def scenario() -> list:
        task = asyncio.create_task(feeder(settings, cfg["input"], mosquitto)) if feeder else None
        try:
            return await collect(driver, ctx, lambda r: len(r) >= expected_count)
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    readings = as_wire(asyncio.run(scenario()))
    return (
        [{k: v for k, v in r.items() if k != "ts_ms"} for r in readings]
        if name == "modbus_tcp"
        else readings
    )


async def _post(settings: dict, bodies: list, _m: Mosquitto) -> None:
    await asyncio.sleep(0.3)
    async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
        for body in bodies:
            await http.post(f"http://127.0.0.1:{settings['port']}/readings", json=body)


async def _mqtt(settings: dict, bodies: list, mosquitto: Mosquitto) -> None:
    await asyncio.sleep(1.0)
    for body in bodies:
        await asyncio.to_thread(
            publish.single,
            settings["topic"],
            orjson.dumps(body),
            qos=1,
            hostname="127.0.0.1",
            port=mosquitto.port,
        )


async def _modbus(settings: dict, registers: dict, _m: Mosquitto) -> None:
    tables = {}
    for table in ("holding", "input"):
        values = [0] * 100
        for address, value in registers.get(table, {}).items():
            values[int(address)] = value
        tables[table] = ModbusSequentialDataBlock(1, values)  # pymodbus maps address a to a + 1
    device = ModbusDeviceContext(hr=tables["holding"], ir=tables["input"])
    server = ModbusTcpServer(
        ModbusServerContext(devices={1: device}, single=False),
        address=("127.0.0.1", settings["port"]),
    )
    try:
        await server.serve_forever()
    finally:
        await server.shutdown()


@pytest.mark.parametrize(("name", "case"), CASES)
def test_driver_case(name: str, case: str, mosquitto: Mosquitto, tmp_path: Path) -> None:
    case_dir = DRIVERS_DIR / name / "testcases" / case
    cfg = yaml.safe_load((case_dir / "config.yaml").read_text())
    device = {
        "id": cfg.get("device_id", "dev-1"),
        "profile": cfg["profile"],
        "driver": name,
        "settings": cfg["settings"],
    }
    if (case_dir / "error.txt").exists():
        with pytest.raises(ConfigError) as info:
            parse_config(_wrap([device]), "case")
        assert (
            f"{info.value.key}: {info.value.problem}"
            == (case_dir / "error.txt").read_text().strip()
        )
        return
    parse_config(_wrap([device]), "case")
    expected = [json.loads(line) for line in (case_dir / "expected.jsonl").read_text().splitlines()]
    assert _run_case(name, case_dir, mosquitto, tmp_path) == expected


@pytest.mark.parametrize(
    "example", sorted((DRIVERS_DIR.parents[1] / "examples").glob("gateway-*.yaml")), ids=str
)
def test_example_configs_validate(example: Path) -> None:
    from gateway.config import load_config

    assert load_config(example).devices
