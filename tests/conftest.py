"""Session-wide fixtures: real services started for the test run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.influx_service import InfluxDB, running_influxdb
from tests.services import Mosquitto, running_mosquitto


@pytest.fixture(scope="module")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """One private Mosquitto per test module; tests use their own topic prefixes / ids.

    Per module, not per session: retained status messages one module leaves behind
    (a gateway's offline will) must not reach another module's ingest subscriptions."""
    with running_mosquitto(tmp_path_factory.mktemp("mosquitto")) as broker:
        yield broker


@pytest.fixture
def fresh_mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A private Mosquitto for one test (for tests that stop or restart the broker)."""
    with running_mosquitto(tmp_path / "mosquitto") as broker:
        yield broker


@pytest.fixture(scope="session")
def influxdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxDB]:
    """One private influxd for the session; tests use their own databases (influx_database)."""
    with running_influxdb(tmp_path_factory.mktemp("influxdb")) as server:
        yield server


@pytest.fixture
def influx_database(influxdb: InfluxDB) -> Iterator[str]:
    """A database name of its own for one test on the session influxd, dropped afterwards."""
    name = influxdb.new_database_name()
    yield name
    influxdb.drop_database(name)


@pytest.fixture
def fresh_influxdb(tmp_path: Path) -> Iterator[InfluxDB]:
    """A private influxd for one test (for tests that stop, restart or break the server)."""
    with running_influxdb(tmp_path / "influxdb") as server:
        yield server
