"""Gateway throughput: buffer commit rate and drain rate, each against a bare paho publisher.

Run: .venv/bin/python bench/gateway.py [--readings 200000] [--per-message 100]
Starts a private Mosquitto on a free loopback port. The baseline publishes the very same
payloads with a bare paho client (QoS 1, all in flight, no buffer) in the same run.

"drain to broker" is the default `delivery: confirm`: a stand-in for ingest subscribes to the
readings, announces its presence and confirms what it received every 50 ms (as ingest confirms
a committed batch); it stays subscribed during the baseline too, so the broker forwards every
message in both. "drain, puback" is the old `delivery: puback` for comparison.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

# Run as a script, this file's folder comes first on sys.path and would shadow `gateway`.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from gateway.buffer import Buffer, Commit  # noqa: E402
from gateway.config import parse_config  # noqa: E402
from gateway.runner import run_gateway  # noqa: E402
from telemetry.acks import (  # noqa: E402
    acks_topic,
    encode_acks,
    encode_presence,
    presence_topic,
)
from telemetry.wire import Reading, decode_readings_payload, readings_topic  # noqa: E402
from tests.services import running_mosquitto  # noqa: E402

T0 = 1_750_000_000_000
DEVICES = ("rg-b1", "rg-b2", "rg-b3", "rg-b4")
SEAL_PERIOD_S = 0.2


def commit(path: Path, total: int, per_message: int, per_batch: int, sync: str = "full") -> float:
    """Readings/s committed as drivers do (one transaction per round of batches), then sealed."""
    buffer = Buffer(path, sync=sync, max_readings=per_message)
    per_device = total // len(DEVICES)
    rounds = [
        [
            Commit(
                device,
                [
                    Reading(device, T0 + (first + i) * 60_000, {"rain_mm": 0.2, "battery_v": 3.6})
                    for i in range(min(per_batch, per_device - first))
                ],
            )
            for device in DEVICES
        ]
        for first in range(0, per_device, per_batch)
    ]  # what the drivers yield; the runner group-commits what arrived meanwhile
    start = time.perf_counter()
    next_seal = start + SEAL_PERIOD_S
    for commits in rounds:
        buffer.add_many(commits, now_ms=0)
        if time.perf_counter() >= next_seal:  # the runner seals on a timer, not per batch
            buffer.seal(1000, now_ms=0)
            next_seal = time.perf_counter() + SEAL_PERIOD_S
    buffer.seal(1000, now_ms=0, force=True)
    elapsed = time.perf_counter() - start
    buffer.close()
    return per_device * len(DEVICES) / elapsed


def payloads(path: Path) -> list[tuple[str, bytes, int]]:
    """(topic, payload, readings) of every sealed message, as the gateway would publish them."""
    buffer = Buffer(path)
    messages = buffer.next_messages(0, 10_000_000)
    buffer.close()
    return [
        (readings_topic("gw-bench", m.device_id), m.payload, m.payload.count(b'"ts_ms"'))
        for m in messages
    ]


def bare_paho(port: int, messages: list[tuple[str, bytes, int]]) -> float:
    """Readings/s of a bare paho QoS 1 publisher of the same payloads."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-bare")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    start = time.perf_counter()
    infos = [client.publish(topic, payload, qos=1) for topic, payload, _ in messages]
    for info in infos:
        info.wait_for_publish(60)
    elapsed = time.perf_counter() - start
    client.disconnect()
    client.loop_stop()
    return sum(n for _, _, n in messages) / elapsed


class StandInIngest:
    """Subscribes to the readings and confirms them in batches, as ingest does."""

    def __init__(self, port: int) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-ingest")
        self.client.max_inflight_messages_set(1000)
        self.received: list[tuple[str, int]] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.client.subscribe("innotrial/v1/+/+/readings", qos=1)
        topic = presence_topic("bench-ingest")
        self.client.publish(topic, encode_presence("online"), qos=1, retain=True)
        self.thread = threading.Thread(target=self._confirm_loop)
        self.thread.start()

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        seq = decode_readings_payload(bytes(msg.payload)).seq
        with self.lock:
            self.received.append((msg.topic.split("/")[3], seq))

    def _confirm_loop(self) -> None:
        while not self.stop.wait(0.05):
            with self.lock:
                batch, self.received = self.received, []
            per_device: dict[str, list[int]] = {}
            for device, seq in batch:
                per_device.setdefault(device, []).append(seq)
            for payload in encode_acks(per_device):
                self.client.publish(acks_topic("gw-bench"), payload, qos=1)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.client.disconnect()
        self.client.loop_stop()


def drain(path: Path, url: str, total: int, delivery: str = "confirm") -> float:
    """Readings/s drained from the buffer to the broker by the gateway's publisher."""
    config = parse_config(
        {
            "gateway_id": "gw-bench",
            "broker_url": url,
            "buffer_path": str(path),
            "devices": [],
            "max_inflight": 1000,
            "delivery": delivery,
        },
        "bench",
    )
    stop = threading.Event()
    thread = threading.Thread(target=run_gateway, args=(config, stop))
    buffer = Buffer(path)
    start = time.perf_counter()
    thread.start()
    while buffer.depth() > 0:
        time.sleep(0.01)
    elapsed = time.perf_counter() - start
    stop.set()
    thread.join()
    buffer.close()
    return total / elapsed


def one_round(tmp: Path, port: int, url: str, args: argparse.Namespace) -> dict[str, float]:
    """Every figure once, side by side."""
    path = tmp / f"buffer-{time.monotonic_ns()}.db"
    normal = commit(
        tmp / f"normal-{time.monotonic_ns()}.db",
        args.readings,
        args.per_message,
        args.per_batch,
        sync="normal",
    )
    full = commit(path, args.readings, args.per_message, args.per_batch)
    puback_path = tmp / f"puback-{time.monotonic_ns()}.db"
    commit(puback_path, args.readings, args.per_message, args.per_batch, sync="normal")
    messages = payloads(path)
    total = sum(n for _, _, n in messages)
    ingest = StandInIngest(port)
    try:
        baseline = bare_paho(port, messages)
        drained = drain(path, url, total)
        puback = drain(puback_path, url, total, "puback")
    finally:
        ingest.close()
    return {
        "baseline": baseline,
        "full": full,
        "normal": normal,
        "drain": drained,
        "drain_puback": puback,
        "messages": len(messages),
    }


def main() -> None:
    """Print the figures and ratios (median over rounds of side-by-side runs)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--readings", type=int, default=200_000)
    parser.add_argument("--per-message", type=int, default=100)
    parser.add_argument("--per-batch", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running_mosquitto(Path(tmp) / "mosquitto") as broker:
        rounds = [one_round(Path(tmp), broker.port, broker.url, args) for _ in range(args.rounds)]
    print(
        f"{rounds[0]['messages']} messages x {args.per_message} readings, driver batches of "
        f"{args.per_batch}, {args.rounds} rounds (median ratio of side-by-side runs)"
    )
    print(
        f"bare paho publisher : {statistics.median(r['baseline'] for r in rounds):12,.0f} readings/s"
    )
    for key, label in (
        ("full", "buffer commit fsync"),
        ("normal", "commit sync=normal"),
        ("drain", "drain to broker"),
        ("drain_puback", "drain, puback"),
    ):
        rate = statistics.median(r[key] for r in rounds)
        ratio = statistics.median(r[key] / r["baseline"] for r in rounds)
        print(f"{label:<20}: {rate:12,.0f} readings/s  ratio {ratio:.2f}")
    print("goal: each ratio >= 0.5 (drain: with ingest's confirmations)")


if __name__ == "__main__":
    main()
