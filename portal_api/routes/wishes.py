"""Wishes: departments' innovation needs (public to read)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from portal_api import crud
from portal_api.deps import CurrentUser, SessionDep, get_principal
from portal_api.routes.common import (
    NOT_FOUND,
    OPTIONAL_AUTH,
    REGISTRY_WRITERS,
    Filter,
    Limit,
    Offset,
    each,
    list_page,
)
from portal_api.schemas import Page, WishCreate, WishPublic, WishUpdate

# a token, when given, must be valid even though wishes are public
router = APIRouter(prefix="/wishes", tags=["wishes"], dependencies=[Depends(get_principal)])


@router.get("", openapi_extra=OPTIONAL_AUTH, response_model=Page[WishPublic])
def list_wishes(
    session: SessionDep,
    category: Filter = None,
    status: Filter = None,
    q: Filter = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[WishPublic]:
    """Wishes, filtered by category, status or text."""
    return list_page(
        session,
        crud.wishes_query(category, status, q),
        limit,
        offset,
        each(WishPublic.model_validate),
    )


@router.get(
    "/{wish_id}", openapi_extra=OPTIONAL_AUTH, response_model=WishPublic, responses=NOT_FOUND
)
def read_wish(session: SessionDep, wish_id: str) -> WishPublic:
    """One wish."""
    return WishPublic.model_validate(crud.get_wish(session, wish_id))


@router.post("", response_model=WishPublic, status_code=status.HTTP_201_CREATED)
def create_wish(session: SessionDep, user: CurrentUser, body: WishCreate) -> WishPublic:
    """Create a wish (admin, assessor); subscribed providers are notified."""
    user.require(REGISTRY_WRITERS, "create wishes")
    return WishPublic.model_validate(crud.create_wish(session, body))


@router.patch("/{wish_id}", response_model=WishPublic, responses=NOT_FOUND)
def update_wish(
    session: SessionDep, user: CurrentUser, wish_id: str, body: WishUpdate
) -> WishPublic:
    """Change a wish (admin, assessor); subscribed providers are notified."""
    user.require(REGISTRY_WRITERS, "change wishes")
    return WishPublic.model_validate(crud.update_wish(session, wish_id, body))
