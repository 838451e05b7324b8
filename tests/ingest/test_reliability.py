"""Crashes and outages: SIGKILL of the worker process, InfluxDB down for 30 s."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from ingest.worker import IngestWorker
from telemetry.store import open_store
from tests.influx_service import running_influxdb
from tests.ingest.conftest import (
    TrialEnv,
    base_ts_ms,
    finish_publishers,
    start_publisher,
    stored_count,
    wait_until,
    worker_config,
)
from tests.services import Mosquitto, env_without_proxies

INNOTRIAL = str(Path(sys.executable).parent / "innotrial")
PER_MESSAGE = 60


def _ingest_process(broker: Mosquitto, env: TrialEnv, client_id: str,
                    log: Path) -> subprocess.Popen[bytes]:
    environ = env_without_proxies() | {
        "INNOTRIAL_DATABASE_URL": env.database_url, "INNOTRIAL_STORE_URL": env.store_url,
        "INNOTRIAL_BROKER_URL": broker.url, "INNOTRIAL_INGEST__BATCH_MAX_DELAY_MS": "50",
        "INNOTRIAL_DATA_DIR": str(log.parent),
    }
    with log.open("ab") as handle:
        return subprocess.Popen([INNOTRIAL, "ingest", "--client-id", client_id], env=environ,
                                stdout=handle, stderr=subprocess.STDOUT, cwd=log.parent)


@pytest.mark.slow
def test_sigkill_mid_stream_then_restart_loses_and_doubles_nothing(
    mosquitto: Mosquitto, make_env: Callable[..., TrialEnv], tmp_path: Path,
    any_store_url: str,
) -> None:
    gateways = {"gw-k1": ["dev-k1", "dev-k2"], "gw-k2": ["dev-k3", "dev-k4"]}
    devices = [d for names in gateways.values() for d in names]
    env = make_env(gateways, any_store_url)
    client_id = f"ingest-kill-{os.getpid()}-{time.monotonic_ns()}"
    log = tmp_path / "ingest.log"
    worker = _ingest_process(mosquitto, env, client_id, log)
    messages = 400
    expected = len(devices) * messages * PER_MESSAGE
    start = base_ts_ms()
    try:
        # The persistent session (and its subscription) must exist before anything is published.
        wait_until(lambda: "event=ingest_started" in log.read_text(), 60, "worker started")
        procs = [start_publisher(mosquitto.port, gw, dev, messages, start, rate=60)
                 for gw, names in gateways.items() for dev in names]
        wait_until(lambda: stored_count(env.store_url, devices) > expected // 5, 60, "some stored")
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        at_kill = stored_count(env.store_url, devices)
        assert 0 < at_kill < expected, "the kill must happen mid-stream"
        time.sleep(1.0)
        worker = _ingest_process(mosquitto, env, client_id, log)
        finish_publishers(procs, messages)
        wait_until(lambda: stored_count(env.store_url, devices) >= expected, 120, "all stored")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0, log.read_text()[-3000:]
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    store = open_store(env.store_url)
    try:
        for device in devices:
            assert store.count(device, 0, 2**62) == messages * PER_MESSAGE
            stats = store.device_stats(device)
            assert (stats.seq_min, stats.seq_max, stats.seq_missing) == (0, messages - 1, 0)
    finally:
        store.close()
    assert "event=ingest_stopped" in log.read_text()


@pytest.mark.slow
def test_influxdb_down_for_30_s_loses_nothing_and_memory_stays_bounded(
    mosquitto: Mosquitto, make_env: Callable[..., TrialEnv], tmp_path: Path,
    start_worker: Callable[..., IngestWorker],
) -> None:
    with running_influxdb(tmp_path / "influx") as influx:
        gateways = {"gw-o1": ["dev-o1", "dev-o2"], "gw-o2": ["dev-o3", "dev-o4"]}
        devices = [d for names in gateways.values() for d in names]
        env = make_env(gateways, influx.store_url("outage"))
        max_inflight = 200
        worker = start_worker(worker_config(mosquitto, env, max_inflight_messages=max_inflight))
        process = psutil.Process()
        messages = 900  # 4 x 900 x 60 = 216,000 readings over ~45 s at 20 messages/s each
        start = base_ts_ms()
        procs = [start_publisher(mosquitto.port, gw, dev, messages, start, rate=20)
                 for gw, names in gateways.items() for dev in names]
        wait_until(lambda: worker.totals.stored > 0, 60, "first readings stored")
        influx.stop()
        rss_start = process.memory_info().rss
        peak_inflight, peak_rss = 0, rss_start
        stop_sampling = threading.Event()

        def sample() -> None:
            nonlocal peak_inflight, peak_rss
            while not stop_sampling.wait(0.2):
                peak_inflight = max(peak_inflight, worker._received - worker._acked)
                peak_rss = max(peak_rss, process.memory_info().rss)

        sampler = threading.Thread(target=sample)
        sampler.start()
        stored_at_outage = worker.totals.stored
        time.sleep(30)
        stopped_progress = worker.totals.stored - stored_at_outage
        influx.start()
        finish_publishers(procs, messages)
        expected = len(devices) * messages * PER_MESSAGE
        wait_until(lambda: worker.totals.stored >= expected, 180, "all stored after the outage")
        stop_sampling.set()
        sampler.join()
        worker.stop()
        errors = worker.metrics.store_errors.labels("store")._value.get()
        assert errors > 0, "the outage was not noticed"
        assert stopped_progress == 0
        # The bounded queue plus the batch being written; the broker's Receive Maximum alone is
        # not enough (Mosquitto 2.0.11 stops honouring it once acks flow).
        assert peak_inflight <= 2 * max_inflight
        assert peak_rss - rss_start < 150 * 2**20, f"RSS grew {(peak_rss - rss_start) >> 20} MiB"
        assert worker.totals.stored == expected
        assert stored_count(env.store_url, devices) == expected
