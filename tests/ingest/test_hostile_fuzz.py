"""Generated hostile payloads through a real Mosquitto into a running ingest, on both stores:
the worker never stops, every valid reading is stored, every hostile message is one dead
letter with a reason, and a restart on a retained poison status keeps running (issue 15)."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion

from ingest.worker import IngestWorker
from registry.dead_letters import list_dead_letters
from telemetry.store import open_store
from telemetry.wire import (
    MAX_TS_MS,
    MIN_TS_MS,
    encode_readings_payload,
    encode_status,
    readings_topic,
    status_topic,
)
from tests.ingest.conftest import TrialEnv, base_ts_ms, wait_until, worker_config
from tests.services import Mosquitto

pytestmark = pytest.mark.slow
REASONS = {"bad_json", "bad_schema", "payload_too_large", "type_mismatch", "out_of_range",
           "timestamp_in_future", "unknown_field", "store_rejected"}
HUGE_INTS = [2**63, 2**64 - 1, 2**64, -(2**63) - 1, -1, 10**30]
BAD_STAMPS = [*HUGE_INTS, 0, MIN_TS_MS - 1, MAX_TS_MS + 1, 2**62]
NOT_FINITE = [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e999"]
WRONG_TYPES: list[Any] = ["1", 1.5, True, None, [], {}, [1], {"a": 1}]
Hostile = tuple[str, bytes, bool]
"""(readings or status, payload, retained)."""


_DEFAULT: Any = object()


def _envelope(seq: Any = 1, sent_ms: Any = _DEFAULT, readings: Any = _DEFAULT) -> dict[str, Any]:
    now_ms = time.time_ns() // 1_000_000
    return {"v": 1, "seq": seq, "sent_ms": now_ms if sent_ms is _DEFAULT else sent_ms,
            "readings": [_reading()] if readings is _DEFAULT else readings}


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def _reading(**changes: Any) -> dict[str, Any]:
    return {"ts_ms": time.time_ns() // 1_000_000 - 60_000, "rain_mm": 0.1, **changes}


def _nested(depth: int) -> bytes:
    return (b'{"v":1,"seq":1,"sent_ms":1,"readings":' + b"[" * depth + b"1" + b"]" * depth + b"}")


_readings_payloads = st.one_of(
    st.sampled_from(HUGE_INTS).map(lambda n: _dumps(_envelope(seq=n))),
    st.sampled_from(HUGE_INTS).map(lambda n: _dumps(_envelope(sent_ms=n))),
    st.sampled_from(BAD_STAMPS).map(lambda n: _dumps(_envelope(readings=[_reading(ts_ms=n)]))),
    st.sampled_from([*HUGE_INTS, 1e308, -1e308]).map(
        lambda n: _dumps(_envelope(readings=[_reading(rain_mm=n)]))),
    st.sampled_from(NOT_FINITE).map(
        lambda text: _dumps(_envelope(readings=[_reading(rain_mm=12345)])).replace(b"12345", text)),
    st.sampled_from(NOT_FINITE).map(lambda text: _dumps(_envelope(seq=12345)).replace(b"12345", text)),
    st.sampled_from([600, 5_000, 100_000]).map(_nested),
    st.sampled_from(["seq", "v", "readings"]).map(
        lambda key: b'{"%s":1,' % key.encode() + _dumps(_envelope())[1:]),
    st.just(_dumps(_envelope()).replace(b'"rain_mm": 0.1', b'"rain_mm": 0.1, "rain_mm": 0.2')),
    st.sampled_from(WRONG_TYPES).map(lambda value: _dumps(_envelope(seq=value))),
    st.sampled_from(WRONG_TYPES).map(lambda value: _dumps(_envelope(readings=value))),
    st.sampled_from([v for v in WRONG_TYPES if v != 1.5]).map(
        lambda value: _dumps(_envelope(readings=[_reading(rain_mm=value)]))),
    st.sampled_from([300, 300_000]).map(lambda n: _dumps(_envelope(readings=[_reading(rain_mm="x" * n)]))),
    st.sampled_from([300, 3_000]).map(lambda n: _dumps(_envelope(readings=[_reading(**{"k" * n: 1.0})]))),
    st.binary(max_size=64).filter(lambda raw: not raw.startswith(b"{")),
)
_status_payloads = st.one_of(
    st.sampled_from(BAD_STAMPS).map(lambda n: _dumps({"state": "online", "ts_ms": n})),
    st.sampled_from([2**63, 2**64 - 1]).map(lambda n: _dumps({"state": "online", "buffer_depth": n})),
    st.sampled_from(["", "rebooting", None, 1]).map(lambda state: _dumps({"state": state})),
    st.just(b'{"ts_ms": 1764201600000}'),
    st.sampled_from(NOT_FINITE).map(lambda text: b'{"state":"online","age_s":' + text + b"}"),
    st.just(b'{"state":"online","state":"offline"}'),
    st.sampled_from([5_000, 100_000]).map(lambda n: encode_status("online", note="x" * n)),
    st.just(encode_status("online", detail={"nested": [1, 2]})),
    st.just(b"[" * 3000 + b"]" * 3000),
)
hostile_messages = st.one_of(
    _readings_payloads.map(lambda payload: ("readings", payload, False)),
    st.tuples(st.just("status"), _status_payloads, st.booleans()),
)


class Sender:
    """A QoS 1 publisher that waits for every PUBACK."""

    def __init__(self, port: int) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def send(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(30)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def fuzz_env(mosquitto: Mosquitto, make_env: Callable[..., TrialEnv], any_store_url: str,
             ) -> Iterator[tuple[TrialEnv, str, Sender]]:
    gateway = f"gw-fz-{time.monotonic_ns() % 10**9}"  # retained statuses stay on the shared broker
    env = make_env({gateway: ["dev-fz"]}, any_store_url)
    sender = Sender(mosquitto.port)
    yield env, gateway, sender
    sender.send(status_topic(gateway), b"", retain=True)  # clear a retained poison status
    sender.close()


def _stored(env: TrialEnv, start_ms: int, end_ms: int) -> int:
    store = open_store(env.store_url)
    try:
        return store.count("dev-fz", start_ms, end_ms)
    finally:
        store.close()


def _dead_letters(env: TrialEnv, gateway: str) -> list[str]:
    with env.registry.session() as session:
        return [row.reason for row in list_dead_letters(session, gateway_id=gateway, limit=None)]


def test_hostile_payloads_never_stop_ingest_on_either_store(
    mosquitto: Mosquitto, fuzz_env: tuple[TrialEnv, str, Sender],
    start_worker: Callable[..., IngestWorker],
) -> None:
    env, gateway, sender = fuzz_env
    worker = start_worker(worker_config(mosquitto, env))
    topic = readings_topic(gateway, "dev-fz")
    seqs = itertools.count(1)
    start_ms = base_ts_ms()
    sent = {"messages": 0, "valid": 0, "hostile": 0}

    @settings(max_examples=12, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(st.lists(hostile_messages, min_size=1, max_size=5))
    def one_round(hostile: list[Hostile]) -> None:
        for kind, payload, retained in hostile:
            seq = next(seqs)  # a valid reading before each hostile message
            ts_ms = start_ms + seq * 1000
            sender.send(topic, encode_readings_payload(seq, ts_ms, [{"ts_ms": ts_ms, "rain_mm": 0.5}]))
            sender.send(topic if kind == "readings" else status_topic(gateway), payload, retain=retained)
            sent["messages"] += 2
            sent["valid"] += 1
            sent["hostile"] += 1
        wait_until(lambda: worker.totals.messages >= sent["messages"] or worker.failure is not None,
                   60, "the round committed")
        assert worker.failure is None
        assert worker.totals.messages == sent["messages"]
        assert _stored(env, start_ms, start_ms + 10**9) == sent["valid"]
        assert worker.totals.rejected == sent["hostile"]  # one dead letter per hostile message

    one_round()
    reasons = _dead_letters(env, gateway)
    assert len(reasons) == sent["hostile"] and set(reasons) <= REASONS


def test_a_retained_poison_status_does_not_stop_a_restarted_worker(
    mosquitto: Mosquitto, fuzz_env: tuple[TrialEnv, str, Sender],
    start_worker: Callable[..., IngestWorker],
) -> None:
    env, gateway, sender = fuzz_env
    poison = b'{"state":"online","ts_ms":' + str(2**63).encode() + b',"buffer_depth":1e400}'
    sender.send(status_topic(gateway), encode_status("online", ts_ms=2**63), retain=True)
    for round_number in range(2):  # the poison is there at every start
        worker = start_worker(worker_config(mosquitto, env))
        wait_until(lambda w=worker: w.totals.rejected >= 1 or w.failure is not None, 30,
                   "the retained status refused")
        ts_ms = base_ts_ms() + round_number * 1000
        sender.send(readings_topic(gateway, "dev-fz"),
                    encode_readings_payload(round_number, ts_ms, [{"ts_ms": ts_ms, "rain_mm": 0.5}]))
        wait_until(lambda w=worker: w.totals.stored >= 1 or w.failure is not None, 30,
                   "a reading stored after the poison")
        assert worker.failure is None and worker.totals.stored == 1
        worker.stop()
        sender.send(status_topic(gateway), poison, retain=True)
    assert sorted(_dead_letters(env, gateway)) == ["bad_json", "bad_schema"]  # each start refused it
