"""GET /api/v1/dead-letters: rejected readings with their reasons."""

from __future__ import annotations

from fastapi import APIRouter

from portal_api import crud_ops
from portal_api.deps import CurrentUser, SessionDep
from portal_api.routes.common import Filter, Limit, Offset, each, list_page
from portal_api.schemas import DeadLetterPublic, Page

router = APIRouter(prefix="/dead-letters", tags=["dead-letters"])


@router.get("", response_model=Page[DeadLetterPublic])
def list_dead_letters(
    session: SessionDep,
    user: CurrentUser,
    gateway_id: Filter = None,
    reason: Filter = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[DeadLetterPublic]:
    """Dead letters, newest first (a provider sees those of their own trials only)."""
    query = crud_ops.dead_letters_query(user, gateway_id, reason)
    return list_page(session, query, limit, offset, each(DeadLetterPublic.model_validate))
