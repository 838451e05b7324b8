"""Alembic migrations build exactly the schema the models describe, on a real PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import create_engine

from innotrial.cli import cli
from registry.db import _normalise_url, open_registry
from registry.migrate import alembic_config, current_revision, upgrade_registry
from registry.models import Base
from tests.portal_api.conftest import PG_ADMIN_URL

HEAD_REVISION = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


@pytest.fixture
def empty_pg() -> Iterator[str]:
    name = f"innotrial_mig_{secrets.token_hex(6)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def schema_diff(url: str) -> list[object]:
    engine = create_engine(_normalise_url(url))
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    return list(diff)


def test_upgrade_head_matches_the_models(empty_pg: str) -> None:
    assert current_revision(empty_pg) is None
    assert upgrade_registry(empty_pg) == HEAD_REVISION
    assert schema_diff(empty_pg) == []
    assert upgrade_registry(empty_pg) == HEAD_REVISION  # idempotent


def test_open_registry_creates_an_empty_database_at_head(empty_pg: str) -> None:
    open_registry(empty_pg).close()
    assert current_revision(empty_pg) == HEAD_REVISION
    assert schema_diff(empty_pg) == []


def test_untracked_baseline_database_is_stamped_then_upgraded_on_open(empty_pg: str) -> None:
    """A round-1 registry: tables made by create_all at the baseline, no version table."""
    command.upgrade(alembic_config(empty_pg), "0001")
    with psycopg.connect(empty_pg) as conn:
        conn.execute("DROP TABLE alembic_version")
    assert current_revision(empty_pg) is None
    open_registry(empty_pg).close()
    assert current_revision(empty_pg) == HEAD_REVISION
    assert schema_diff(empty_pg) == []


def test_older_sqlite_registry_is_upgraded_on_open(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    command.upgrade(alembic_config(url), "0001")
    open_registry(url).close()
    assert current_revision(url) == HEAD_REVISION
    assert schema_diff(url) == []


def test_api_migrate_flag(empty_pg: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNOTRIAL_DATABASE_URL", empty_pg)
    result = CliRunner().invoke(cli, ["api", "--migrate"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"registry schema at revision {HEAD_REVISION}"


def test_exclusion_tables_migrate_up_from_the_baseline_and_down_again(empty_pg: str) -> None:
    config = alembic_config(empty_pg)
    command.upgrade(config, "0001")
    added = {d[1].name for d in schema_diff(empty_pg) if d[0] == "add_table"}
    assert {"trial_exclusions", "exclusion_audit"} <= added
    assert upgrade_registry(empty_pg) == HEAD_REVISION
    assert schema_diff(empty_pg) == []
    command.downgrade(config, "0001")
    assert current_revision(empty_pg) == "0001"
    command.upgrade(config, "0002_i17b")
    assert current_revision(empty_pg) == "0002_i17b"
