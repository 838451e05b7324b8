"""Alembic migrations of the registry, run programmatically.

`open_registry` creates missing tables with `create_all` (fine for the embedded SQLite
default and for tests). A PostgreSQL deployment runs `innotrial api --migrate` (or
`upgrade_registry(url)`) on each upgrade instead: `alembic upgrade head` with the scripts in
registry/migrations. A database whose tables were made by `create_all` before is stamped at
the first revision and then upgraded.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

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


def upgrade_registry(url: str) -> str | None:
    """Run `alembic upgrade head` on the registry; returns the revision it is at afterwards."""
    config = alembic_config(url)
    engine = create_engine(_normalise_url(url))
    try:
        with engine.connect() as connection:
            revision = MigrationContext.configure(connection).get_current_revision()
            tables = set(inspect(connection).get_table_names())
    finally:
        engine.dispose()
    if revision is None and "trials" in tables:
        command.stamp(config, BASELINE_REVISION)  # made by create_all at the baseline schema
    command.upgrade(config, "head")
    return current_revision(url)
