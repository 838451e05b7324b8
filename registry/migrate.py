"""Alembic migrations of the registry, run programmatically.

`open_registry` brings every registry it opens to the head revision (`ensure_schema`): an
empty database gets every table from the models and is stamped at head; an older one is
upgraded with the scripts in registry/migrations. A database made by `create_all` before
migrations were tracked (no version table) is stamped at the baseline first. A PostgreSQL
deployment can run the upgrade on its own, before starting services: `innotrial api --migrate`
(`upgrade_registry(url)`).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, inspect

from registry.db import _normalise_url

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
BASELINE_REVISION = "0001"


def alembic_config(url: str) -> Config:
    """An Alembic Config for the registry at `url`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", _normalise_url(url).replace("%", "%%"))
    return config


def current_revision(url: str) -> str | None:
    """The registry's Alembic revision, or None when it was never migrated."""
    engine = create_engine(_normalise_url(url))
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


@cache
def head_revision() -> str | None:
    """The newest revision of the migration scripts."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def _bring_to_head(connection: Connection) -> None:
    """Create-and-stamp an empty registry, upgrade an older one; no-op at head."""
    from registry.models import Base

    revision = MigrationContext.configure(connection).get_current_revision()
    if revision is not None and revision == head_revision():
        return
    config = alembic_config("sqlite://")
    config.attributes["connection"] = connection
    if "trials" not in inspect(connection).get_table_names():
        Base.metadata.create_all(connection)
        command.stamp(config, "head")
        return
    if revision is None:
        command.stamp(config, BASELINE_REVISION)  # made by create_all at the baseline schema
    command.upgrade(config, "head")


def ensure_schema(engine: Engine) -> None:
    """Bring the registry behind `engine` to the head revision."""
    with engine.begin() as connection:
        _bring_to_head(connection)


def upgrade_registry(url: str) -> str | None:
    """Run `alembic upgrade head` on the registry; returns the revision it is at afterwards."""
    engine = create_engine(_normalise_url(url))
    try:
        ensure_schema(engine)
    finally:
        engine.dispose()
    return current_revision(url)
