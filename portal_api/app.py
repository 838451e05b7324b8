"""The portal API application factory.

`create_app(settings)` builds the FastAPI app: every router under `/api/v1`, JSON errors,
OpenAPI docs at `/docs`, and (when the module exists) the live dashboard from
`portal_api.web`: if `portal_api.web` exposes `router` (an APIRouter), it is included at the
root. Dashboard code finds `app.state.settings`, `app.state.registry`, `app.state.store`
and may use `portal_api.deps` (SessionDep, PrincipalDep, CurrentUser) and `portal_api.auth`.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI

from innotrial import __version__
from innotrial.settings import Settings
from portal_api.errors_http import COMMON_ERRORS, document_errors, install_error_handlers
from portal_api.notify import DeliveryWorker
from portal_api.routes import (
    dead_letters,
    devices,
    exclusions,
    gateways,
    health,
    issuer,
    publications,
    report_status,
    sites,
    solutions,
    subscriptions,
    trial_data,
    trials,
    wishes,
)
from portal_api.state import PortalState
from registry.db import open_registry
from telemetry.store.base import StoreError

log = logging.getLogger(__name__)
API_PREFIX = "/api/v1"
WEB_MODULE = "portal_api.web"
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def api_router() -> APIRouter:
    """Every API resource router, to be mounted under /api/v1."""
    router = APIRouter()
    for module_router in (
        health.router,
        wishes.router,
        solutions.router,
        sites.router,
        trials.router,
        trial_data.router,
        exclusions.router,
        report_status.router,
        gateways.router,
        devices.router,
        devices.comparisons_router,
        dead_letters.router,
        subscriptions.router,
        subscriptions.notifications_router,
        issuer.router,
        publications.router,
    ):
        router.include_router(module_router)
    return router


def _include_dashboard(app: FastAPI) -> None:
    """Mount `portal_api.web.router` when the dashboard package provides one."""
    if importlib.util.find_spec(WEB_MODULE) is None:
        return
    router = getattr(importlib.import_module(WEB_MODULE), "router", None)
    if isinstance(router, APIRouter):
        app.include_router(router)


def build_app(lifespan: Lifespan | None = None) -> FastAPI:
    """The FastAPI app with routes, error handlers and docs, but no state (see create_app)."""
    app = FastAPI(title="innotrial portal API", version=__version__, lifespan=lifespan,
                  description="Wishes, solutions, field trials, their data and verified metrics.")
    install_error_handlers(app)
    app.include_router(api_router(), prefix=API_PREFIX, responses=COMMON_ERRORS)
    document_errors(app)
    return app


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI document, without opening any database."""
    return build_app().openapi()


def create_app(settings: Settings, *, deliver_notifications: bool | None = None) -> FastAPI:
    """Build the portal app for `settings` (registry tables are created if missing)."""
    registry = open_registry(settings.effective_database_url)
    state = PortalState(settings, registry)
    worker_on = (
        settings.api.notify_interval_s > 0
        if deliver_notifications is None
        else deliver_notifications
    )
    worker = DeliveryWorker(registry, settings.api) if worker_on else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if worker is not None:
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
            state.close()

    app = build_app(lifespan)
    app.state.portal = state
    app.state.settings = settings
    app.state.registry = registry
    try:
        app.state.store = state.store()
    except StoreError as exc:  # served as 503 per request until the store comes back
        log.warning("store not available at start-up: %s", exc)
    _include_dashboard(app)
    return app
