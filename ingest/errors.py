"""Exceptions of the ingest package."""

from __future__ import annotations


class IngestError(Exception):
    """Base class of ingest errors."""


class BrokerUnavailable(IngestError):
    """The broker cannot be reached or refused the connection; `url` names it."""

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        self.problem = problem
        super().__init__(f"broker {url}: {problem}")


class BrokerRefused(BrokerUnavailable):
    """The broker answered CONNACK with a failure (bad credentials, client id, ...)."""


class WriterFailed(IngestError):
    """The writer thread stopped on an unexpected error; `cause` is the original exception."""

    def __init__(self, cause: BaseException) -> None:
        self.cause = cause
        super().__init__(f"ingest writer failed: {cause!r}")


class Aborted(IngestError):
    """A retry loop gave up because the worker is stopping."""
