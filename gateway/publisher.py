"""Publish sealed messages from the buffer with QoS 1 and a bounded number in flight.

One thread does everything: it drives paho's network loop itself (`client.loop`), so the
PUBACK and message callbacks run on this thread and only append to lists. Each connection
uses a fresh paho client: paho never holds more than the window of messages (its 16-bit
message ids cannot collide) and never re-sends on its own.

`delivery: confirm` (the default): a message leaves the buffer when ingest confirms it on
`innotrial/v1/{gateway_id}/acks` (gateway/window.py tracks what is sent and unconfirmed);
nothing is published while no ingest worker's presence says online. `delivery: puback`: a
message leaves the buffer on the broker's PUBACK, and after a reconnect we re-publish from
the oldest unacknowledged message. See docs/store-and-forward.md.
"""

from __future__ import annotations

import logging
import random
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from gateway.buffer import Buffer, SealedMessage
from gateway.config import GatewayConfig
from gateway.errors import BrokerError, GatewayBufferError
from gateway.status import clock_is_plausible, status_payload
from gateway.window import Window
from telemetry.acks import (
    PRESENCE_SUBSCRIPTION,
    AckError,
    SeqRange,
    acks_topic,
    decode_acks,
    decode_presence,
    merge_ranges,
    presence_worker,
)
from telemetry.wire import encode_status, readings_topic, status_topic

log = logging.getLogger("gateway.publisher")

CONNECT_TIMEOUT_S = 10.0
IDLE_POLL_S = 0.5
LOG_EVERY_S = 10.0


@dataclass
class PublisherStats:
    """Counters since start, for logs and tests (`acked`: messages deleted from the buffer)."""

    connects: int = 0
    published: int = 0
    resent: int = 0
    acked: int = 0
    last_error: str = ""
    connected: threading.Event = field(default_factory=threading.Event)
    ingest_online: threading.Event = field(default_factory=threading.Event)


def make_client(config: GatewayConfig, client_id: str, persistent: bool = False) -> mqtt.Client:
    """A paho client configured with credentials, TLS and the offline last will; `persistent`
    keeps the session (and the confirmations queued for it) across connections."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=not persistent,
        protocol=mqtt.MQTTv311,
    )
    client.will_set(status_topic(config.gateway_id), encode_status("offline"), qos=1, retain=True)
    if config.username is not None:
        password = config.password.get_secret_value() if config.password else None
        client.username_pw_set(config.username, password)
    if config.uses_tls:
        tls = config.tls
        client.tls_set(
            ca_certs=str(tls.ca_file) if tls and tls.ca_file else None,
            certfile=str(tls.cert_file) if tls and tls.cert_file else None,
            keyfile=str(tls.key_file) if tls and tls.key_file else None,
            cert_reqs=ssl.CERT_REQUIRED,
        )
    client.max_inflight_messages_set(config.max_inflight + 10)
    client.max_queued_messages_set(0)
    return client


def connect(
    config: GatewayConfig, client: mqtt.Client, timeout_s: float = CONNECT_TIMEOUT_S
) -> bool:
    """Connect and wait for CONNACK; return whether the broker had our session. Raise
    BrokerError on refusal, bad credentials or timeout."""
    result: dict[str, Any] = {}

    def on_connect(_c: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        result["reason"] = reason
        result["present"] = bool(flags.session_present)

    client.on_connect = on_connect
    try:
        client.connect(config.broker_host, config.broker_port, keepalive=config.keepalive_s)
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise BrokerError(config.broker_url, f"cannot connect: {exc}") from exc
    deadline = time.monotonic() + timeout_s
    while "reason" not in result:
        failed = client.loop(0.1) != mqtt.MQTT_ERR_SUCCESS
        if "reason" not in result and (failed or time.monotonic() > deadline):
            raise BrokerError(config.broker_url, "no CONNACK (connection closed or timed out)")
    reason = result["reason"]
    if reason.is_failure:
        raise BrokerError(config.broker_url, f"connection refused: {reason}")
    return bool(result["present"])


class Publisher:
    """Drains the buffer to the broker until stopped; reconnects with backoff and jitter."""

    def __init__(
        self,
        config: GatewayConfig,
        version: str,
        stop: threading.Event,
        wake: threading.Event,
        stats: PublisherStats | None = None,
    ) -> None:
        self.config = config
        self.version = version
        self.stop = stop
        self.wake = wake
        self.drain_deadline: float | None = None
        self.stats = stats or PublisherStats()
        self.confirming = config.delivery == "confirm"
        self.window = Window(
            config.max_inflight, config.confirm_timeout_s, config.confirm_timeout_max_s
        )
        self._acked: list[int] = []
        self._confirmations: list[dict[str, list[SeqRange]]] = []
        self._online: set[str] = set()
        self._waiting_since_ms: int | None = None
        self._connected = False

    def run(self) -> None:
        """Thread body: connect, pump, back off, until stopped (then drain briefly)."""
        buffer = Buffer(
            self.config.buffer_path, self.config.buffer_max_bytes, self.config.buffer_sync
        )
        attempt = 0
        try:
            while not self._finished(buffer):
                try:
                    self._session(buffer)
                    attempt = 0
                except BrokerError as exc:
                    self.stats.last_error = str(exc)
                    attempt += 1
                    delay_s = min(
                        self.config.reconnect_max_s,
                        self.config.reconnect_min_s * 2 ** min(attempt, 16),
                    )
                    delay_s *= random.uniform(0.5, 1.0)
                    log.warning("%s; retrying in %.1f s (attempt %d)", exc, delay_s, attempt)
                    self._sleep(delay_s)
        finally:
            self._note_waiting(buffer, False)
            buffer.close()

    def _finished(self, buffer: Buffer) -> bool:
        if not self.stop.is_set():
            return False
        return (
            self.drain_deadline is None
            or time.monotonic() >= self.drain_deadline
            or (buffer.depth() == 0)
        )

    def _sleep(self, delay_s: float) -> None:
        end = time.monotonic() + delay_s
        while time.monotonic() < end and not self.stop.is_set():
            time.sleep(min(0.1, end - time.monotonic()))
        if self.stop.is_set() and self.drain_deadline is not None:
            remaining = self.drain_deadline - time.monotonic()
            time.sleep(max(0.0, min(remaining, end - time.monotonic())))

    def _session(self, buffer: Buffer) -> None:
        client_id = self.config.client_id or f"innotrial-gw-{self.config.gateway_id}"
        client = make_client(self.config, client_id, persistent=self.confirming)
        client.on_publish = self._on_publish
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        present = connect(self.config, client)
        self._connected = True
        self.stats.connects += 1
        self.stats.connected.set()
        log.info("connected to %s (session present: %s)", self.config.broker_url, present)
        if self.confirming:
            self._online.clear()
            self.stats.ingest_online.clear()
            self.window.reconnected(present)
            topics = [(acks_topic(self.config.gateway_id), 1), (PRESENCE_SUBSCRIPTION, 1)]
            client.subscribe(topics)
        try:
            self._publish_status(client, buffer, "online")
            self._pump(client, buffer)
            if self._finished(buffer):
                self._clean_stop(client, buffer)
        finally:
            self.stats.connected.clear()
            self._acked.clear()
            client.disconnect()
            client.loop(0.01)
            self._connected = False

    def _on_publish(self, _c: mqtt.Client, inflight: Any, mid: int, _r: Any, _p: Any) -> None:
        self._acked.append(mid)

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self._connected = False
        self.stats.last_error = f"disconnected: {reason}"

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            worker, payload = presence_worker(msg.topic), bytes(msg.payload)
            if worker is None:
                self._confirmations.append(decode_acks(payload))
            elif decode_presence(payload):
                self._online.add(worker)
            else:
                self._online.discard(worker)
        except AckError as exc:
            log.warning("ignoring a message on %s: %s", msg.topic, exc)

    def _publish_status(
        self, client: mqtt.Client, buffer: Buffer, state: str
    ) -> mqtt.MQTTMessageInfo:
        payload = status_payload(self.config.gateway_id, self.version, buffer.stats(), state)
        return client.publish(status_topic(self.config.gateway_id), payload, qos=1, retain=True)

    def _pump(self, client: mqtt.Client, buffer: Buffer) -> None:
        inflight: dict[int, int] = {}  # delivery puback: paho mid -> buffer message id
        cursor, next_poll, next_status = 0, 0.0, time.monotonic() + self.config.status_interval_s
        next_log = time.monotonic() + LOG_EVERY_S
        while self._connected and not self._finished(buffer):
            now = time.monotonic()
            if self.confirming:
                room = self.window.room if self._ingest_ready(client, buffer, now) else 0
                cursor = self.window.cursor
            else:
                room = self.config.max_inflight - len(inflight)
            if room > 0 and (now >= next_poll or self.wake.is_set()):
                self.wake.clear()
                batch = buffer.next_messages(cursor, room)
                for message in batch:
                    if not self._send(client, message, inflight, now):
                        break
                    cursor = message.id
                next_poll = now if len(batch) == room else now + IDLE_POLL_S
            busy = inflight or len(self.window)
            if client.loop(0.01 if busy else 0.05) != mqtt.MQTT_ERR_SUCCESS:
                self._connected = False
            self._settle(buffer, inflight)
            if now >= next_status:
                self._publish_status(client, buffer, "online")
                next_status = now + self.config.status_interval_s
            if now >= next_log:
                log.info(
                    "buffer depth %d messages, %d unconfirmed in flight, %d deleted since start",
                    buffer.depth(),
                    len(self.window),
                    self.stats.acked,
                )
                next_log = now + LOG_EVERY_S

    def _ingest_ready(self, client: mqtt.Client, buffer: Buffer, now: float) -> bool:
        """Hold back while no ingest is online; re-send what is overdue when one is."""
        online = bool(self._online)
        if online != self.stats.ingest_online.is_set():
            if online:
                self.stats.ingest_online.set()
                self.window.restart_timers(now)
                log.info("ingest online (%s): publishing", ", ".join(sorted(self._online)))
            else:
                self.stats.ingest_online.clear()
                log.warning("no ingest online: holding %d messages back", buffer.depth())
            self._note_waiting(buffer, not online)
            self._publish_status(client, buffer, "online")
        if not online:
            return False
        due = self.window.due(now)
        if due:
            found = buffer.messages_by_id(due)
            self.window.forget(sorted(set(due) - {m.id for m in found}))
            for message in found:
                if not self._send(client, message, {}, now):
                    return False
                self.stats.resent += 1
        return True

    def _note_waiting(self, buffer: Buffer, waiting: bool) -> None:
        since = (self._waiting_since_ms or time.time_ns() // 1_000_000) if waiting else None
        if since == self._waiting_since_ms:
            return
        self._waiting_since_ms = since
        try:
            buffer.set_waiting_for_ingest(since)
        except GatewayBufferError as exc:
            log.error("%s (status only)", exc)

    def _send(
        self, client: mqtt.Client, message: SealedMessage, inflight: dict[int, int], now: float
    ) -> bool:
        topic = readings_topic(self.config.gateway_id, message.device_id)
        info = client.publish(topic, message.payload, qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            self._connected = False
            return False
        if self.confirming:
            self.window.sent(message.id, message.device_id, message.seq, info.mid, now)
        else:
            inflight[info.mid] = message.id
        self.stats.published += 1
        return True

    def _settle(self, buffer: Buffer, inflight: dict[int, int]) -> None:
        mids, self._acked = self._acked, []
        if self.confirming:
            for mid in mids:
                self.window.pubacked(mid)
            confirmations, self._confirmations = self._confirmations, []
            if confirmations:
                ranges = merge_ranges(confirmations)
                self.window.confirmed(ranges)
                deleted = buffer.confirm(ranges)  # one transaction for all that arrived
                self.window.forget(deleted)
                self.stats.acked += len(deleted)
            return
        ids = [inflight.pop(mid) for mid in mids if mid in inflight]
        buffer.ack(ids)
        self.stats.acked += len(ids)

    def _clean_stop(self, client: mqtt.Client, buffer: Buffer) -> None:
        """Publish the offline status explicitly and wait for its PUBACK before disconnecting."""
        info = self._publish_status(client, buffer, "offline")
        deadline = time.monotonic() + 5.0
        while not info.is_published() and time.monotonic() < deadline:
            if client.loop(0.05) != mqtt.MQTT_ERR_SUCCESS:
                break
        log.info("stopped cleanly; %d messages left in the buffer", buffer.depth())


__all__ = ["Publisher", "PublisherStats", "clock_is_plausible", "connect", "make_client"]
