"""Sites: where trials run, with their time zone."""

from __future__ import annotations

from fastapi import APIRouter

from portal_api import crud
from portal_api.deps import PrincipalDep, SessionDep
from portal_api.routes.common import NOT_FOUND, OPTIONAL_AUTH, Limit, Offset, each, list_page
from portal_api.schemas import Page, SitePublic

router = APIRouter(prefix="/sites", tags=["sites"])


@router.get("", openapi_extra=OPTIONAL_AUTH, response_model=Page[SitePublic])
def list_sites(
    session: SessionDep, principal: PrincipalDep, limit: Limit = 100, offset: Offset = 0
) -> Page[SitePublic]:
    """Sites of the trials the caller may see."""
    return list_page(
        session, crud.sites_query(principal), limit, offset, each(SitePublic.model_validate)
    )


@router.get(
    "/{site_id}", openapi_extra=OPTIONAL_AUTH, response_model=SitePublic, responses=NOT_FOUND
)
def read_site(session: SessionDep, principal: PrincipalDep, site_id: str) -> SitePublic:
    """One site."""
    return SitePublic.model_validate(crud.get_site(session, principal, site_id))
