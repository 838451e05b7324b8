"""Helpers for gateway tests: a persistent-session collector and config builders.

The collector stands in for ingest: it announces itself on the presence topic and confirms
every message it receives, so gateways run with their default `delivery: confirm`.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gateway.config import GatewayConfig, parse_config
from gateway.runner import RunStats, run_gateway
from telemetry.acks import acks_topic, encode_acks, encode_presence, presence_topic
from telemetry.wire import decode_readings_payload


class Collector:
    """A subscriber with a persistent session (clean_session False, QoS 1) on one gateway."""

    def __init__(self, port: int, gateway_id: str, confirm: bool = True) -> None:
        self.port = port
        self.gateway_id = gateway_id
        self.confirm = confirm
        self.lock = threading.Lock()
        self.messages: list[tuple[str, int, list[dict[str, Any]]]] = []
        self.statuses: list[dict[str, Any]] = []
        self.subscribed = threading.Event()
        client_id = f"collector-{uuid.uuid4().hex[:8]}"
        self.presence = presence_topic(client_id)
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False
        )
        if confirm:
            self.client.will_set(self.presence, encode_presence("offline"), qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.2, 1.0)

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, _r: Any, _p: Any) -> None:
        client.subscribe(f"innotrial/v1/{self.gateway_id}/#", qos=1)
        if self.confirm:
            client.publish(self.presence, encode_presence("online"), qos=1, retain=True)
        self.subscribed.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        parts = msg.topic.split("/")
        with self.lock:
            if parts[-1] == "status":
                self.statuses.append(orjson.loads(msg.payload))
                return
            if parts[-1] == "acks":
                return
            decoded = decode_readings_payload(msg.payload)
            self.messages.append((parts[3], decoded.seq, [dict(r) for r in decoded.readings]))
        if self.confirm:
            for payload in encode_acks({parts[3]: [decoded.seq]}):
                self.client.publish(acks_topic(self.gateway_id), payload, qos=1)

    def start(self) -> Collector:
        self.subscribed.clear()
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()
        assert self.subscribed.wait(10)
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def reading_keys(self) -> set[tuple[str, int]]:
        with self.lock:
            return {(d, r["ts_ms"]) for d, _s, rs in self.messages for r in rs}

    def wait_for(self, predicate: Callable[[Collector], bool], timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.2)
        return predicate(self)

    def seq_report(self) -> dict[str, Any]:
        """Per device: seqs in first-arrival order, MQTT-level duplicates."""
        first: dict[str, list[int]] = defaultdict(list)
        seen: set[tuple[str, int]] = set()
        duplicates = 0
        with self.lock:
            for device, seq, _ in self.messages:
                if (device, seq) in seen:
                    duplicates += 1
                    continue
                seen.add((device, seq))
                first[device].append(seq)
        return {"first_order": dict(first), "mqtt_duplicates": duplicates}


@pytest.fixture
def collector_factory() -> Iterator[Callable[[int, str], Collector]]:
    made: list[Collector] = []

    def make(port: int, gateway_id: str) -> Collector:
        made.append(Collector(port, gateway_id).start())
        return made[-1]

    yield make
    for collector in made:
        collector.stop()


def gateway_config(
    broker_url: str, buffer_path: Path, devices: list[dict[str, Any]], **extra: Any
) -> GatewayConfig:
    """A validated config with a random gateway id."""
    data = {
        "gateway_id": f"gw-{uuid.uuid4().hex[:8]}",
        "broker_url": broker_url,
        "buffer_path": str(buffer_path),
        "devices": devices,
        "reconnect_max_s": 2.0,
        **extra,
    }
    return parse_config(data, "test")


class GatewayThread:
    """run_gateway in a thread, stopped by an event."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.stop_event = threading.Event()
        self.stats = RunStats()
        self.thread = threading.Thread(
            target=run_gateway, args=(config, self.stop_event, self.stats)
        )

    def __enter__(self) -> GatewayThread:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self.thread.join(60)
        assert not self.thread.is_alive()
