"""Portal API benchmark: streamed CSV download and metrics latency, on a real uvicorn server.

1. Streaming download of N readings (default 5,000,000) as CSV: the server's peak RSS during
   the download (sampled every 20 ms) against its RSS before, and the download rate as a ratio
   to reading the same rows from the store directly (iter_read, same chunks), in the same run.
2. p50/p99 latency of GET /api/v1/trials/{id}/metrics under 20 concurrent clients, for a trial
   with a month of one-minute readings from a device under test and its reference.
3. The public catalogue page /public/reports with N (default 200) published trials, read by
   20 concurrent anonymous clients: p50/p99, and its ratio to GET /api/v1/health measured the
   same way in the same run (rounds alternate, so both see the same machine load).

    .venv/bin/python bench/api.py [--readings 5000000] [--clients 20] [--requests 20]
                                  [--published 200] [--parts download,metrics,catalogue]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.public_catalogue import load, seed_published
from portal_api.auth import create_user
from registry.apply import apply_trial
from registry.db import open_registry
from telemetry.store import open_store
from telemetry.store.base import TimeSeriesStore
from telemetry.trial_spec import parse_trial_spec
from telemetry.wire import Reading, ReceivedReading
from tests.services import env_without_proxies, free_port, wait_for_port

T0_MS = 1_600_000_000_000  # 2020-09-13: every window is in the past
MINUTE_MS = 60_000
BATCH = 50_000
COLUMNS = ["rain_mm", "battery_v", "rssi_dbm"]


def definition(trial_id: str, devices: list[tuple[str, str]], minutes: int) -> dict[str, object]:
    """A rain-gauge trial over `minutes` from T0 with the given (device id, role) pairs."""
    end_s = (T0_MS + minutes * MINUTE_MS) // 1000
    comparisons = [{"under_test": devices[0][0], "reference": devices[1][0]}] if len(devices) > 1 else []
    return {
        "wish": {"id": f"w-{trial_id}", "title": "Bench", "department": "DSD"},
        "solution": {"id": f"s-{trial_id}", "title": "Bench", "provider": "bench"},
        "trial": {
            "id": trial_id, "site": {"id": "site-bench"},
            "start": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(T0_MS // 1000)),
            "end": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(end_s)),
            "gateways": [{"id": "gw-bench"}],
            "devices": [{"id": d, "profile": "rain_gauge", "gateway": "gw-bench", "role": r}
                        for d, r in devices],
            "comparisons": comparisons,
            "acceptance": [{"metric": "quality.completeness", "op": ">=", "value": 0.95}],
        },
    }


def fill(store: TimeSeriesStore, device_id: str, count: int, scale: float = 1.0) -> None:
    """Write `count` one-minute readings of a device, in batches."""
    for start in range(0, count, BATCH):
        batch = [
            ReceivedReading(Reading(device_id, T0_MS + i * MINUTE_MS,
                                    {"rain_mm": round(0.1 * (i % 7) * scale, 3), "battery_v": 3.6}),
                            T0_MS + i * MINUTE_MS + 400)
            for i in range(start, min(count, start + BATCH))
        ]
        store.write(batch)


def setup(data_dir: Path, readings: int) -> str:
    """Registry, store and an admin token for the two bench trials."""
    registry = open_registry(f"sqlite:///{data_dir / 'registry.db'}")
    with registry.session() as session:
        apply_trial(session, parse_trial_spec(definition("t-download", [("dl-dut", "under_test")],
                                                         readings)))
        month = 30 * 24 * 60
        apply_trial(session, parse_trial_spec(definition(
            "t-metrics", [("m-dut", "under_test"), ("m-ref", "reference")], month)))
        token = create_user(session, "bench", "admin")[1]
    registry.close()
    store = open_store(f"sqlite:///{data_dir / 'readings.db'}")
    started = time.perf_counter()
    fill(store, "dl-dut", readings)
    print(f"setup: wrote {readings:,} readings in {time.perf_counter() - started:.1f} s")
    fill(store, "m-dut", 30 * 24 * 60, 1.02)
    fill(store, "m-ref", 30 * 24 * 60)
    store.close()
    return token


def store_baseline(data_dir: Path, readings: int) -> float:
    """Seconds to read every download row straight from the store (same chunks as the API)."""
    store = open_store(f"sqlite:///{data_dir / 'readings.db'}")
    started = time.perf_counter()
    rows = sum(len(frame) for frame in store.iter_read("dl-dut", 0, 2**62, COLUMNS))
    elapsed = time.perf_counter() - started
    store.close()
    assert rows == readings, (rows, readings)
    return elapsed


class RssSampler(threading.Thread):
    """Samples a process's RSS every 20 ms."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.samples: list[int] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples.append(self.process.memory_info().rss)
            time.sleep(0.02)


def download(base_url: str, token: str, readings: int, pid: int) -> tuple[float, RssSampler, int]:
    """Stream the whole CSV; returns seconds, the RSS sampler and bytes received."""
    sampler = RssSampler(pid)
    received = lines = 0
    with httpx.Client(base_url=base_url, trust_env=False, timeout=600) as client:
        sampler.start()
        started = time.perf_counter()
        with client.stream("GET", "/api/v1/trials/t-download/readings",
                           headers={"Authorization": f"Bearer {token}"}) as response:
            response.raise_for_status()
            for chunk in response.iter_bytes():
                received += len(chunk)
                lines += chunk.count(b"\n")
        elapsed = time.perf_counter() - started
        sampler.stop.set()
        sampler.join()
    assert lines == readings + 1, (lines, readings)
    return elapsed, sampler, received


def metrics_latency(base_url: str, token: str, clients: int, requests: int) -> list[float]:
    """Latencies (s) of the metrics endpoint with `clients` concurrent clients."""
    return load(base_url, "/api/v1/trials/t-metrics/metrics", clients, requests,
                headers={"Authorization": f"Bearer {token}"})


def percentile(values: list[float], share: float) -> float:
    """The `share` quantile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def serve(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`innotrial api` on a free port, in its own process."""
    port = free_port()
    env = {**env_without_proxies(), "INNOTRIAL_DATA_DIR": str(data_dir), "INNOTRIAL_LOG_LEVEL": "WARNING"}
    env.pop("INNOTRIAL_DATABASE_URL", None)
    env.pop("INNOTRIAL_STORE_URL", None)
    command = [sys.executable, "-c", "from innotrial.cli import main; main()", "api", "--port", str(port)]
    proc = subprocess.Popen(command, env=env)
    wait_for_port(port, timeout_s=60, proc=proc)
    return proc, f"http://127.0.0.1:{port}"


def report_download(readings: int, api_s: float, store_s: float, sampler: RssSampler,
                    received: int, idle_rss: int) -> None:
    mib = 1024 * 1024
    samples = sampler.samples or [idle_rss]
    quarter = [samples[min(len(samples) - 1, int(q * len(samples)))] for q in (0.25, 0.5, 0.75)]
    print(f"download: {readings:,} readings, {received / mib:,.0f} MiB CSV in {api_s:.1f} s "
          f"= {readings / api_s:,.0f} readings/s")
    print(f"store iter_read of the same rows: {store_s:.1f} s = {readings / store_s:,.0f} readings/s")
    print(f"ratio API CSV rate / direct store read rate: {store_s / api_s:.2f}")
    print(f"server RSS: before {idle_rss / mib:.0f} MiB, peak during download "
          f"{max(samples) / mib:.0f} MiB (+{(max(samples) - idle_rss) / mib:.0f} MiB), "
          f"at 25/50/75% of the download {', '.join(f'{q / mib:.0f}' for q in quarter)} MiB "
          f"({len(samples)} samples)")


def catalogue_latency(base_url: str, clients: int, requests: int, published: int) -> None:
    """Part 3: the cached catalogue page against /api/v1/health, alternating rounds."""
    first = httpx.get(f"{base_url}/public/reports", trust_env=False, timeout=600)
    first.raise_for_status()
    shown = first.text.count('class="card report"')
    assert shown == published, (shown, published)
    print(f"catalogue: {published} published trials, page {len(first.content) / 1024:.0f} KiB")
    page: list[float] = []
    health: list[float] = []
    for _ in range(2):
        health += load(base_url, "/api/v1/health", clients, requests)
        page += load(base_url, "/public/reports", clients, requests)
    for name, values in (("GET /api/v1/health", health), ("GET /public/reports", page)):
        print(f"{name}: {len(values)} requests from {clients} concurrent anonymous clients: "
              f"p50 {percentile(values, 0.5) * 1000:.1f} ms, "
              f"p99 {percentile(values, 0.99) * 1000:.1f} ms")
    print(f"ratio cached catalogue / health: p50 "
          f"{percentile(page, 0.5) / percentile(health, 0.5):.2f}, p99 "
          f"{percentile(page, 0.99) / percentile(health, 0.99):.2f}")


def main() -> None:
    """Run the benchmarks and print figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=5_000_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=20, help="requests per client")
    parser.add_argument("--published", type=int, default=200, help="published trials")
    parser.add_argument("--parts", default="download,metrics,catalogue",
                        help="comma-separated: download, metrics, catalogue")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    with tempfile.TemporaryDirectory(prefix="innotrial-bench-api-") as tmp:
        data_dir = Path(tmp)
        token = setup(data_dir, args.readings if "download" in parts else 1)
        if "catalogue" in parts:
            took_s = seed_published(data_dir, args.published, definition, T0_MS)
            print(f"setup: published {args.published} trials in {took_s:.1f} s")
        store_s = store_baseline(data_dir, args.readings) if "download" in parts else 0.0
        proc, base_url = serve(data_dir)
        try:
            if "download" in parts:
                idle_rss = psutil.Process(proc.pid).memory_info().rss
                api_s, sampler, received = download(base_url, token, args.readings, proc.pid)
                report_download(args.readings, api_s, store_s, sampler, received, idle_rss)
            if "catalogue" in parts:
                catalogue_latency(base_url, args.clients, args.requests, args.published)
            if "metrics" not in parts:
                return
            headers = {"Authorization": f"Bearer {token}"}
            started = time.perf_counter()
            httpx.get(f"{base_url}/api/v1/trials/t-metrics/metrics", headers=headers,
                      trust_env=False, timeout=600).raise_for_status()
            print(f"metrics: first (uncached) computation {time.perf_counter() - started:.2f} s "
                  f"for 2 devices x 43,200 readings")
            latencies = metrics_latency(base_url, token, args.clients, args.requests)
            print(f"metrics: {len(latencies)} requests from {args.clients} concurrent clients: "
                  f"p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
                  f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms, "
                  f"mean {statistics.fmean(latencies) * 1000:.1f} ms")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
