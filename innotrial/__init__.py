"""innotrial: field-trial telemetry from edge gateway to verified performance report."""

from telemetry.version import __version__

__all__ = ["__version__"]
