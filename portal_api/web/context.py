"""What the dashboard needs from the app it is mounted in: settings, registry and store.

Inside the portal app the dashboard shares its state (`app.state.portal`: settings, registry,
store). Mounted in a bare FastAPI app with only `app.state.settings`, it opens its own.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from fastapi import Request

import registry.users  # noqa: F401  (registers the users tables before open_registry creates tables)
from portal_api.metrics_cache import MetricsCache
from portal_api.public_cache import PublicPageCache
from registry.db import Registry, open_registry
from telemetry.settings import Settings
from telemetry.store import TimeSeriesStore, open_store

SESSION_KEY_FILE = "web-session.key"
_lock = threading.Lock()


class WebSetupError(RuntimeError):
    """The app the dashboard is mounted in does not provide what it needs."""


@dataclass
class WebContext:
    """Handles shared by every dashboard request of one app."""

    settings: Settings
    registry: Registry
    store: TimeSeriesStore
    fernet: Fernet
    reissue_cache: MetricsCache[dict[str, Any]]
    public_pages: PublicPageCache


def load_session_key(data_dir: Path) -> bytes:
    """The key that encrypts session cookies, created (mode 0600) in the data dir on first use."""
    path = data_dir / SESSION_KEY_FILE
    if path.exists():
        return path.read_bytes().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


def _build(request: Request) -> WebContext:
    state = request.app.state
    portal = getattr(state, "portal", None)
    if portal is not None:
        # the portal app's shared state (portal_api.state.PortalState)
        settings, registry, store = portal.settings, portal.registry, portal.store()
        reissue_cache, public_pages = portal.reissue_cache, portal.public_pages
    else:
        settings = getattr(state, "settings", None)
        if not isinstance(settings, Settings):
            raise WebSetupError("the dashboard needs app.state.portal or app.state.settings")
        registry = open_registry(settings.effective_database_url)
        store = open_store(settings.effective_store_url)
        reissue_cache = MetricsCache[dict[str, Any]](settings.api.metrics_cache_ttl_s,
                                                     settings.api.metrics_check_interval_s)
        public_pages = PublicPageCache()
    if not isinstance(settings, Settings) or not isinstance(registry, Registry):
        raise WebSetupError("app.state.portal does not hold innotrial Settings and a Registry")
    if not isinstance(store, TimeSeriesStore):
        raise WebSetupError("app.state.portal.store() did not return a TimeSeriesStore")
    fernet = Fernet(load_session_key(settings.data_dir))
    return WebContext(settings=settings, registry=registry, store=store, fernet=fernet,
                      reissue_cache=reissue_cache, public_pages=public_pages)


def web_context(request: Request) -> WebContext:
    """FastAPI dependency: the dashboard's context for this app, built on first use."""
    context = getattr(request.app.state, "web_context", None)
    if isinstance(context, WebContext):
        return context
    with _lock:
        context = getattr(request.app.state, "web_context", None)
        if not isinstance(context, WebContext):
            context = _build(request)
            request.app.state.web_context = context
    return context
