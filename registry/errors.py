"""Registry errors (no SQLAlchemy import, so the command line starts fast)."""

from __future__ import annotations

from telemetry.errors import ServiceUnavailable, UserError


class RegistryError(Exception):
    """Base class of registry errors."""


class RegistryUnavailable(RegistryError, ServiceUnavailable):
    """The registry database cannot be reached."""

    service = "registry"


class BadDatabaseUrl(RegistryError, UserError):
    """A database URL SQLAlchemy cannot use."""

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        self.problem = problem
        super().__init__(f"database URL {url!r}: {problem}")


__all__ = ["BadDatabaseUrl", "RegistryError", "RegistryUnavailable"]
