"""Gateways and their online/offline status."""

from __future__ import annotations

from fastapi import APIRouter

from portal_api import crud_ops
from portal_api.deps import CurrentUser, SessionDep
from portal_api.routes.common import NOT_FOUND, Filter, Limit, Offset, each, list_page
from portal_api.schemas import GatewayPublic, Page

router = APIRouter(prefix="/gateways", tags=["gateways"])


@router.get("", response_model=Page[GatewayPublic])
def list_gateways(
    session: SessionDep,
    user: CurrentUser,
    state: Filter = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[GatewayPublic]:
    """Gateways with their state (online, offline, unknown) and last status message."""
    return list_page(
        session,
        crud_ops.gateways_query(user, state),
        limit,
        offset,
        each(lambda g: GatewayPublic.model_validate(crud_ops.gateway_public(g))),
    )


@router.get("/{gateway_id}", response_model=GatewayPublic, responses=NOT_FOUND)
def read_gateway(session: SessionDep, user: CurrentUser, gateway_id: str) -> GatewayPublic:
    """One gateway's status."""
    gateway = crud_ops.get_gateway(session, user, gateway_id)
    return GatewayPublic.model_validate(crud_ops.gateway_public(gateway))
