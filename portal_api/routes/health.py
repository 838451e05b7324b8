"""GET /api/v1/health and /api/v1/users/me."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from portal_api.deps import CurrentUser, SessionDep
from portal_api.schemas import Health, UserPublic
from telemetry.version import __version__

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(session: SessionDep) -> Health:
    """The API is up and its registry answers."""
    session.execute(text("SELECT 1"))
    return Health(status="ok", version=__version__, registry="ok")


@router.get("/users/me", response_model=UserPublic, tags=["users"])
def me(user: CurrentUser) -> UserPublic:
    """Who the bearer token belongs to."""
    return UserPublic(name=user.name, role=user.role, provider_id=user.provider_id)
