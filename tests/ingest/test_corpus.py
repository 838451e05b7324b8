"""A corpus of malformed and hostile messages is dead-lettered with the right reasons."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from ingest.worker import IngestWorker
from registry.dead_letters import PAYLOAD_EXCERPT_BYTES
from registry.models import DeadLetter
from telemetry.store import open_store
from tests.ingest.conftest import TrialEnv, base_ts_ms, wait_until, worker_config
from tests.ingest.publisher import publish
from tests.services import Mosquitto

CORPUS = Path(__file__).parent / "corpus" / "hostile.json"
CASES: list[dict[str, Any]] = json.loads(CORPUS.read_text(encoding="utf-8"))["cases"]
REASONS = {"bad_json", "bad_schema", "payload_too_large", "unknown_gateway", "unknown_device",
           "device_not_on_gateway", "unknown_field", "type_mismatch", "out_of_range",
           "timestamp_in_future", "conflict"}


def case_payload(case: dict[str, Any], index: int, base_ms: int) -> bytes:
    """The bytes of a corpus case with its timestamp tokens filled in."""
    if "payload_hex" in case:
        return bytes.fromhex(case["payload_hex"])
    if "payload_repeat" in case:
        spec = case["payload_repeat"]
        text = spec["head"] + spec["fill"] * spec["count"] + spec["tail"]
    else:
        text = case["payload"]
    case_base = base_ms + index * 100_000
    text = text.replace("$TSX", str(base_ms - 1_000_000))
    text = text.replace("$FUTURE", str(time.time_ns() // 1_000_000 + 3_600_000))
    for k in range(9, -1, -1):
        text = text.replace(f"$TS{k}", str(case_base + k * 1000))
    return text.encode("utf-8")


def test_corpus_covers_every_reason_and_enough_cases() -> None:
    assert len(CASES) >= 25
    assert {reason for case in CASES for reason in case["dead"]} == REASONS


def _max_dead_letter_id(env: TrialEnv) -> int:
    with env.registry.session() as session:
        return int(session.scalar(select(func.max(DeadLetter.id))) or 0)


def test_hostile_corpus_is_dead_lettered_with_the_right_reasons(
    mosquitto: Mosquitto, make_env: Callable[..., TrialEnv],
    start_worker: Callable[..., IngestWorker], any_store_url: str,
) -> None:
    env = make_env({"gw-c1": ["dev-c1", "dev-c2"], "gw-c2": ["dev-c3"]}, any_store_url)
    worker = start_worker(worker_config(mosquitto, env, batch_max_delay_ms=10))
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()
    base_ms = base_ts_ms()
    failures: list[str] = []
    try:
        for index, case in enumerate(CASES):
            before_id, before = _max_dead_letter_id(env), worker.totals
            info = client.publish(case["topic"], case_payload(case, index, base_ms), qos=1)
            info.wait_for_publish(10)
            wait_until(lambda b=before: worker.totals.messages > b.messages, 30, case["name"])
            with env.registry.session() as session:
                rows = list(session.scalars(select(DeadLetter).where(DeadLetter.id > before_id)))
            reasons = sorted(row.reason for row in rows)
            stored = worker.totals.stored - before.stored
            if reasons != case["dead"] or stored != case["stored"]:
                failures.append(f"{case['name']}: dead {reasons} stored {stored}, expected "
                                f"{case['dead']} stored {case['stored']}")
            for row in rows:
                assert row.topic == case["topic"]
                assert len(row.payload_excerpt) <= 4 * PAYLOAD_EXCERPT_BYTES + 3
                assert "\x00" not in row.payload_excerpt and "\x00" not in row.detail
                assert row.detail
    finally:
        client.disconnect()
        client.loop_stop()
    assert not failures, "\n".join(failures)
    # The worker is alive and still stores valid readings after the corpus.
    publish(mosquitto.port, "gw-c1", "dev-c1", 2, start_ts_ms=base_ms - 5_000_000)
    wait_until(lambda: worker.totals.stored >= 5 + 120, 30, "valid readings after the corpus")
    assert worker.failure is None
    store = open_store(env.store_url)
    try:
        assert store.count("dev-c2", 0, 2**62) == 3
        assert store.count("dev-c1", 0, 2**62) == 120
    finally:
        store.close()


@pytest.mark.parametrize("case", [c for c in CASES if c["name"] == "payload_too_large"],
                         ids=lambda c: c["name"])
def test_oversize_payload_is_really_oversize(case: dict[str, Any]) -> None:
    assert len(case_payload(case, 0, 0)) > 256 * 1024
