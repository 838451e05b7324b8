"""Tell gateways what ingest committed, and announce that this worker is online (issue #14).

`Confirmer.confirm(batch)` runs on the committer thread right after a batch is durably
committed and its MQTT messages acknowledged: per gateway, one QoS 1 message on
`innotrial/v1/{gateway_id}/acks` with the (device, seq) ranges of every readings message of the
batch — stored, duplicate or dead-lettered alike, since all of them are settled. It never waits
for a PUBACK and never runs on paho's network thread. While the client is disconnected, or when
too many confirmations wait for their PUBACK, a confirmation is skipped: the gateway re-sends
after its timeout, the store counts a duplicate, and that copy is confirmed.

Presence: the worker's retained `innotrial/v1/_ingest/{worker_id}/state` says online once its
subscriptions are in place (SUBACK), and its will says offline.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import defaultdict
from typing import Any

import orjson
import paho.mqtt.client as mqtt

from ingest.logfmt import kv
from ingest.processing import Processed
from telemetry.acks import acks_topic, encode_acks, encode_presence, presence_topic, worker_id_of
from telemetry.wire import MAX_PAYLOAD_BYTES, READINGS_SUFFIX, Topic, WireError, is_seq

log = logging.getLogger("innotrial.ingest")
MAX_UNACKED_CONFIRMATIONS = 2_000
"""Confirmations waiting for their PUBACK before new ones are skipped (paho's ids are 16-bit)."""


def settled_seq(item: Processed) -> tuple[str, str, int] | None:
    """(gateway_id, device_id, seq) of a readings message, None when it has no readable seq."""
    if item.seq is not None and item.gateway_id is not None:  # the common case: no parsing
        return item.gateway_id, item.seq[0], item.seq[1]
    topic = item.message.topic
    if not topic.endswith("/" + READINGS_SUFFIX):
        return None
    try:
        parsed = Topic.parse(topic)
    except WireError:
        return None
    if parsed.device_id is None:
        return None
    return _seq_of_rejected(parsed.gateway_id, parsed.device_id, item.message.payload)


def _seq_of_rejected(
    gateway_id: str, device_id: str, payload: bytes
) -> tuple[str, str, int] | None:
    """A message dead-lettered before its envelope was read (e.g. unknown_device) still has a
    seq a gateway waits for; read it if the payload allows."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        return None
    try:
        seq = orjson.loads(payload).get("seq")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    if is_seq(seq):
        return gateway_id, device_id, seq
    return None


class Confirmer:
    """Publishes confirmations and presence through the worker's paho client."""

    def __init__(self, client: mqtt.Client, client_id: str) -> None:
        self.client = client
        self.worker_id = worker_id_of(client_id)
        self.topic = presence_topic(self.worker_id)
        self.sent = 0
        self.skipped = 0
        self._unacked: set[int] = set()
        self._early: set[int] = set()  # PUBACKs that beat the publisher to `_unacked`
        self._lock = threading.Lock()
        client.will_set(self.topic, encode_presence("offline"), qos=1, retain=True)
        client.on_publish = self._on_publish

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, _r: Any, _p: Any) -> None:
        with self._lock:
            if mid in self._unacked:
                self._unacked.discard(mid)
            else:
                self._early.add(mid)

    def connected(self) -> None:
        """A new connection: confirmations of the old one are paho's to re-send or forget."""
        with self._lock:
            self._unacked.clear()
            self._early.clear()

    def announce(self, now_ms: int) -> None:
        """Retained online state (call once the subscriptions are acknowledged)."""
        self.client.publish(self.topic, encode_presence("online", now_ms), qos=1, retain=True)
        log.info(kv("presence_online", topic=self.topic))

    def go_offline(self, timeout_s: float = 2.0) -> None:
        """Retained offline state before a clean disconnect (the will covers a crash)."""
        info = self.client.publish(self.topic, encode_presence("offline"), qos=1, retain=True)
        if info.rc == mqtt.MQTT_ERR_SUCCESS:
            with contextlib.suppress(RuntimeError, ValueError):  # connection lost meanwhile
                info.wait_for_publish(timeout_s)

    def confirm(self, batch: list[Processed]) -> None:
        """Publish the settled (device, seq) of a committed batch, per gateway."""
        per_gateway: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for item in batch:
            settled = settled_seq(item)
            if settled is not None:
                per_gateway[settled[0]][settled[1]].append(settled[2])
        for gateway_id, devices in per_gateway.items():
            topic = acks_topic(gateway_id)
            for payload in encode_acks(devices):
                self._publish(topic, payload)

    def _publish(self, topic: str, payload: bytes) -> None:
        with self._lock:
            full = len(self._unacked) >= MAX_UNACKED_CONFIRMATIONS
        if full or not self.client.is_connected():
            self.skipped += 1
            if self.skipped in (1, 10, 100) or self.skipped % 1000 == 0:
                log.warning(
                    kv(
                        "confirmation_skipped",
                        topic=topic,
                        skipped=self.skipped,
                        note="the gateway re-sends; the copy is confirmed",
                    )
                )
            return
        info = self.client.publish(topic, payload, qos=1)
        if info.rc == mqtt.MQTT_ERR_SUCCESS:
            with self._lock:
                if info.mid in self._early:
                    self._early.discard(info.mid)
                else:
                    self._unacked.add(info.mid)
            self.sent += 1
        else:
            self.skipped += 1
