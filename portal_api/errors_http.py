"""Map errors to JSON responses: always {"detail": "<clear message>"} with the right status."""

from __future__ import annotations

import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from portal_api.errors import PortalError
from registry.errors import RegistryConflict, RegistryUnavailable
from registry.queries import UnknownTrial
from telemetry.store.base import StoreUnavailable


def _json(status: int, detail: object, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": detail}, headers=headers)


async def _portal_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PortalError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return _json(exc.status_code, exc.detail, headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()]
    return _json(422, "; ".join(problems) or "invalid request")


async def _conflict_error(_request: Request, _exc: Exception) -> JSONResponse:
    return _json(409, "the change conflicts with existing data (retry, or check ids)")


async def _unavailable(_request: Request, exc: Exception) -> JSONResponse:
    return _json(503, f"service unavailable: {exc}")


async def _unknown_trial(_request: Request, _exc: Exception) -> JSONResponse:
    return _json(404, "trial not found")


def _allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Methods the OpenAPI document lists for the path template matching `path`."""
    for template, operations in app.openapi().get("paths", {}).items():
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            return sorted(method.upper() for method in operations)
    return []


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's HTTP errors as JSON; a 405 lists every method of the resource in Allow."""
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        allowed = _allowed_methods(request.app, request.url.path)
        if allowed:
            headers["Allow"] = ", ".join(allowed)
    return _json(exc.status_code, exc.detail, headers or None)


def install_error_handlers(app: FastAPI) -> None:
    """Register the JSON error handlers on `app`."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(PortalError, _portal_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(RegistryConflict, _conflict_error)
    app.add_exception_handler(StoreUnavailable, _unavailable)
    app.add_exception_handler(RegistryUnavailable, _unavailable)
    app.add_exception_handler(UnknownTrial, _unknown_trial)


ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
    "title": "Error",
}
COMMON_ERRORS: dict[int | str, dict[str, object]] = {
    code: {
        "description": description,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}
        },
    }
    for code, description in (
        (400, "The body cannot be parsed"),
        (401, "Missing or invalid bearer token"),
        (403, "The caller's role may not do this"),
        (404, "Not found, or not visible to the caller"),
        (409, "Conflicts with existing data"),
        (422, "The request is not valid (the message names the field)"),
        (503, "Registry or store unavailable"),
    )
}


def document_errors(app: FastAPI) -> None:
    """Make the OpenAPI schema say what errors look like: {"detail": "<message>"}."""
    original = app.openapi

    def openapi() -> dict[str, object]:
        if app.openapi_schema is None:
            schema = original()
            components = schema.setdefault("components", {})
            components.setdefault("schemas", {})["HTTPValidationError"] = ERROR_SCHEMA
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
