"""Registry errors (no SQLAlchemy import, so the command line starts fast).

`Registry.session` translates SQLAlchemy's errors into these, so no caller above the registry
needs to know SQLAlchemy's exception types.
"""

from __future__ import annotations

from telemetry.errors import ServiceUnavailable, UserError


class RegistryError(Exception):
    """Base class of registry errors."""


class RegistryUnavailable(RegistryError, ServiceUnavailable):
    """The registry database cannot be reached."""

    service = "registry"


class RegistryRefused(RegistryError):
    """The database refused the data written (a value it cannot hold): writing the same rows
    again can never succeed."""


class RegistryConflict(RegistryRefused):
    """A write clashes with the stored rows (a duplicate id, a broken reference)."""


class BadDatabaseUrl(RegistryError, UserError):
    """A database URL SQLAlchemy cannot use."""

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        self.problem = problem
        super().__init__(f"database URL {url!r}: {problem}")


__all__ = [
    "BadDatabaseUrl", "RegistryConflict", "RegistryError", "RegistryRefused",
    "RegistryUnavailable",
]
