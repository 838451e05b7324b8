"""Broker down for a while under load: every reading arrives once, in per-device seq order."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.buffer import Buffer
from gateway.drivers.simulator.driver import simulate
from tests.gateway.conftest import GatewayThread, gateway_config
from tests.services import Mosquitto, running_mosquitto

OUTAGE_S = float(os.environ.get("INNOTRIAL_TEST_OUTAGE_S", "60"))
DAY_MS = 86_400_000


def _expected(buffer_path: Path, devices: list[dict]) -> set[tuple[str, int]]:
    buffer = Buffer(buffer_path)
    try:
        keys = set()
        for device in devices:
            state = buffer.load_state(device["id"])
            readings = simulate(
                device["profile"],
                device["settings"],
                state["start_ms"],
                state["next_ms"],
                device["id"],
            )
            keys |= {(r.device_id, r.ts_ms) for r in readings}
        return keys
    finally:
        buffer.close()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A private broker for this test (it is stopped and restarted); tests/services.py keeps
    root's mosquitto from dropping privileges, so its persistence works in pytest's tmp dir."""
    with running_mosquitto(tmp_path / "mosquitto") as mosquitto:
        yield mosquitto


@pytest.mark.slow
def test_broker_outage_loses_nothing(broker: Mosquitto, tmp_path: Path, collector_factory) -> None:
    start_ms = int(time.time() * 1000) - DAY_MS
    devices = [
        {
            "id": f"uvr-{i}",
            "profile": "uv_radiometer",
            "driver": "simulator",
            "settings": {"seed": i, "speed": 50.0, "start": start_ms, "dropout_rate": 0.01},
        }
        for i in range(2)
    ]  # 2 devices x 50 readings/s = 100 readings/s
    config = gateway_config(
        broker.url,
        tmp_path / "buf.db",
        devices,
        batch={"max_readings": 20, "max_delay_ms": 200},
        shutdown_drain_s=30,
    )
    collector = collector_factory(broker.port, config.gateway_id)
    with GatewayThread(config) as gw:
        assert collector.wait_for(lambda c: len(c.messages) > 20, 30)
        collector.stop()  # its persistent session stays on the broker
        broker.stop()
        time.sleep(OUTAGE_S)
        assert not gw.stats.publisher.connected.is_set()
        assert (tmp_path / "mosquitto" / "mosquitto.db").exists(), "the broker saved its sessions"
        broker.start()
        assert gw.stats.publisher.connected.wait(30)
        time.sleep(3)
        # the subscriber comes back only after the gateway drained its backlog: the broker
        # must have queued everything for its restored session
        collector.start()
    expected = _expected(tmp_path / "buf.db", devices)
    assert len(expected) > 100 * OUTAGE_S * 0.9
    arrived = collector.wait_for(lambda c: c.reading_keys() >= expected, 120)
    missing = expected - collector.reading_keys()
    report = collector.seq_report()
    gaps = {
        d: sorted(set(range(1, max(o) + 1)) - set(o))[:10] for d, o in report["first_order"].items()
    }
    left = Buffer(tmp_path / "buf.db")
    depth = left.depth()
    left.close()
    assert arrived, (
        f"{len(missing)} readings missing, seq gaps {gaps}, gateway buffer depth {depth}"
    )
    assert collector.reading_keys() == expected
    for device in devices:
        order = report["first_order"][device["id"]]
        assert order == list(range(1, len(order) + 1)), "seqs arrive in order, without gaps"
    print(f"readings {len(expected)}, MQTT-level duplicates {report['mqtt_duplicates']}")
