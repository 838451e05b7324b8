"""Open the registry database (SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import (
    ArgumentError,
    DataError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from registry import notifications as _notifications  # noqa: F401  (registers tables)
from registry import publications as _publications  # noqa: F401  (registers tables)
from registry import users as _users  # noqa: F401  (registers tables)
from registry.errors import (
    BadDatabaseUrl,
    RegistryConflict,
    RegistryError,
    RegistryRefused,
    RegistryUnavailable,
)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Registry:
    """An engine and session factory for the registry database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error.

        SQLAlchemy errors leave as registry errors: RegistryConflict for a write that clashes
        with stored rows, RegistryRefused for a value the database cannot hold,
        RegistryUnavailable when the database cannot be reached or used, RegistryError for
        any other database failure.
        """
        with self.sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException as exc:
                session.rollback()
                if isinstance(exc, SQLAlchemyError):
                    raise _translated(exc) from exc
                raise

    def close(self) -> None:
        """Dispose of pooled connections."""
        self.engine.dispose()


_UNREACHABLE = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)


def _translated(exc: SQLAlchemyError) -> RegistryError:
    detail = str(getattr(exc, "orig", None) or exc).splitlines()[0][:300]
    if isinstance(exc, IntegrityError):
        return RegistryConflict(detail)
    if isinstance(exc, DataError):
        return RegistryRefused(detail)
    if isinstance(exc, _UNREACHABLE):
        return RegistryUnavailable(detail)
    return RegistryError(f"registry database error: {detail}")


def _normalise_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def open_registry(url: str, *, create: bool = True) -> Registry:
    """Connect to the registry at `url` and make sure its tables exist."""
    try:
        engine = create_engine(_normalise_url(url), pool_pre_ping=True)
    except (ArgumentError, ValueError) as exc:
        raise BadDatabaseUrl(url, str(exc)) from exc
    except ModuleNotFoundError as exc:
        raise BadDatabaseUrl(url, f"no driver installed: {exc.name}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        path = engine.url.database
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
    if create:
        from registry.migrate import ensure_schema

        try:
            ensure_schema(engine)
        except OperationalError as exc:
            raise RegistryUnavailable(f"cannot open registry {engine.url!r}: {exc.orig}") from exc
    return Registry(engine)


@contextmanager
def registry_session(url: str) -> Iterator[Session]:
    """One session on the registry at `url` (committed on success), engine closed afterwards."""
    registry = open_registry(url)
    try:
        with registry.session() as session:
            yield session
    finally:
        registry.close()
