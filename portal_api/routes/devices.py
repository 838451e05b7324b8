"""Devices and comparisons of the trials the caller may see."""

from __future__ import annotations

from fastapi import APIRouter

from portal_api import crud
from portal_api.deps import PrincipalDep, SessionDep
from portal_api.routes.common import (
    NOT_FOUND,
    OPTIONAL_AUTH,
    Filter,
    Limit,
    Offset,
    each,
    list_page,
)
from portal_api.schemas import ComparisonPublic, DevicePublic, Page

router = APIRouter(prefix="/devices", tags=["devices"])
comparisons_router = APIRouter(prefix="/comparisons", tags=["comparisons"])


@router.get("", openapi_extra=OPTIONAL_AUTH, response_model=Page[DevicePublic])
def list_devices(
    session: SessionDep,
    principal: PrincipalDep,
    trial_id: Filter = None,
    gateway_id: Filter = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[DevicePublic]:
    """Devices (profile, role, gateway), filtered by trial or gateway."""
    query = crud.devices_query(principal, trial_id, gateway_id)
    return list_page(session, query, limit, offset, each(DevicePublic.model_validate))


@router.get(
    "/{device_id}", openapi_extra=OPTIONAL_AUTH, response_model=DevicePublic, responses=NOT_FOUND
)
def read_device(session: SessionDep, principal: PrincipalDep, device_id: str) -> DevicePublic:
    """One device."""
    return DevicePublic.model_validate(crud.get_device(session, principal, device_id))


@comparisons_router.get("", openapi_extra=OPTIONAL_AUTH, response_model=Page[ComparisonPublic])
def list_comparisons(
    session: SessionDep,
    principal: PrincipalDep,
    trial_id: Filter = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[ComparisonPublic]:
    """Comparisons of devices under test with reference instruments."""
    return list_page(
        session,
        crud.comparisons_query(principal, trial_id),
        limit,
        offset,
        each(ComparisonPublic.model_validate),
    )
