"""Gateway -> real Mosquitto -> real ingest: nothing lost even when the broker loses its state.

The broker is SIGKILLed and restarted with its persistence file deleted while a gateway
publishes simulated readings at high speed; only ingest's confirmations (issue #14) can make
the gateway re-send what the broker had acknowledged and then forgot.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gateway.buffer import Buffer
from gateway.config import GatewayConfig
from gateway.drivers.simulator.driver import simulate
from ingest.worker import IngestWorker
from telemetry.acks import acks_topic, decode_acks
from telemetry.store import open_store
from telemetry.wire import encode_readings_payload, readings_topic
from tests.gateway.conftest import GatewayThread, gateway_config
from tests.ingest.conftest import (
    REPO,
    TrialEnv,
    base_ts_ms,
    stored_count,
    wait_until,
    worker_config,
)
from tests.ingest.test_reliability import _ingest_process
from tests.services import Mosquitto, env_without_proxies, running_mosquitto

DAY_MS = 86_400_000
PERIOD_MS = 60_000  # rain_gauge
INGEST_OUTAGE_S = float(os.environ.get("INNOTRIAL_TEST_INGEST_OUTAGE_S", "60"))  # issue #14: a minute


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with running_mosquitto(tmp_path / "mosquitto") as mosquitto:
        yield mosquitto


def _devices(names: list[str]) -> list[dict]:
    start_ms = int(time.time() * 1000) - 30 * DAY_MS
    return [
        {"id": name, "profile": "rain_gauge", "driver": "simulator",
         "settings": {"seed": i, "speed": 3000.0, "start": start_ms, "dropout_rate": 0.0}}
        for i, name in enumerate(names)
    ]  # 50 readings per second and device


def _gateway(broker: Mosquitto, tmp_path: Path, gateway_id: str,
             names: list[str]) -> GatewayConfig:
    return gateway_config(
        broker.url, tmp_path / "buf.db", _devices(names), gateway_id=gateway_id,
        batch={"max_readings": 20, "max_delay_ms": 100},
        confirm_timeout_s=3.0, confirm_timeout_max_s=10.0, shutdown_drain_s=60,
    )


def _crash_broker_losing_state(broker: Mosquitto) -> None:
    broker.stop(signal.SIGKILL)
    (broker.data_dir / "mosquitto.db").unlink(missing_ok=True)
    broker.start()


def _assert_exactly_once(store_url: str, buffer_path: Path, devices: list[dict]) -> None:
    """Every simulated reading stored once, timestamps contiguous, seq_missing 0, buffer empty."""
    buffer = Buffer(buffer_path)
    try:
        assert buffer.depth() == 0 and buffer.stats().pending_readings == 0
        states = {d["id"]: buffer.load_state(d["id"]) for d in devices}
    finally:
        buffer.close()
    store = open_store(store_url)
    try:
        for device in devices:
            state = states[device["id"]]
            expected = simulate("rain_gauge", device["settings"], state["start_ms"],
                                state["next_ms"], device["id"])
            frame = store.read(device["id"], 0, 2**62)
            stamps = [int(ts) for ts in frame["ts_ms"]]
            assert stamps == [r.ts_ms for r in expected], f"{device['id']}: readings differ"
            assert all(b - a == PERIOD_MS for a, b in itertools.pairwise(stamps))
            stats = store.device_stats(device["id"])
            assert stats.seq_min == 1 and stats.seq_missing == 0, stats
    finally:
        store.close()


def _run_until(store_url: str, names: list[str], more: int) -> None:
    target = stored_count(store_url, names) + more
    wait_until(lambda: stored_count(store_url, names) >= target, 90, f"{more} more readings stored")


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_broker_sigkilled_and_state_deleted_loses_nothing(
    broker: Mosquitto, make_env: Callable[..., TrialEnv], tmp_path: Path,
    start_worker: Callable[..., IngestWorker], workers: int,
) -> None:
    names = ["rg-e1", "rg-e2", "rg-e3"]
    env = make_env({"gw-e2e": names})
    group = "ingest" if workers > 1 else None
    started = [start_worker(worker_config(broker, env, shared_group=group))
               for _ in range(workers)]
    config = _gateway(broker, tmp_path, "gw-e2e", names)
    with GatewayThread(config) as gw:
        _run_until(env.store_url, names, 1_500)
        _crash_broker_losing_state(broker)
        wait_until(lambda: gw.stats.publisher.connects >= 2, 30, "gateway reconnected")
        _run_until(env.store_url, names, 1_500)
    _assert_exactly_once(env.store_url, tmp_path / "buf.db", config.model_dump()["devices"])
    assert gw.stats.publisher.connects >= 2
    if workers > 1:
        assert all(w.totals.messages > 0 for w in started), "both workers took a share"


@pytest.mark.slow
def test_ingest_down_across_the_broker_crash_loses_nothing(
    broker: Mosquitto, make_env: Callable[..., TrialEnv], tmp_path: Path,
) -> None:
    names = ["rg-o1", "rg-o2"]
    env = make_env({"gw-down": names})
    log = tmp_path / "ingest.log"
    client_id = f"ingest-down-{time.monotonic_ns()}"
    worker = _ingest_process(broker, env, client_id, log)
    config = _gateway(broker, tmp_path, "gw-down", names)
    try:
        with GatewayThread(config) as gw:
            _run_until(env.store_url, names, 1_000)
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
            wait_until(lambda: not gw.stats.publisher.ingest_online.is_set(), 30, "will seen")
            _crash_broker_losing_state(broker)
            wait_until(lambda: gw.stats.publisher.connected.is_set(), 30, "gateway reconnected")
            stored = stored_count(env.store_url, names)
            time.sleep(INGEST_OUTAGE_S)  # the outage itself; nothing below depends on timing
            probe = Buffer(config.buffer_path)
            held = probe.stats()
            probe.close()
            assert held.waiting_for_ingest_since_ms is not None, "gateway holds back"
            assert held.messages > 0 and stored_count(env.store_url, names) == stored
            worker = _ingest_process(broker, env, client_id, log)
            assert gw.stats.publisher.ingest_online.wait(60)
            _run_until(env.store_url, names, 1_000)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0, log.read_text()[-3000:]
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    _assert_exactly_once(env.store_url, tmp_path / "buf.db", config.model_dump()["devices"])


@pytest.mark.slow
def test_ingest_killed_between_commit_and_confirmation_doubles_nothing(
    broker: Mosquitto, make_env: Callable[..., TrialEnv], tmp_path: Path,
) -> None:
    names = ["rg-k1", "rg-k2"]
    env = make_env({"gw-kill": names})
    log = tmp_path / "ingest.log"
    environ = env_without_proxies() | {
        "INNOTRIAL_DATABASE_URL": env.database_url, "INNOTRIAL_STORE_URL": env.store_url,
        "INNOTRIAL_BROKER_URL": broker.url, "INNOTRIAL_DATA_DIR": str(tmp_path),
    }
    client_id = f"ingest-kill-{time.monotonic_ns()}"
    with log.open("ab") as handle:
        doomed = subprocess.Popen(
            [sys.executable, "-m", "tests.ingest.die_before_confirm", "--client-id", client_id],
            env=environ, cwd=REPO, stdout=handle, stderr=subprocess.STDOUT)
    config = _gateway(broker, tmp_path, "gw-kill", names)
    worker = doomed
    try:
        with GatewayThread(config):
            assert doomed.wait(90) == -signal.SIGKILL, log.read_text()[-3000:]
            assert stored_count(env.store_url, names) > 0, "it died after a commit"
            worker = _ingest_process(broker, env, client_id, log)
            _run_until(env.store_url, names, 1_000)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    _assert_exactly_once(env.store_url, tmp_path / "buf.db", config.model_dump()["devices"])
    store = open_store(env.store_url)
    try:
        assert sum(store.device_stats(n).duplicates for n in names) > 0, "re-sends were counted"
    finally:
        store.close()


def test_ingest_confirms_stored_duplicate_and_dead_lettered_messages(
    mosquitto: Mosquitto, make_env: Callable[..., TrialEnv],
    start_worker: Callable[..., IngestWorker],
) -> None:
    env = make_env({"gw-ack": ["rg-a1"]})
    start_worker(worker_config(mosquitto, env))
    confirmed: list[dict[str, list[tuple[int, int]]]] = []
    subscribed = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="ack-listener")
    client.on_message = lambda _c, _u, msg: confirmed.append(decode_acks(msg.payload))
    client.on_subscribe = lambda *_args: subscribed.set()
    client.connect("127.0.0.1", mosquitto.port)
    client.subscribe(acks_topic("gw-ack"), qos=1)
    client.loop_start()
    start = base_ts_ms()
    valid = encode_readings_payload(7, start, [{"ts_ms": start, "rain_mm": 0.2}])
    try:
        assert subscribed.wait(10)
        for topic, payload in [
            (readings_topic("gw-ack", "rg-a1"), valid),  # stored
            (readings_topic("gw-ack", "rg-a1"), valid),  # duplicate
            (readings_topic("gw-ack", "rg-zz"), encode_readings_payload(3, start, [])),
            (readings_topic("gw-ack", "rg-a1"), encode_readings_payload(
                8, start, [{"ts_ms": start + 1, "rain_mm": "wet"}])),  # type_mismatch
        ]:
            client.publish(topic, payload, qos=1).wait_for_publish(10)
        seen: dict[str, set[int]] = {}

        def settled() -> bool:
            for ranges in list(confirmed):
                for device, pairs in ranges.items():
                    for first, last in pairs:
                        seen.setdefault(device, set()).update(range(first, last + 1))
            return seen.get("rg-a1", set()) >= {7, 8} and 3 in seen.get("rg-zz", set())

        wait_until(settled, 30, "confirmations of stored, duplicate and dead-lettered")
    finally:
        client.loop_stop()
        client.disconnect()
