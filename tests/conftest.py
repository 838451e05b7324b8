"""Session-wide fixtures: real services started for the test run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import Mosquitto, running_mosquitto


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """One private Mosquitto for the session; tests use their own topic prefixes / ids."""
    with running_mosquitto(tmp_path_factory.mktemp("mosquitto")) as broker:
        yield broker


@pytest.fixture
def fresh_mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A private Mosquitto for one test (for tests that stop or restart the broker)."""
    with running_mosquitto(tmp_path / "mosquitto") as broker:
        yield broker
