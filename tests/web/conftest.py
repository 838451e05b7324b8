"""A real dashboard site for browser tests: Mosquitto, ingest and `innotrial api` processes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from portal_api.web.sample import sample_readings, seed_registry, write_readings
from registry.db import open_registry
from telemetry.store import open_store
from tests.services import (
    Mosquitto,
    env_without_proxies,
    free_port,
    running_mosquitto,
    wait_for_port,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
BIN = Path(sys.executable).parent


@dataclass
class Site:
    """A running portal with the sample trials: base URL, broker and users' tokens."""

    base_url: str
    data_dir: Path
    broker: Mosquitto
    tokens: dict[str, str]
    seeded_ms: int


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def _process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            _stop(proc)


def _wait_subscribed(log: Path, proc: subprocess.Popen[bytes], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ingest exited: {log.read_text(errors='replace')}")
        if "ingest_started" in log.read_text(errors="replace"):
            return
        time.sleep(0.1)
    raise TimeoutError(f"ingest did not start: {log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Seeded registry and store, a private broker, a real ingest worker and API server."""
    root = tmp_path_factory.mktemp("web")
    data_dir = root / "data"
    now_ms = int(time.time() * 1000)
    registry = open_registry(f"sqlite:///{data_dir / 'registry.db'}")
    tokens = seed_registry(registry, now_ms)
    registry.close()
    with open_store(f"sqlite:///{data_dir / 'readings.db'}") as store:
        write_readings(store, sample_readings(now_ms, hours=6))
    with running_mosquitto(root / "mosquitto") as broker:
        env = {**env_without_proxies(), "INNOTRIAL_DATA_DIR": str(data_dir),
               "INNOTRIAL_BROKER_URL": broker.url, "INNOTRIAL_LOG_LEVEL": "INFO"}
        port = free_port()
        ingest_log = root / "ingest.log"
        with (
            _process([str(BIN / "innotrial"), "ingest", "--client-id", "web-tests"], env,
                     ingest_log) as ingest,
            _process([str(BIN / "innotrial"), "api", "--host", "127.0.0.1", "--port", str(port)],
                     env, root / "api.log") as api,
        ):
            wait_for_port(port, proc=api)
            _wait_subscribed(ingest_log, ingest)
            yield Site(f"http://127.0.0.1:{port}", data_dir, broker, tokens, now_ms)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's headless Chromium driven by Playwright."""
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    manager = sync_playwright().start()
    try:
        chromium = manager.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        manager.stop()
