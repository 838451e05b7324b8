"""Dependencies shared by routes (and by the dashboard pages): session, caller, store, settings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from portal_api.auth import ANONYMOUS_PRINCIPAL, Principal, principal_from_token
from portal_api.errors import Unauthorized
from portal_api.state import PortalState
from registry.db import Registry
from telemetry.settings import Settings
from telemetry.store.base import TimeSeriesStore

bearer = HTTPBearer(auto_error=False, description="API token from `innotrial users add`")


def get_state(request: Request) -> PortalState:
    """The app-wide state (registry, store, caches) set up by create_app."""
    state: PortalState = request.app.state.portal
    return state


StateDep = Annotated[PortalState, Depends(get_state)]


def get_registry(state: StateDep) -> Registry:
    """The registry database."""
    return state.registry


def get_session(state: StateDep) -> Iterator[Session]:
    """A registry session per request: commits when the route succeeds, else rolls back."""
    with state.registry.session() as session:
        yield session


# scope="function": commit before the response is sent, so a client never reads stale data
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_settings(state: StateDep) -> Settings:
    """The settings the app was created with."""
    return state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_store(state: StateDep) -> TimeSeriesStore:
    """The time-series store (opened on first use)."""
    return state.store()


StoreDep = Annotated[TimeSeriesStore, Depends(get_store)]

Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def get_principal(session: SessionDep, credentials: Credentials) -> Principal:
    """The caller: anonymous without a token; 401 with a token that is not valid."""
    if credentials is None:
        return ANONYMOUS_PRINCIPAL
    principal = principal_from_token(session, credentials.credentials)
    if principal is None:
        raise Unauthorized()
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_current_user(principal: PrincipalDep) -> Principal:
    """The caller, who must present a valid token (401 otherwise)."""
    if principal.user_id is None:
        raise Unauthorized()
    return principal


CurrentUser = Annotated[Principal, Depends(get_current_user)]
