"""A private InfluxDB 1.x (`influxd`) for tests and benches, on free loopback ports.

The server keeps its meta, data and WAL directories under one folder, so `stop()` followed by
`start()` brings back the same databases on the same port (the ingest tests stop InfluxDB in
the middle of a stream and restart it).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.services import free_port, stop_process

INFLUXD_CONF = """\
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{data_dir}/meta"
  logging-enabled = false

[data]
  dir = "{data_dir}/data"
  wal-dir = "{data_dir}/wal"
  wal-fsync-delay = "0s"
  index-version = "inmem"
  query-log-enabled = false
  trace-logging-enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[continuous_queries]
  enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:{port}"
  auth-enabled = {auth}
  log-enabled = false
  suppress-write-log = true
  pprof-enabled = false

[logging]
  level = "warn"
  suppress-logo = true
"""

_db_counter = itertools.count(1)


def influxd_binary() -> str:
    """Path of the influxd executable (Debian's influxdb package)."""
    return shutil.which("influxd") or "/usr/bin/influxd"


@dataclass
class InfluxDB:
    """A private influxd: its own config, data dir, HTTP port and RPC port."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    rpc_port: int = field(default_factory=free_port)
    auth: bool = False
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT of the HTTP API."""
        return f"http://127.0.0.1:{self.port}"

    def store_url(self, database: str, user: str = "", password: str = "") -> str:
        """An innotrial store URL for `database` on this server."""
        userinfo = f"{user}:{password}@" if user else ""
        return f"influxdb://{userinfo}127.0.0.1:{self.port}/{database}"

    def start(self, timeout_s: float = 30.0) -> None:
        """Write the config, start influxd and wait until /ping answers 204."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conf = self.data_dir / "influxdb.conf"
        conf.write_text(
            INFLUXD_CONF.format(
                data_dir=self.data_dir,
                port=self.port,
                rpc_port=self.rpc_port,
                auth="true" if self.auth else "false",
            )
        )
        log = (self.data_dir / "influxd.log").open("ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith("INFLUXDB_")}
        self.proc = subprocess.Popen(
            [influxd_binary(), "run", "-config", str(conf)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        log.close()
        self._wait_ready(timeout_s)

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        with httpx.Client(trust_env=False, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    tail = (self.data_dir / "influxd.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"influxd exited with {self.proc.returncode}:\n{tail}")
                with contextlib.suppress(httpx.TransportError):
                    if client.get(f"{self.base_url}/ping").status_code == 204:
                        return
                time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"influxd on port {self.port} did not answer /ping in {timeout_s} s")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop influxd (SIGTERM, then SIGKILL after 20 s); the data dir is kept."""
        stop_process(self.proc, sig, timeout_s=20)
        self.proc = None

    def restart(self) -> None:
        """stop() then start() on the same data dir and ports."""
        self.stop()
        self.start()

    def query(self, q: str, database: str = "") -> dict[str, object]:
        """Run InfluxQL statements over HTTP (POST, for admin statements too) and return the JSON."""
        params = {"q": q, "epoch": "ms", **({"db": database} if database else {})}
        with httpx.Client(trust_env=False, timeout=30.0) as client:
            response = client.post(f"{self.base_url}/query", params=params)
        response.raise_for_status()
        result: dict[str, object] = response.json()
        return result

    def new_database_name(self, prefix: str = "t") -> str:
        """A database name not used before in this session."""
        return f"{prefix}_{os.getpid()}_{next(_db_counter)}"

    def drop_database(self, database: str) -> None:
        """DROP DATABASE, ignoring a server that is down."""
        with contextlib.suppress(httpx.HTTPError):
            self.query(f'DROP DATABASE "{database}"')


@contextlib.contextmanager
def running_influxdb(data_dir: Path, **kwargs: object) -> Iterator[InfluxDB]:
    """Start a private influxd for the duration of the block."""
    server = InfluxDB(data_dir=data_dir, **kwargs)  # type: ignore[arg-type]
    server.start()
    try:
        yield server
    finally:
        server.stop()
