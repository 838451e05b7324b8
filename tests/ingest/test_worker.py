"""The worker against a real Mosquitto and the SQLite store: exactly once, at scale."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from ingest.worker import IngestWorker
from registry.dead_letters import list_dead_letters
from registry.models import Gateway
from telemetry.store import open_store
from telemetry.wire import encode_readings_payload, encode_status, readings_topic, status_topic
from tests.ingest.conftest import (
    TrialEnv,
    apply_doc,
    base_ts_ms,
    finish_publishers,
    start_publisher,
    trial_doc,
    wait_until,
    worker_config,
)
from tests.ingest.publisher import publish
from tests.services import Mosquitto

MESSAGES_EACH = 834  # 4 publishers x 834 messages x 60 readings = 200,160 readings
PER_MESSAGE = 60


def _stored_total(store_url: str, devices: list[str]) -> int:
    store = open_store(store_url)
    try:
        return sum(store.count(d, 0, 2**62) for d in devices)
    finally:
        store.close()


def test_200k_readings_from_4_publishers_stored_exactly_once(
    mosquitto: Mosquitto, make_env: Callable[..., TrialEnv],
    start_worker: Callable[..., IngestWorker], any_store_url: str,
) -> None:
    gateways = {"gw-a": ["dev-a1", "dev-a2"], "gw-b": ["dev-b1", "dev-b2"]}
    env = make_env(gateways, any_store_url)
    devices = [d for names in gateways.values() for d in names]
    worker = start_worker(worker_config(mosquitto, env))
    start = base_ts_ms()
    procs = [start_publisher(mosquitto.port, gw, dev, MESSAGES_EACH, start)
             for gw, names in gateways.items() for dev in names]
    finish_publishers(procs, MESSAGES_EACH)
    expected = len(devices) * MESSAGES_EACH * PER_MESSAGE
    wait_until(lambda: worker.totals.messages >= len(devices) * MESSAGES_EACH, 120,
               "all messages committed")
    worker.stop()
    assert worker.totals.stored == expected
    assert worker.totals.rejected == 0
    store = open_store(env.store_url)
    for device in devices:
        assert store.count(device, 0, 2**62) == MESSAGES_EACH * PER_MESSAGE
        stats = store.device_stats(device)
        assert (stats.seq_min, stats.seq_max, stats.seq_distinct) == (0, MESSAGES_EACH - 1,
                                                                      MESSAGES_EACH)
        assert stats.seq_missing == 0
    store.close()


def test_redelivered_messages_count_as_duplicates_not_rows(
    mosquitto: Mosquitto, make_env: Callable[..., TrialEnv],
    start_worker: Callable[..., IngestWorker],
) -> None:
    env = make_env({"gw-dup": ["dev-dup"]})
    worker = start_worker(worker_config(mosquitto, env))
    start = base_ts_ms()
    publish(mosquitto.port, "gw-dup", "dev-dup", 10, start_ts_ms=start)
    publish(mosquitto.port, "gw-dup", "dev-dup", 5, start_ts_ms=start)  # same seqs again
    wait_until(lambda: worker.totals.messages >= 15, 30, "15 messages")
    worker.stop()
    assert worker.totals.stored == 10 * PER_MESSAGE
    assert worker.totals.duplicates == 5 * PER_MESSAGE
    store = open_store(env.store_url)
    assert store.count("dev-dup", 0, 2**62) == 10 * PER_MESSAGE
    assert store.device_stats("dev-dup").duplicates == 5 * PER_MESSAGE
    store.close()


def test_two_workers_on_a_shared_subscription_split_the_load_exactly_once(
    mosquitto: Mosquitto, make_env: Callable[..., TrialEnv],
    start_worker: Callable[..., IngestWorker], any_store_url: str,
) -> None:
    gateways = {"gw-s": ["dev-s1", "dev-s2"]}
    env = make_env(gateways, any_store_url)
    group = f"g{time.monotonic_ns()}"
    first = start_worker(worker_config(mosquitto, env, shared_group=group, client_id=f"{group}-1"))
    second = start_worker(worker_config(mosquitto, env, shared_group=group, client_id=f"{group}-2"))
    start = base_ts_ms()
    procs = [start_publisher(mosquitto.port, "gw-s", dev, 300, start) for dev in gateways["gw-s"]]
    finish_publishers(procs, 300)
    wait_until(lambda: first.totals.messages + second.totals.messages >= 600, 60, "600 messages")
    first.stop()
    second.stop()
    assert first.totals.stored > 0
    assert second.totals.stored > 0
    assert first.totals.stored + second.totals.stored == 600 * PER_MESSAGE
    assert first.totals.duplicates + second.totals.duplicates == 0
    assert _stored_total(env.store_url, gateways["gw-s"]) == 600 * PER_MESSAGE


def test_registry_changes_reach_a_running_worker(
    mosquitto: Mosquitto, make_env: Callable[..., TrialEnv],
    start_worker: Callable[..., IngestWorker],
) -> None:
    env = make_env({"gw-r": ["dev-r1"]})
    worker = start_worker(worker_config(mosquitto, env))
    start = base_ts_ms()
    publish(mosquitto.port, "gw-r", "dev-r2", 1, start_ts_ms=start)
    wait_until(lambda: worker.totals.messages >= 1, 30, "first message")
    apply_doc(env.registry, trial_doc(env.trial_id, {"gw-r": ["dev-r1", "dev-r2"]}))
    time.sleep(1.5)  # registry_refresh_s is 0.5 in tests
    publish(mosquitto.port, "gw-r", "dev-r2", 1, start_ts_ms=start, seq_start=1)
    wait_until(lambda: worker.totals.messages >= 2, 30, "second message")
    worker.stop()
    with env.registry.session() as session:
        reasons = [d.reason for d in list_dead_letters(session, device_id="dev-r2")]
    assert reasons == ["unknown_device"]
    assert worker.totals.stored == PER_MESSAGE


def test_gateway_status_updates_the_registry_and_metrics_are_served(
    mosquitto: Mosquitto, make_env: Callable[..., TrialEnv],
    start_worker: Callable[..., IngestWorker],
) -> None:
    env = make_env({"gw-st": ["dev-st"]})
    worker = start_worker(worker_config(mosquitto, env, metrics_port=0))
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()
    status_ms = base_ts_ms()
    client.publish(status_topic("gw-st"), encode_status("online", buffer_depth=12, ts_ms=status_ms),
                   qos=1, retain=True).wait_for_publish(10)
    publish(mosquitto.port, "gw-st", "dev-st", 2, start_ts_ms=base_ts_ms())

    def online() -> bool:
        with env.registry.session() as session:
            gateway = session.get(Gateway, "gw-st")
            return gateway is not None and gateway.state == "online"

    wait_until(online, 30, "gateway online")
    with env.registry.session() as session:
        gateway = session.get(Gateway, "gw-st")
        assert gateway is not None
        assert gateway.state_changed_ms == status_ms
        assert gateway.last_status is not None and gateway.last_status["buffer_depth"] == 12
    client.publish(status_topic("gw-st"), b"", qos=1, retain=True).wait_for_publish(10)
    client.disconnect()
    client.loop_stop()
    wait_until(lambda: worker.totals.stored >= 2 * PER_MESSAGE, 30, "readings stored")
    with httpx.Client(trust_env=False) as http:
        text = http.get(f"http://127.0.0.1:{worker.metrics_port}/metrics").text
    assert "innotrial_ingest_readings_stored_total 120.0" in text
    assert "innotrial_ingest_readings_duplicate_total" in text
    assert "innotrial_ingest_batch_seconds_bucket" in text
    assert 'innotrial_ingest_gateway_online{gateway_id="gw-st"} 1.0' in text


def test_mqtt_311_persistent_session_gets_messages_sent_while_away(
    mosquitto: Mosquitto, make_env: Callable[..., TrialEnv],
    start_worker: Callable[..., IngestWorker],
) -> None:
    env = make_env({"gw-v3": ["dev-v3"]})
    config = worker_config(mosquitto, env, mqtt_version=311, client_id=f"v311-{time.monotonic_ns()}")
    worker = start_worker(config)
    worker.stop()
    publish(mosquitto.port, "gw-v3", "dev-v3", 3, start_ts_ms=base_ts_ms())  # worker is away
    worker = start_worker(config)
    wait_until(lambda: worker.totals.messages >= 3, 30, "queued messages")
    worker.stop()
    assert worker.totals.stored == 3 * PER_MESSAGE


def test_dead_letters_of_a_committed_but_unacknowledged_batch_are_not_doubled(
    mosquitto: Mosquitto, make_env: Callable[..., TrialEnv],
    start_worker: Callable[..., IngestWorker],
) -> None:
    """A worker commits a batch and stops before its PUBACKs (as after a crash in between):
    the broker redelivers the messages flagged DUP, and the next worker neither stores the
    readings twice nor writes their dead letters twice."""
    env = make_env({"gw-dl": ["dev-dl"]})
    config = worker_config(mosquitto, env)
    first = IngestWorker(config)
    first._ack = lambda _batch: None  # type: ignore[method-assign]  # crash before PUBACK
    first.start()
    start = base_ts_ms()
    readings = [{"ts_ms": start, "rain_mm": 0.2, "battery_v": 3.6},
                {"ts_ms": start + 1000, "rain_mm": -5.0, "battery_v": 3.6},  # out_of_range
                {"ts_ms": start + 2000, "rain_mm": 0.4, "bogus": 1}]  # unknown_field
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()
    infos = [client.publish(readings_topic("gw-dl", "dev-dl"),
                            encode_readings_payload(0, start, readings), qos=1),
             client.publish(readings_topic("gw-dl", "dev-dl"), b"{not json", qos=1)]
    for info in infos:
        info.wait_for_publish(10)
    client.disconnect()
    client.loop_stop()
    try:
        wait_until(lambda: first.totals.messages >= 2, 30, "both messages committed")
    finally:
        first.stop()

    def reasons() -> list[str]:
        with env.registry.session() as session:
            return sorted(row.reason for row in list_dead_letters(session))

    assert reasons() == ["bad_json", "out_of_range", "unknown_field"]
    second = start_worker(config)
    wait_until(lambda: second.totals.messages >= 2, 30, "both messages redelivered")
    second.stop()
    assert second.totals.stored == 0 and second.totals.duplicates == 1
    assert second.totals.rejected == 0  # every dead letter was there already
    assert reasons() == ["bad_json", "out_of_range", "unknown_field"]
    store = open_store(env.store_url)
    assert store.count("dev-dl", 0, 2**62) == 1
    store.close()
