"""The base of every user-facing error: one clear line and an exit status, never a traceback.

Each layer's errors subclass `UserError` (bad configuration or input, exit 2) or
`ServiceUnavailable` (a store or registry that cannot be reached, exit 1), so
`report_user_errors`, which every command line uses, needs nothing from the layers above.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from device_profiles.loader import ProfileError, UnknownProfile

EXIT_FAILURE = 1
EXIT_CONFIG = 2


class UserError(Exception):
    """A mistake in what the user asked for; `exit_code` is 2 for bad configuration or input."""

    def __init__(self, message: str, exit_code: int = EXIT_CONFIG) -> None:
        self.exit_code = exit_code
        super().__init__(message)


class ServiceUnavailable(Exception):
    """A service the command needs cannot be reached; `service` names it in the message."""

    service = "service"


@contextlib.contextmanager
def report_user_errors() -> Iterator[None]:
    """Print a one-line error and exit 2 (bad config/input) or 1 (unavailable service)."""
    try:
        yield
    except (ProfileError, UnknownProfile) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_CONFIG)
    except ServiceUnavailable as exc:
        print(f"error: {exc.service} unavailable: {exc}", file=sys.stderr)
        sys.exit(EXIT_FAILURE)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
