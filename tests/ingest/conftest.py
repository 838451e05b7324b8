"""Fixtures of the ingest tests: a registered trial, a worker, publishers."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ingest.config import IngestConfig
from ingest.worker import IngestWorker
from registry.apply import apply_trial
from registry.db import Registry, open_registry
from telemetry.store import open_store
from telemetry.trial_spec import parse_trial_spec
from tests.services import Mosquitto, env_without_proxies

REPO = Path(__file__).resolve().parents[2]
DAY_MS = 86_400_000


def trial_doc(trial_id: str, gateways: dict[str, list[str]], profile: str = "rain_gauge") -> dict:
    """A trial definition with the given gateways and their devices (all one profile)."""
    devices = [
        {"id": device, "profile": profile, "gateway": gateway,
         "role": "under_test" if i % 2 == 0 else "reference"}
        for gateway, names in gateways.items() for i, device in enumerate(names)
    ]
    return {
        "wish": {"id": f"w-{trial_id}", "title": "Rain data", "department": "DSD"},
        "solution": {"id": f"s-{trial_id}", "title": "Gauge", "provider": "acme"},
        "trial": {
            "id": trial_id,
            "site": {"id": f"site-{trial_id}", "name": "Roof", "timezone": "Asia/Hong_Kong"},
            "start": "2026-01-01T00:00:00+08:00",
            "end": "2027-01-01T00:00:00+08:00",
            "gateways": [{"id": g} for g in gateways],
            "devices": devices,
            "comparisons": [],
            "acceptance": [],
        },
    }


@dataclass
class TrialEnv:
    """A registry with one trial applied, and the store URL to use."""

    database_url: str
    store_url: str
    registry: Registry
    trial_id: str


def apply_doc(registry: Registry, doc: dict) -> None:
    """Apply a trial definition dict to the registry."""
    with registry.session() as session:
        apply_trial(session, parse_trial_spec(doc, "test"))


@pytest.fixture
def make_env(tmp_path: Path) -> Iterator[Callable[..., TrialEnv]]:
    """Factory: a SQLite registry with a trial of `gateways`, and a store URL."""
    opened: list[Registry] = []

    def make(gateways: dict[str, list[str]], store_url: str | None = None,
             trial_id: str = "t-ingest") -> TrialEnv:
        database_url = f"sqlite:///{tmp_path / 'registry.db'}"
        registry = open_registry(database_url)
        opened.append(registry)
        apply_doc(registry, trial_doc(trial_id, gateways))
        return TrialEnv(database_url, store_url or f"sqlite:///{tmp_path / 'readings.db'}",
                        registry, trial_id)

    yield make
    for registry in opened:
        registry.close()


def worker_config(broker: Mosquitto, env: TrialEnv, **overrides: object) -> IngestConfig:
    """An IngestConfig for a test: fast batches, quick registry refresh."""
    values: dict[str, object] = {
        "broker_url": broker.url, "store_url": env.store_url, "database_url": env.database_url,
        "client_id": f"ingest-{time.monotonic_ns()}", "batch_max_delay_ms": 50,
        "registry_refresh_s": 0.5,
    }
    values.update(overrides)
    return IngestConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
def start_worker() -> Iterator[Callable[..., IngestWorker]]:
    """Factory: start an in-process IngestWorker; stopped at teardown."""
    workers: list[IngestWorker] = []

    def start(config: IngestConfig) -> IngestWorker:
        worker = IngestWorker(config)
        worker.start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        if not worker._stopping.is_set():
            worker.stop()


def stored_count(store_url: str, devices: list[str]) -> int:
    """How many readings of these devices the store holds."""
    store = open_store(store_url)
    try:
        return sum(store.count(d, 0, 2**62) for d in devices)
    finally:
        store.close()


def wait_until(predicate: Callable[[], bool], timeout_s: float = 60.0, what: str = "") -> None:
    """Poll until predicate() is true, or fail the test."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what or predicate}")


def start_publisher(port: int, gateway_id: str, device_id: str, messages: int, start_ts_ms: int,
                    seq_start: int = 0, rate: float | None = None) -> subprocess.Popen[bytes]:
    """A publisher subprocess (tests/ingest/publisher.py)."""
    cmd = [sys.executable, "-m", "tests.ingest.publisher", str(port), gateway_id, device_id,
           str(messages), "--start-ts-ms", str(start_ts_ms), "--seq-start", str(seq_start)]
    if rate:
        cmd += ["--rate", str(rate)]
    return subprocess.Popen(cmd, cwd=REPO, env=env_without_proxies(), stdout=subprocess.PIPE)


def finish_publishers(procs: list[subprocess.Popen[bytes]], expected_each: int) -> None:
    """Wait for publisher subprocesses and check each had every message PUBACKed."""
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0
        assert int(out.strip()) == expected_each


def base_ts_ms() -> int:
    """A start time well in the past so that no reading is in the future."""
    return (time.time_ns() // 1_000_000) - 30 * DAY_MS


@pytest.fixture(params=["sqlite", "influxdb"])
def any_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store URL on each backend: a SQLite file, or a database on the session influxd."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'readings.db'}"
    influxdb = request.getfixturevalue("influxdb")
    database = request.getfixturevalue("influx_database")
    return str(influxdb.store_url(database))
