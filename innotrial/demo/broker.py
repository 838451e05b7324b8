"""The demo's broker: amqtt in-process by default, or a private Mosquitto on a free port.

amqtt 0.12 speaks MQTT 3.1.1 only and neither redelivers unacknowledged QoS 1 messages nor
queues for offline sessions: fine for a demo, never for reliability tests or production.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)


class DemoBrokerError(Exception):
    """The demo broker could not start."""


class DemoBroker(Protocol):
    """A broker the demo started and must stop."""

    url: str
    engine: str

    def stop(self) -> None:
        """Stop the broker."""


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise DemoBrokerError(f"broker did not listen on 127.0.0.1:{port} within {timeout_s} s")


class EmbeddedAmqtt:
    """amqtt running on its own event loop in a daemon thread."""

    engine = "amqtt (embedded, MQTT 3.1.1)"

    def __init__(self) -> None:
        from amqtt.broker import Broker

        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        self._loop = asyncio.new_event_loop()
        self._broker = Broker(config, loop=self._loop)
        self._thread = threading.Thread(target=self._run, name="amqtt-broker", daemon=True)
        self._thread.start()
        _wait_for_port(self.port, 15)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._broker.start())
        self._loop.run_forever()

    def stop(self) -> None:
        """Shut the broker down (bounded wait) and stop its loop."""
        future = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop)
        with contextlib.suppress(Exception):
            future.result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


class PrivateMosquitto:
    """A Mosquitto process with its own config, persistence and lifted queue limits."""

    engine = "mosquitto (private)"

    def __init__(self, binary: str) -> None:
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self._dir = Path(tempfile.mkdtemp(prefix="innotrial-demo-mosquitto-"))
        conf = self._dir / "mosquitto.conf"
        # as root, Mosquitto would drop to its own user, which cannot write into our temp dir
        run_as = "user root\n" if os.geteuid() == 0 else ""
        conf.write_text(
            f"{run_as}listener {self.port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence true\npersistence_location {self._dir}/\n"
            "max_inflight_messages 0\nmax_queued_messages 0\nmax_queued_bytes 0\n"
        )
        self._proc = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _wait_for_port(self.port, 15)

    def stop(self) -> None:
        """Terminate the process and remove its directory."""
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
        shutil.rmtree(self._dir, ignore_errors=True)


def start_demo_broker(engine: str) -> DemoBroker:
    """Start the demo broker: 'amqtt', 'mosquitto', or 'auto' (Mosquitto where installed)."""
    mosquitto = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if engine == "mosquitto" or (engine == "auto" and mosquitto):
        if mosquitto is None:
            raise DemoBrokerError("--broker-engine mosquitto: no mosquitto binary found")
        return PrivateMosquitto(mosquitto)
    return EmbeddedAmqtt()
