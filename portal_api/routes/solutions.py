"""Solutions: providers' proposals and the wishes they answer."""

from __future__ import annotations

from fastapi import APIRouter, status

from portal_api import crud
from portal_api.deps import CurrentUser, PrincipalDep, SessionDep
from portal_api.errors import Forbidden
from portal_api.routes.common import (
    NOT_FOUND,
    OPTIONAL_AUTH,
    REGISTRY_WRITERS,
    Filter,
    Limit,
    Offset,
    list_page,
)
from portal_api.schemas import Page, SolutionCreate, SolutionPublic, SolutionUpdate

router = APIRouter(prefix="/solutions", tags=["solutions"])
SOLUTION_WRITERS = REGISTRY_WRITERS | {"provider"}


@router.get("", openapi_extra=OPTIONAL_AUTH, response_model=Page[SolutionPublic])
def list_solutions(
    session: SessionDep,
    principal: PrincipalDep,
    provider_id: Filter = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[SolutionPublic]:
    """Solutions (a provider sees only their own)."""
    return list_page(
        session,
        crud.solutions_query(principal, provider_id),
        limit,
        offset,
        lambda rows: map(SolutionPublic.model_validate, crud.solution_public(session, rows)),
    )


@router.get(
    "/{solution_id}",
    openapi_extra=OPTIONAL_AUTH,
    response_model=SolutionPublic,
    responses=NOT_FOUND,
)
def read_solution(session: SessionDep, principal: PrincipalDep, solution_id: str) -> SolutionPublic:
    """One solution."""
    solution = crud.get_solution(session, principal, solution_id)
    return SolutionPublic.model_validate(crud.solution_public(session, [solution])[0])


@router.post("", response_model=SolutionPublic, status_code=status.HTTP_201_CREATED)
def create_solution(session: SessionDep, user: CurrentUser, body: SolutionCreate) -> SolutionPublic:
    """Create a solution (admin, assessor, or a provider for their own provider id)."""
    user.require(SOLUTION_WRITERS, "create solutions")
    if user.is_provider and body.provider_id != user.provider_id:
        raise Forbidden(user.role, "create solutions of another provider")
    solution = crud.create_solution(session, body)
    return SolutionPublic.model_validate(crud.solution_public(session, [solution])[0])


@router.patch("/{solution_id}", response_model=SolutionPublic, responses=NOT_FOUND)
def update_solution(
    session: SessionDep, user: CurrentUser, solution_id: str, body: SolutionUpdate
) -> SolutionPublic:
    """Change a solution (admin, assessor, or its provider)."""
    solution = crud.get_solution(session, user, solution_id)
    user.require(SOLUTION_WRITERS, "change solutions")
    solution = crud.update_solution(session, solution, body)
    return SolutionPublic.model_validate(crud.solution_public(session, [solution])[0])
