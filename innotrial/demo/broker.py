"""The demo's broker: amqtt in-process by default, or a private Mosquitto on a free port.

amqtt 0.12 speaks MQTT 3.1.1 only and neither redelivers unacknowledged QoS 1 messages nor
queues for offline sessions: fine for a demo, never for reliability tests or production. The
gateways' end-to-end confirmations (docs/store-and-forward.md) make up for it: `restart()`
drops everything the broker held, and the demo still loses no reading.
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
from typing import Any, Protocol

log = logging.getLogger(__name__)


class DemoBrokerError(Exception):
    """The demo broker could not start."""


class DemoBroker(Protocol):
    """A broker the demo started and must stop."""

    url: str
    engine: str

    def stop(self) -> None:
        """Stop the broker."""

    def restart(self) -> None:
        """Stop and start again on the same port, losing all the broker's state."""


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


def _quiet_loop_errors(_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """One debug line instead of asyncio's traceback on stderr for an abandoned client task.

    amqtt leaves a task with an exception behind when a client drops mid-handshake (a gateway
    reconnecting on a loaded machine); the demo's console is not the place for that.
    """
    log.debug("embedded broker: %s", context.get("exception") or context.get("message"))


class EmbeddedAmqtt:
    """amqtt running on its own event loop in a daemon thread."""

    engine = "amqtt (embedded, MQTT 3.1.1)"

    def __init__(self) -> None:
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
        self._config = config
        self._start()

    def _start(self) -> None:
        from amqtt.broker import Broker

        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(_quiet_loop_errors)
        self._broker = Broker(self._config, loop=self._loop)
        self._thread = threading.Thread(target=self._run, name="amqtt-broker", daemon=True)
        self._thread.start()
        _wait_for_port(self.port, 15)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._broker.start())
        self._loop.run_forever()

    async def _shutdown(self) -> None:
        # Close the listeners first: amqtt's shutdown may wait on client handlers for long,
        # and a restart needs the port back.
        for server in self._broker._servers.values():
            with contextlib.suppress(Exception):
                await server.close_instance()
        await self._broker.shutdown()

    def stop(self) -> None:
        """Shut the broker down (bounded wait) and stop its loop."""
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        with contextlib.suppress(Exception):
            future.result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def restart(self) -> None:
        """Stop and start again on the same port: sessions, queues and retained messages go."""
        self.stop()
        self._start()


class PrivateMosquitto:
    """A Mosquitto process with its own config, persistence and lifted queue limits."""

    engine = "mosquitto (private)"

    def __init__(self, binary: str) -> None:
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self._dir = Path(tempfile.mkdtemp(prefix="innotrial-demo-mosquitto-"))
        self._binary = binary
        self._conf = self._dir / "mosquitto.conf"
        conf = self._conf
        # as root, Mosquitto would drop to its own user, which cannot write into our temp dir
        run_as = "user root\n" if os.geteuid() == 0 else ""
        conf.write_text(
            f"{run_as}listener {self.port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence true\npersistence_location {self._dir}/\n"
            "max_inflight_messages 0\nmax_queued_messages 0\nmax_queued_bytes 0\n"
        )
        self._start()

    def _start(self) -> None:
        self._proc = subprocess.Popen(
            [self._binary, "-c", str(self._conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.port, 15)

    def _terminate(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()

    def stop(self) -> None:
        """Terminate the process and remove its directory."""
        self._terminate()
        shutil.rmtree(self._dir, ignore_errors=True)

    def restart(self) -> None:
        """Kill the process and start it again with its persistence file deleted."""
        self._proc.kill()
        self._proc.wait(timeout=10)
        (self._dir / "mosquitto.db").unlink(missing_ok=True)
        self._start()


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
