"""Exceptions of the reports package; each carries what went wrong as attributes."""

from __future__ import annotations


class ReportError(Exception):
    """Base class of report and data-package errors."""


class UnusablePackage(ReportError):
    """A data package that cannot be read at all (not a zip, no manifest, bad JSON)."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class KeyProblem(ReportError):
    """A signing or verification key that cannot be loaded."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"key {path}: {problem}")


class RecomputeError(ReportError):
    """The packaged data cannot be turned back into metrics (e.g. a mangled CSV)."""

    def __init__(self, member: str, problem: str) -> None:
        self.member = member
        self.problem = problem
        super().__init__(f"{member}: {problem}")


class PdfUnavailable(ReportError):
    """Headless Chromium is missing or failed to print the report."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(problem)
