"""Time-series stores: one contract, an embedded SQLite backend and an InfluxDB backend."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from telemetry.store.base import (
    BadStoreUrl,
    DeviceStats,
    ReadingConflict,
    StoreError,
    StoreUnavailable,
    TimeSeriesStore,
    WriteResult,
)


def open_store(url: str) -> TimeSeriesStore:
    """Open the store a URL names: sqlite:///PATH or influxdb://[USER:PASS@]HOST:PORT/DATABASE."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else ""
        if not path:
            raise BadStoreUrl(url, "expected sqlite:///PATH (three slashes, then a file path)")
        from telemetry.store.sqlite import SQLiteStore

        return SQLiteStore(Path(path))
    if parts.scheme == "influxdb":
        from telemetry.store.influx import InfluxStore

        return InfluxStore.from_url(url)
    raise BadStoreUrl(url, "scheme must be sqlite or influxdb")


__all__ = [
    "BadStoreUrl",
    "DeviceStats",
    "ReadingConflict",
    "StoreError",
    "StoreUnavailable",
    "TimeSeriesStore",
    "WriteResult",
    "open_store",
]
