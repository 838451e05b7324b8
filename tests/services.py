"""Real services for integration tests, each on a free loopback port with its own data dir."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    port: int, timeout_s: float = 20.0, proc: subprocess.Popen[bytes] | None = None
) -> None:
    """Block until 127.0.0.1:port accepts connections, or raise."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"service on port {port} exited with {proc.returncode}")
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=0.5),
        ):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_s} s")


# Started as root, Mosquitto drops to the `mosquitto` user, which cannot write persistence into
# pytest's private temp dirs: sessions would not survive a restart. Keep the starting user.
RUN_AS = "user root\n" if os.geteuid() == 0 else ""

def stop_process(
    proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM, timeout_s: float = 10
) -> None:
    """Send `sig` to a running service process, then SIGKILL it after `timeout_s`."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


MOSQUITTO_CONF = """\
{run_as}listener {port} 127.0.0.1
allow_anonymous {anonymous}
persistence true
persistence_location {data_dir}/
autosave_interval 1
max_inflight_messages 0
max_queued_messages 0
max_queued_bytes 0
message_size_limit 0
set_tcp_nodelay true
log_dest file {data_dir}/mosquitto.log
{extra}
"""


@dataclass
class Mosquitto:
    """A private Mosquitto broker: persistence on, per-client queue limits lifted."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    extra_conf: str = ""
    anonymous: bool = True
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conf = self.data_dir / "mosquitto.conf"
        conf.write_text(
            MOSQUITTO_CONF.format(
                run_as=RUN_AS,
                port=self.port,
                data_dir=self.data_dir,
                extra=self.extra_conf,
                anonymous="true" if self.anonymous else "false",
            )
        )
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_port(self.port, proc=self.proc)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        stop_process(self.proc, sig, timeout_s=10)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextlib.contextmanager
def running_mosquitto(data_dir: Path, **kwargs: object) -> Iterator[Mosquitto]:
    """Start a private Mosquitto for the duration of the block."""
    broker = Mosquitto(data_dir=data_dir, **kwargs)  # type: ignore[arg-type]
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def env_without_proxies() -> dict[str, str]:
    """The environment minus HTTP proxy settings, for clients of loopback services."""
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
