"""The ingest worker: MQTT in, validated readings in the store, acks only after durability.

Threads: paho's network thread only timestamps each message and puts it on a bounded queue
(`on_message`); one writer thread takes messages off the queue, validates them, commits a
batch (bounded by readings and delay) and then acknowledges every message of the batch. See
docs/ingest.md for the ack ordering and backpressure.
"""

from __future__ import annotations

import gc
import logging
import queue
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from ingest.config import IngestConfig
from ingest.confirm import Confirmer
from ingest.errors import BrokerRefused, BrokerUnavailable, WriterFailed
from ingest.logfmt import kv
from ingest.metrics import IngestMetrics
from ingest.mqtt_client import IngestClient
from ingest.pipeline import CommitHook, IngestPipeline
from ingest.processing import InboundMessage, MessageProcessor, Processed
from ingest.writer import BatchCommitter, CommitSummary
from registry.db import Registry, open_registry
from registry.errors import RegistryError
from registry.queries import device_directory
from telemetry.store import TimeSeriesStore, open_store
from telemetry.wire import READINGS_SUBSCRIPTION, STATUS_SUBSCRIPTION

log = logging.getLogger("innotrial.ingest")
_POLL_S = 0.2


def tune_gc_for_throughput() -> None:
    """Fewer, cheaper garbage collections for a process that is mostly an ingest worker.

    A batch keeps tens of thousands of small objects alive; CPython's default gen-0 threshold
    (700) then runs collections that re-scan them all the time. Call once at process start
    (the `ingest` command does); leave it out when ingest is a guest in another process.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class IngestWorker:
    """One ingest worker; `start()` connects and returns, `stop()` flushes, acks, disconnects."""

    def __init__(self, config: IngestConfig, *, store: TimeSeriesStore | None = None,
                 registry: Registry | None = None, on_commit: CommitHook | None = None) -> None:
        self.config = config
        self.on_commit = on_commit
        self.metrics = IngestMetrics()
        self.metrics_port: int | None = None
        self._store, self._owns_store = store, store is None
        self._registry, self._owns_registry = registry, registry is None
        self._queue: queue.Queue[InboundMessage] = queue.Queue(maxsize=config.max_inflight_messages)
        self._stopping = threading.Event()
        self._abort = threading.Event()
        self._connected = threading.Event()
        self._connack: ReasonCode | None = None
        self._generation = 0
        self._received = 0
        self._acked = 0
        self._pipeline: IngestPipeline | None = None
        self._client: mqtt.Client | None = None
        self._confirmer: Confirmer | None = None
        self.metrics.inflight.set_function(lambda: float(self._received - self._acked))

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def totals(self) -> CommitSummary:
        """Messages, readings stored, duplicates and dead letters committed so far."""
        return CommitSummary(0, 0, 0, 0) if self._pipeline is None else self._pipeline.totals

    @property
    def failure(self) -> BaseException | None:
        """The exception that stopped the pipeline, if one did."""
        return None if self._pipeline is None else self._pipeline.failure

    @property
    def store(self) -> TimeSeriesStore:
        """The store this worker writes to (opened by start())."""
        assert self._store is not None, "start() first"
        return self._store

    def start(self, connect_timeout_s: float = 10.0) -> None:
        """Open store and registry, serve metrics, connect and subscribe; raises on failure."""
        try:
            self._start(connect_timeout_s)
        except BaseException:
            self._close_resources()
            raise

    def _start(self, connect_timeout_s: float) -> None:
        broker = self.config.broker  # raises BadBrokerUrl before anything is opened
        if self._store is None:
            self._store = open_store(self.config.store_url)
        self._store.check()
        if self._registry is None:
            self._registry = open_registry(self.config.database_url)
        with self._registry.session() as session:
            processor = MessageProcessor(device_directory(session))
        if self.config.metrics_port is not None:
            self.metrics_port = self.metrics.serve(self.config.metrics_port,
                                                   self.config.metrics_host)
        committer = BatchCommitter(self._store, self._registry, self.metrics, self._abort)
        self._client = self._make_client()
        try:
            self._client.connect(broker.host, broker.port, keepalive=self.config.keepalive_s,
                                 clean_start=False if self.config.mqtt_version == 5 else
                                 mqtt.MQTT_CLEAN_START_FIRST_ONLY,
                                 properties=self._connect_properties())
        except OSError as exc:
            raise BrokerUnavailable(self.config.broker_url, f"cannot connect: {exc}") from exc
        self._client.loop_start()
        self._wait_connack(connect_timeout_s)
        self._pipeline = IngestPipeline(
            self._queue, processor, committer, self._ack,
            batch_max_readings=self.config.batch_max_readings,
            batch_max_messages=max(1, self.config.max_inflight_messages // 4),
            batch_max_delay_ms=self.config.batch_max_delay_ms,
            refresh_s=self.config.registry_refresh_s, refresh=self._refresh,
            stopping=self._stopping, abort=self._abort, on_commit=self.on_commit)
        self._pipeline.start()
        log.info(kv("ingest_started", client_id=self.config.client_id,
                    broker=self.config.broker_url,
                    store=self._store.url, shared_group=self.config.shared_group or "-",
                    metrics_port=self.metrics_port or "-"))

    def _wait_connack(self, timeout_s: float) -> None:
        assert self._client is not None
        answered = self._connected.wait(timeout_s)
        if not answered or (self._connack is not None and self._connack.is_failure):
            problem = (f"connection refused: {self._connack}" if self._connack is not None
                       else f"no CONNACK within {timeout_s} s")
            self._client.loop_stop()
            self._client.disconnect()
            cls = BrokerRefused if self._connack is not None else BrokerUnavailable
            raise cls(self.config.broker_url, problem)

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop taking messages, commit and ack what was taken, disconnect (bounded by timeout)."""
        self._stopping.set()
        if self._pipeline is not None and not self._pipeline.join(timeout_s):
            log.warning(kv("stop_timeout", note="unacknowledged messages will be redelivered"))
            self._abort.set()
            self._pipeline.join(10.0)
        if self._client is not None:
            if self._confirmer is not None and self._pipeline is not None:
                self._confirmer.go_offline()
            self._client.disconnect()
            self._client.loop_stop()
        self._close_resources()
        log.info(kv("ingest_stopped", messages=self.totals.messages, stored=self.totals.stored,
                    duplicates=self.totals.duplicates, rejected=self.totals.rejected))

    def _close_resources(self) -> None:
        self.metrics.close()
        if self._owns_store and self._store is not None:
            self._store.close()
        if self._owns_registry and self._registry is not None:
            self._registry.close()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the pipeline ends (True) or timeout; raises WriterFailed on a crash."""
        if self._pipeline is None:
            return True
        ended = self._pipeline.join(timeout_s)
        if self._pipeline.failure is not None:
            raise WriterFailed(self._pipeline.failure)
        return ended

    # -- MQTT --------------------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        config = self.config
        protocol = mqtt.MQTTv5 if config.mqtt_version == 5 else mqtt.MQTTv311
        client = IngestClient(CallbackAPIVersion.VERSION2, client_id=config.client_id,
                              protocol=protocol, manual_ack=True,
                              clean_session=None if protocol == mqtt.MQTTv5 else False)
        broker = config.broker
        username = config.mqtt_username or broker.username
        if username:
            client.username_pw_set(username, config.mqtt_password or broker.password)
        if broker.tls:
            client.tls_set()
        client.reconnect_delay_set(1, 30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        self._confirmer = Confirmer(client, config.client_id)
        return client

    def _connect_properties(self) -> Properties | None:
        if self.config.mqtt_version != 5:
            return None
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self.config.session_expiry_s
        # The broker sends at most this many unacknowledged QoS 1 messages: the backpressure.
        props.ReceiveMaximum = min(self.config.max_inflight_messages, 65_535)
        return props

    def subscriptions(self) -> list[tuple[str, int]]:
        """Topic filters subscribed: readings (shared when a group is set) and status."""
        readings = READINGS_SUBSCRIPTION
        if self.config.shared_group:
            readings = f"$share/{self.config.shared_group}/{READINGS_SUBSCRIPTION}"
        return [(readings, 1), (STATUS_SUBSCRIPTION, 1)]

    def _on_connect(self, client: mqtt.Client, _userdata: Any, flags: mqtt.ConnectFlags,
                    reason: ReasonCode, _props: Properties | None) -> None:
        self._connack = reason
        if not reason.is_failure:
            self._generation += 1
            if self._confirmer is not None:
                self._confirmer.connected()
            if self.config.shared_group:
                # A resumed session keeps its old subscriptions: drop a plain readings
                # subscription left from running unshared under this client id.
                client.unsubscribe(READINGS_SUBSCRIPTION)
            client.subscribe(self.subscriptions())
            log.info(kv("mqtt_connected", session_present=flags.session_present,
                        generation=self._generation))
        else:
            log.error(kv("mqtt_refused", reason=str(reason)))
        self._connected.set()

    def _on_disconnect(self, _client: mqtt.Client, _userdata: Any, _flags: mqtt.DisconnectFlags,
                       reason: ReasonCode, _props: Properties | None) -> None:
        if not self._stopping.is_set():
            log.warning(kv("mqtt_disconnected", reason=str(reason), note="reconnecting"))

    def _on_subscribe(self, _client: mqtt.Client, _userdata: Any, mid: int,
                      reasons: list[ReasonCode], _props: Properties | None) -> None:
        failed = [str(code) for code in reasons if code.is_failure]
        if failed:
            log.error(kv("subscribe_failed", reasons=",".join(failed)))
        elif self._confirmer is not None:
            self._confirmer.announce(_now_ms())

    def _on_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        # Network thread: no slow work. Messages arriving while stopping stay unacknowledged
        # in the broker session and are redelivered to the next worker.
        item = InboundMessage(msg.topic, bytes(msg.payload), _now_ms(), msg.mid, msg.qos,
                              self._generation, msg.dup)
        while not self._stopping.is_set():
            try:
                self._queue.put(item, timeout=_POLL_S)
            except queue.Full:
                continue
            self._received += 1
            return

    def _ack(self, batch: list[Processed]) -> None:
        client, generation = self._client, self._generation
        assert client is not None
        for item in batch:
            msg = item.message
            self._acked += 1  # counted before the PUBACK goes out, so in-flight never undercounts
            # A message from an earlier connection cannot be acked on this one; the broker
            # redelivers it and the store drops the copy as a duplicate.
            if msg.qos and msg.generation == generation:
                client.ack(msg.mid, msg.qos)
        if self._confirmer is not None:
            self._confirmer.confirm(batch)

    def _refresh(self, processor: MessageProcessor) -> None:
        assert self._registry is not None
        try:
            with self._registry.session() as session:
                processor.directory = device_directory(session)
        except RegistryError as exc:  # keep the last snapshot; the next refresh tries again
            log.warning(kv("registry_refresh_failed", error=str(exc)[:300]))
