"""Portal API fixtures: the app on SQLite and on a real PostgreSQL, users and two providers' trials."""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import text

from portal_api.app import create_app
from portal_api.auth import create_user
from registry.apply import apply_trial
from registry.db import Registry, open_registry
from registry.models import Base
from telemetry.settings import ApiSettings, Settings
from telemetry.store.base import TimeSeriesStore
from telemetry.trial_spec import parse_trial_spec
from telemetry.wire import Reading, ReceivedReading
from tests.services import free_port

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
T0_MS = 1_764_000_000_000  # a fixed trial start (2025-11-24T16:00Z)
HOUR_MS = 3_600_000


def trial_definition(trial_id: str, provider: str, *, gateway: str, prefix: str,
                     status_days: int = 30) -> dict[str, Any]:
    """A rain-gauge trial definition: one device under test, one reference."""
    return {
        "wish": {"id": f"w-{prefix}", "title": f"Rain data for {prefix}", "department": "DSD",
                 "category": "iot", "description": "real-time rain gauge data"},
        "solution": {"id": f"s-{prefix}", "title": f"Gauge by {provider}", "provider": provider},
        "trial": {
            "id": trial_id,
            "site": {"id": f"site-{prefix}", "name": "Roof", "timezone": "Asia/Hong_Kong"},
            "start": "2025-11-24T16:00:00+00:00",
            "end": "2025-12-24T16:00:00+00:00",
            "gateways": [{"id": gateway}],
            "devices": [
                {"id": f"{prefix}-dut", "profile": "rain_gauge", "gateway": gateway, "role": "under_test"},
                {"id": f"{prefix}-ref", "profile": "rain_gauge", "gateway": gateway, "role": "reference"},
            ],
            "comparisons": [{"under_test": f"{prefix}-dut", "reference": f"{prefix}-ref"}],
            "acceptance": [{"metric": "quality.completeness", "op": ">=", "value": 0.95}],
        },
    }


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for this test run, dropped at the end."""
    name = f"innotrial_test_{secrets.token_hex(6)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_registry(pg_url: str) -> Iterator[Registry]:
    """The PostgreSQL registry with its tables, created once per run."""
    registry = open_registry(pg_url)
    yield registry
    registry.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The registry URL of one backend, with empty tables."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    registry: Registry = request.getfixturevalue("pg_registry")
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with registry.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return str(request.getfixturevalue("pg_url"))


@dataclass
class Portal:
    """A running app with its registry, store, users' tokens and two providers' trials."""

    client: httpx.Client
    registry: Registry
    store: TimeSeriesStore
    settings: Settings
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, user: str) -> dict[str, str]:
        """Authorization header of a fixture user."""
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def write(self, device_id: str, rows: list[tuple[int, float]]) -> None:
        """Store rain readings (ts_ms, rain_mm) of a device."""
        batch = [ReceivedReading(Reading(device_id, ts, {"rain_mm": rain}), ts + 500) for ts, rain in rows]
        self.store.write(batch)


USERS = {
    "admin": ("admin", None), "assessor": ("assessor", None), "engineer": ("field_engineer", None),
    "viewer": ("viewer", None), "acme": ("provider", "acme"), "beta": ("provider", "beta"),
}


def seed(registry: Registry) -> dict[str, str]:
    """Users with tokens, and one trial per provider (acme: t-a, beta: t-b)."""
    tokens = {}
    with registry.session() as session:
        for name, (role, provider) in USERS.items():
            tokens[name] = create_user(session, name, role, provider)[1]
        apply_trial(session, parse_trial_spec(trial_definition("t-a", "acme", gateway="gw-a", prefix="a")))
        apply_trial(session, parse_trial_spec(trial_definition("t-b", "beta", gateway="gw-b", prefix="b")))
    return tokens


@pytest.fixture
def api_settings() -> ApiSettings:
    """The API section of the portal fixture's settings (a module may override this fixture)."""
    return ApiSettings(notify_interval_s=0, metrics_check_interval_s=0)


@pytest.fixture
def portal(database_url: str, tmp_path: Path, api_settings: ApiSettings) -> Iterator[Portal]:
    """The portal app on the given backend, seeded, with a SQLite store in tmp_path."""
    settings = Settings(data_dir=tmp_path, database_url=database_url,
                        store_url=f"sqlite:///{tmp_path / 'readings.db'}", api=api_settings)
    app = create_app(settings)
    registry: Registry = app.state.registry
    tokens = seed(registry)
    with serve(app) as base_url, httpx.Client(base_url=base_url, trust_env=False, timeout=60) as client:
        yield Portal(client, registry, app.state.store, settings, tokens)


@contextlib.contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run `app` in a real uvicorn server on a free loopback port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
