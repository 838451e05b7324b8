"""App-wide state: settings, registry, the lazily opened store and the caches."""

from __future__ import annotations

import threading
from typing import Any

from portal_api.metrics_cache import MetricsCache
from portal_api.public_cache import PublicPageCache
from registry.db import Registry
from telemetry.metrics import TrialMetrics
from telemetry.settings import Settings
from telemetry.store import open_store
from telemetry.store.base import TimeSeriesStore


class PortalState:
    """What every request shares; one per app."""

    def __init__(self, settings: Settings, registry: Registry) -> None:
        self.settings = settings
        self.registry = registry
        self.metrics_cache: MetricsCache[TrialMetrics] = MetricsCache(
            ttl_s=settings.api.metrics_cache_ttl_s,
            check_interval_s=settings.api.metrics_check_interval_s,
        )
        # issued report vs today (portal_api/report_status.py); its window is fixed: no TTL
        self.reissue_cache: MetricsCache[dict[str, Any]] = MetricsCache(
            ttl_s=settings.api.metrics_cache_ttl_s,
            check_interval_s=settings.api.metrics_check_interval_s,
        )
        self.public_pages = PublicPageCache()  # the publish route invalidates it
        self._store: TimeSeriesStore | None = None
        self._store_lock = threading.Lock()

    def store(self) -> TimeSeriesStore:
        """The time-series store, opened on first use (StoreUnavailable if it cannot be)."""
        with self._store_lock:
            if self._store is None:
                self._store = open_store(self.settings.effective_store_url)
            return self._store

    def close(self) -> None:
        """Close the store and dispose of the registry's connections."""
        with self._store_lock:
            if self._store is not None:
                self._store.close()
                self._store = None
        self.registry.close()
