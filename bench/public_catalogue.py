"""Part 3 of bench/api.py: the public catalogue with many published trials, read anonymously.

`seed_published(data_dir, count)` applies `count` small rain-gauge trials, issues one real
report (no PDF) and gives every trial a copy of it as its issued v1 (the page shows the
registry's titles and the frozen metrics; serving cost does not depend on which metrics),
then publishes each with `publish_version`, as `innotrial report publish` does.
`load(...)` measures latencies of anonymous GETs with concurrent keep-alive clients.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from registry.apply import apply_trial
from registry.db import open_registry
from reports.publish import publish_version
from reports.versions import reports_root
from telemetry.store import open_store
from telemetry.store.base import TimeSeriesStore
from telemetry.trial_spec import parse_trial_spec
from telemetry.wire import Reading, ReceivedReading

Definition = Callable[[str, list[tuple[str, str]], int], dict[str, Any]]
MINUTE_MS = 60_000


def _write_pair(store: TimeSeriesStore, trial_id: str, t0_ms: int, minutes: int) -> None:
    rows = []
    for i in range(minutes):
        ts = t0_ms + i * MINUTE_MS
        rows.append(
            ReceivedReading(Reading(f"{trial_id}-ref", ts, {"rain_mm": 0.1 * (i % 4)}), ts + 300)
        )
        rows.append(
            ReceivedReading(Reading(f"{trial_id}-dut", ts, {"rain_mm": 0.1 * (i % 4)}), ts + 300)
        )
    store.write(rows)


def seed_published(data_dir: Path, count: int, definition: Definition, t0_ms: int) -> float:
    """`count` published trials t-pub-000...; returns the seconds the setup took."""
    from reports.build import build_report

    started = time.perf_counter()
    minutes = 24 * 60
    ids = [f"t-pub-{i:03d}" for i in range(count)]
    registry = open_registry(f"sqlite:///{data_dir / 'registry.db'}")
    with registry.session() as session:
        for trial_id in ids:
            devices = [(f"{trial_id}-dut", "under_test"), (f"{trial_id}-ref", "reference")]
            apply_trial(session, parse_trial_spec(definition(trial_id, devices, minutes)))
    template = ids[0]
    with (
        registry.session() as session,
        open_store(f"sqlite:///{data_dir / 'readings.db'}") as store,
    ):
        _write_pair(store, template, t0_ms, minutes)
        from registry.queries import get_trial_spec

        spec = get_trial_spec(session, template)
        build_report(spec, store, {}, reports_root(data_dir), data_dir, with_pdf=False)
    source = reports_root(data_dir) / template / "v1"
    for trial_id in ids[1:]:
        shutil.copytree(source, reports_root(data_dir) / trial_id / "v1")
    with registry.session() as session:
        for trial_id in ids:
            publish_version(session, data_dir, trial_id, None, "bench")
    registry.close()
    return time.perf_counter() - started


def load(base_url: str, path: str, clients: int, requests: int,
         headers: dict[str, str] | None = None) -> list[float]:
    """Latencies (s) of `requests` GETs of `path` by each of `clients` threads started together."""
    latencies: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def worker() -> None:
        with httpx.Client(base_url=base_url, trust_env=False, timeout=120) as client:
            start.wait()
            for _ in range(requests):
                began = time.perf_counter()
                response = client.get(path, headers=headers)
                took = time.perf_counter() - began
                response.raise_for_status()
                with lock:
                    latencies.append(took)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies
