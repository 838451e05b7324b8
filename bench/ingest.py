"""End-to-end ingest throughput and latency, with baselines measured in the same run.

    .venv/bin/python bench/ingest.py [--messages-per-publisher 2500] [--latency-s 10]

A private Mosquitto (QoS 1, persistence on) and a private influxd are started. For each
consumer the broker is first loaded by 4 publisher processes (60 readings per message) while
the consumer's persistent session is offline; the consumer then connects and drains it:
  - bare: a paho subscriber that only counts messages (auto-ack),
  - raw engine: the store engine alone, on the same readings in batches of 20,000 (the ingest
    batch size): SQLite `executemany` into a plain table with the store's schema and PRAGMAs,
    InfluxDB POSTs of line protocol rendered beforehand (bench/store_write.py's baselines);
    TimeSeriesStore.write of the same batches is printed too, for where the time goes,
  - ingest: IngestWorker (validation, batching, store write, manual acks) into each store.
The goal ratio is ingest / the slower of bare and raw engine.
With `--workers 1,2` (the default) ingest is also measured as 2 worker processes on one
shared subscription, the scale-out docs/deployment.md describes. Then p50/p99
publish-to-stored latency of one worker with publishers at half its measured rate.
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.store_write import Timing, influx_raw, sqlite_raw  # noqa: E402
from ingest.config import IngestConfig  # noqa: E402
from ingest.processing import Processed  # noqa: E402
from ingest.worker import IngestWorker, tune_gc_for_throughput  # noqa: E402
from ingest.writer import CommitSummary  # noqa: E402
from registry.db import open_registry  # noqa: E402
from telemetry.store import open_store  # noqa: E402
from telemetry.wire import READINGS_SUBSCRIPTION, Reading, ReceivedReading  # noqa: E402
from tests.influx_service import running_influxdb  # noqa: E402
from tests.ingest.conftest import apply_doc, base_ts_ms, trial_doc  # noqa: E402
from tests.services import env_without_proxies, running_mosquitto  # noqa: E402

EngineRun = Callable[[list[list[ReceivedReading]]], Timing]
PER_MESSAGE = 60
GATEWAYS = {"gw-b1": ["dev-b1", "dev-b2"], "gw-b2": ["dev-b3", "dev-b4"]}
PAIRS = [(gw, dev) for gw, devs in GATEWAYS.items() for dev in devs]


def publish_all(port: int, messages: int, start_ts_ms: int, seq_start: int = 0,
                rate_each: float | None = None, stamp: bool = False) -> None:
    """Run 4 publisher processes to completion."""
    procs = []
    for gateway_id, device_id in PAIRS:
        cmd = [sys.executable, "-m", "tests.ingest.publisher", str(port), gateway_id, device_id,
               str(messages), "--start-ts-ms", str(start_ts_ms), "--seq-start", str(seq_start)]
        if rate_each:
            cmd += ["--rate", str(rate_each)]
        if stamp:
            cmd.append("--stamp-sent")
        procs.append(subprocess.Popen(cmd, cwd=REPO, env=env_without_proxies(),
                                      stdout=subprocess.DEVNULL))
    for proc in procs:
        if proc.wait() != 0:
            raise RuntimeError("publisher failed")


def _session_client(client_id: str, manual_ack: bool) -> mqtt.Client:
    return mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5,
                       manual_ack=manual_ack)


def _connect(client: mqtt.Client, port: int) -> None:
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    props.ReceiveMaximum = 1000
    client.connect("127.0.0.1", port, clean_start=False, properties=props)


def forget_sessions(port: int, *client_ids: str) -> None:
    """Delete persistent sessions, so that later publishes are not queued for them too."""
    for client_id in client_ids:
        client = _session_client(client_id, manual_ack=False)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 0
        client.connect("127.0.0.1", port, clean_start=True, properties=props)
        client.loop(1.0)
        client.disconnect()


def bare_subscriber_rate(port: int, messages: int, start_ts_ms: int) -> float:
    """Readings/s a paho subscriber that does nothing drains from a loaded session."""
    total = messages * len(PAIRS)
    client = _session_client("bench-bare", manual_ack=False)
    _connect(client, port)
    client.subscribe(READINGS_SUBSCRIPTION, qos=1)
    client.loop(2.0)
    client.disconnect()
    publish_all(port, messages, start_ts_ms)
    got = 0
    done = threading.Event()

    def on_message(*_args: object) -> None:
        nonlocal got
        got += 1
        if got >= total:
            done.set()

    client = _session_client("bench-bare", manual_ack=False)
    client.on_message = on_message
    started = time.perf_counter()
    _connect(client, port)
    client.loop_start()
    done.wait(600)
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    forget_sessions(port, "bench-bare")
    return total * PER_MESSAGE / elapsed


def raw_batches(readings: int, start_ts_ms: int) -> list[list[ReceivedReading]]:
    """Readings shaped like the stream's (rain_mm, battery_v), in batches of 20,000."""
    batch_size = 20_000
    return [
        [ReceivedReading(Reading("raw-dev", start_ts_ms + (b * batch_size + i) * 1000,
                                 {"rain_mm": float(i % 7) / 10, "battery_v": 3.6}), start_ts_ms)
         for i in range(batch_size)]
        for b in range(max(1, readings // batch_size))
    ]


def store_write_rate(store_url: str, batches: list[list[ReceivedReading]]) -> float:
    """Readings/s of TimeSeriesStore.write of the batches (no MQTT)."""
    store = open_store(store_url)
    started = time.perf_counter()
    for batch in batches:
        store.write(batch)
    elapsed = time.perf_counter() - started
    store.close()
    return sum(map(len, batches)) / elapsed


def ingest_rate(port: int, config: IngestConfig, messages: int, start_ts_ms: int) -> float:
    """Readings/s an IngestWorker drains from a loaded session into the store."""
    total = messages * len(PAIRS) * PER_MESSAGE
    worker = IngestWorker(config)
    worker.start()
    worker.stop()
    publish_all(port, messages, start_ts_ms)
    done = threading.Event()
    worker = IngestWorker(config, on_commit=lambda _b, _s: done.set()
                          if worker.totals.stored >= total else None)
    started = time.perf_counter()
    worker.start()
    done.wait(900)
    elapsed = time.perf_counter() - started
    worker.stop()
    forget_sessions(port, config.client_id)
    if worker.totals.stored != total:
        raise RuntimeError(f"stored {worker.totals.stored}, expected {total}")
    return total / elapsed


def _shared_worker(config: IngestConfig, stored: Synchronized[int], stop: EventType) -> None:
    """One worker process of shared_ingest_rate: count stored readings until told to stop."""
    tune_gc_for_throughput()

    def on_commit(_batch: list[Processed], summary: CommitSummary) -> None:
        with stored.get_lock():
            stored.value += summary.stored

    worker = IngestWorker(config, on_commit=on_commit)
    worker.start()
    stop.wait()
    worker.stop()


def shared_ingest_rate(port: int, config: IngestConfig, workers: int, messages: int,
                       start_ts_ms: int) -> float:
    """Readings/s of `workers` processes on one shared subscription draining the loaded
    sessions (the scale-out of docs/deployment.md); process start-up is inside the time."""
    total = messages * len(PAIRS) * PER_MESSAGE
    configs = [dataclasses.replace(config, client_id=f"{config.client_id}-{n}",
                                   shared_group=config.client_id) for n in range(workers)]
    for member in configs:  # create the sessions, then load them while they are offline
        worker = IngestWorker(member)
        worker.start()
        worker.stop()
    publish_all(port, messages, start_ts_ms)
    context = multiprocessing.get_context("fork")
    stored = context.Value("q", 0)
    stop = context.Event()
    procs = [context.Process(target=_shared_worker, args=(member, stored, stop))
             for member in configs]
    started = time.perf_counter()
    for proc in procs:
        proc.start()
    deadline = started + 300
    while stored.value < total and time.perf_counter() < deadline:
        time.sleep(0.005)
    elapsed = time.perf_counter() - started
    stop.set()
    for proc in procs:
        proc.join(60)
    forget_sessions(port, *(member.client_id for member in configs))
    if stored.value != total:
        raise RuntimeError(f"stored {stored.value}, expected {total}")
    return total / elapsed


def latency_ms(port: int, config: IngestConfig, rate_readings_s: float, seconds: float,
               start_ts_ms: int, seq_start: int) -> tuple[float, float]:
    """p50 and p99 publish-to-stored latency (ms) at `rate_readings_s`."""
    samples: list[int] = []

    def on_commit(batch: list[Processed], _summary: CommitSummary) -> None:
        now_ms = time.time_ns() // 1_000_000
        samples.extend(now_ms - p.sent_ms for p in batch if p.sent_ms is not None)

    worker = IngestWorker(config, on_commit=on_commit)
    worker.start()
    rate_each = rate_readings_s / PER_MESSAGE / len(PAIRS)
    publish_all(port, int(rate_each * seconds), start_ts_ms, seq_start, rate_each, stamp=True)
    time.sleep(1.0)
    worker.stop()
    forget_sessions(port, config.client_id)
    cuts = statistics.quantiles(samples, n=100)
    return cuts[49], cuts[98]


def bench_store(name: str, port: int, store_url: str, database_url: str, messages: int,
                latency_s: float, bare: float, engine: EngineRun,
                worker_counts: list[int]) -> None:
    """Measure and print one store's figures."""
    start = base_ts_ms() - 60 * 86_400_000
    batches = raw_batches(messages * len(PAIRS) * PER_MESSAGE, start)
    wall_s, _cpu_s = engine(batches)
    raw = sum(map(len, batches)) / wall_s
    store_rate = store_write_rate(store_url, raw_batches(len(batches) * 20_000, start + 86_400_000))
    config = IngestConfig(broker_url=f"mqtt://127.0.0.1:{port}", store_url=store_url,
                          database_url=database_url, client_id=f"bench-ingest-{name}")
    rates = {}  # each run's readings 5 days apart (a run spans 1.7 days of readings)
    for run, workers in enumerate(worker_counts):
        run_start = start + (10 + 5 * run) * 86_400_000
        rates[workers] = (ingest_rate(port, config, messages, run_start) if workers == 1 else
                          shared_ingest_rate(port, config, workers, messages, run_start))
    rate = rates[worker_counts[0]]
    p50, p99 = latency_ms(port, config, rate / 2, latency_s, start + 45 * 86_400_000, messages)
    slower = min(bare, raw)
    print(f"{name:>8}: raw engine      {raw:>10,.0f} rows/s   (store.write {store_rate:,.0f}/s)")
    for workers, rate_n in rates.items():
        label = "ingest" if workers == 1 else f"ingest x{workers}"
        print(f"{name:>8}: {label:<15} {rate_n:>10,.0f} readings/s  "
              f"= {rate_n / bare:.2f} x bare subscriber, {rate_n / raw:.2f} x raw engine, "
              f"{rate_n / slower:.2f} x the slower baseline (goal >= 0.5)")
    print(f"{name:>8}: latency at {rate / 2:,.0f} readings/s ({worker_counts[0]} worker): "
          f"p50 {p50:.0f} ms, p99 {p99:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages-per-publisher", type=int, default=2500)
    parser.add_argument("--latency-s", type=float, default=10.0)
    parser.add_argument("--stores", default="sqlite,influxdb")
    parser.add_argument("--workers", default="1,2",
                        help="ingest worker processes to measure, e.g. 1,2 (x2: shared subscription)")
    args = parser.parse_args()
    messages = args.messages_per_publisher
    worker_counts = [int(n) for n in args.workers.split(",")]
    tune_gc_for_throughput()  # as `innotrial ingest` does
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        root = Path(tmp)
        database_url = f"sqlite:///{root / 'registry.db'}"
        registry = open_registry(database_url)
        apply_doc(registry, trial_doc("t-bench", GATEWAYS))
        registry.close()
        with running_mosquitto(root / "mosquitto") as broker:
            bare = bare_subscriber_rate(broker.port, messages, base_ts_ms())
            print(f"stream: 4 publishers x {messages} messages x {PER_MESSAGE} readings, QoS 1")
            print(f"    bare: paho subscriber {bare:>10,.0f} readings/s")
            if "sqlite" in args.stores:
                bench_store("sqlite", broker.port, f"sqlite:///{root / 'readings.db'}",
                            database_url, messages, args.latency_s, bare,
                            lambda batches: sqlite_raw(root / "raw.db", batches), worker_counts)
            if "influxdb" in args.stores:
                with running_influxdb(root / "influxdb") as influx:
                    bench_store("influxdb", broker.port, influx.store_url("bench"),
                                database_url, messages, args.latency_s, bare,
                                lambda batches: influx_raw(influx.base_url, "raw", batches),
                                worker_counts)


if __name__ == "__main__":
    main()
