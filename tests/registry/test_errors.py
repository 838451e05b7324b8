"""SQLAlchemy's errors leave the registry as registry errors (translated at its edge)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from registry.db import open_registry
from registry.errors import RegistryConflict, RegistryError, RegistryUnavailable
from registry.models import Wish


def test_a_clashing_write_is_a_registry_conflict_and_is_rolled_back(tmp_path: Path) -> None:
    registry = open_registry(f"sqlite:///{tmp_path / 'registry.db'}")
    try:
        with registry.session() as session:
            session.add(Wish(id="w-1", title="first", department="DSD"))
        with pytest.raises(RegistryConflict), registry.session() as session:
            session.add(Wish(id="w-2", title="kept only if committed", department="DSD"))
            session.add(Wish(id="w-1", title="duplicate id", department="DSD"))
        with registry.session() as session:
            assert session.scalars(text("SELECT id FROM wishes ORDER BY id")).all() == ["w-1"]
    finally:
        registry.close()


def test_a_database_that_cannot_be_reached_is_registry_unavailable() -> None:
    registry = open_registry("postgresql://nobody@127.0.0.1:1/registry", create=False)
    try:
        with pytest.raises(RegistryUnavailable), registry.session() as session:
            session.execute(text("SELECT 1"))
    finally:
        registry.close()


def test_other_database_failures_are_registry_errors(tmp_path: Path) -> None:
    registry = open_registry(f"sqlite:///{tmp_path / 'registry.db'}")
    try:
        with pytest.raises(RegistryError) as raised, registry.session() as session:
            session.execute(text("SELECT :a"), [{"b": 1}])
        assert "registry database error" in str(raised.value)
    finally:
        registry.close()
