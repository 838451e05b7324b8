"""Turn users' mistakes into one clear line and an exit status, never a traceback."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from device_profiles.loader import ProfileError, UnknownProfile
from registry.errors import BadDatabaseUrl, RegistryUnavailable
from telemetry.settings import ConfigError
from telemetry.store.base import BadStoreUrl, StoreUnavailable

EXIT_FAILURE = 1
EXIT_CONFIG = 2


class UserError(Exception):
    """A mistake in what the user asked for; `exit_code` is 2 for bad configuration or input."""

    def __init__(self, message: str, exit_code: int = EXIT_CONFIG) -> None:
        self.exit_code = exit_code
        super().__init__(message)


@contextlib.contextmanager
def report_user_errors() -> Iterator[None]:
    """Print a one-line error and exit 2 (bad config/input) or 1 (unavailable service)."""
    try:
        yield
    except (ConfigError, ProfileError, BadStoreUrl, BadDatabaseUrl) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_CONFIG)
    except UnknownProfile as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_CONFIG)
    except StoreUnavailable as exc:
        print(f"error: store unavailable: {exc}", file=sys.stderr)
        sys.exit(EXIT_FAILURE)
    except RegistryUnavailable as exc:
        print(f"error: registry unavailable: {exc}", file=sys.stderr)
        sys.exit(EXIT_FAILURE)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
