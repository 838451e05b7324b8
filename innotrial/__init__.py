"""innotrial: field-trial telemetry from edge gateway to verified performance report."""

__version__ = "0.1.0"
