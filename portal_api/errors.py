"""Errors of the portal API, each mapped to one JSON response shape: {"detail": "..."}."""

from __future__ import annotations


class PortalError(Exception):
    """Base class of portal API errors; `status_code` is the HTTP status it maps to."""

    status_code = 400

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


class NotFound(PortalError):
    """The resource does not exist or the caller may not know it exists (same answer)."""

    status_code = 404

    def __init__(self, kind: str) -> None:
        self.kind = kind
        super().__init__(f"{kind} not found")


class Unauthorized(PortalError):
    """No valid bearer token."""

    status_code = 401

    def __init__(self, detail: str = "missing or invalid bearer token") -> None:
        super().__init__(detail)


class Forbidden(PortalError):
    """The caller's role may not do this."""

    status_code = 403

    def __init__(self, role: str, action: str) -> None:
        self.role = role
        self.action = action
        super().__init__(f"role {role!r} may not {action}")


class Conflict(PortalError):
    """The request clashes with existing data (e.g. a duplicate id)."""

    status_code = 409


class BadRequest(PortalError):
    """The request is well-formed JSON but cannot be carried out."""

    status_code = 422
