"""Trials: list, read, change status, and apply a trial definition (YAML or JSON)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, Request

from portal_api import crud
from portal_api.auth import visible_trial
from portal_api.deps import CurrentUser, PrincipalDep, SessionDep
from portal_api.errors import BadRequest, Conflict
from portal_api.routes.common import (
    NOT_FOUND,
    OPTIONAL_AUTH,
    REGISTRY_WRITERS,
    Filter,
    Limit,
    Offset,
)
from portal_api.schemas import ApplyResult, Page, TrialPublic, TrialUpdate
from registry.apply import apply_trial
from registry.trial_spec import TrialSpec, TrialSpecError, parse_trial_spec

router = APIRouter(prefix="/trials", tags=["trials"])
MAX_DEFINITION_BYTES = 1_000_000
APPLY_BODY = {
    "requestBody": {
        "required": True,
        "description": "A trial definition (the same document as `innotrial trial apply FILE`).",
        "content": {
            "application/yaml": {"schema": {"type": "string"}},
            "text/plain": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}


@router.get("", openapi_extra=OPTIONAL_AUTH, response_model=Page[TrialPublic])
def list_trials(
    session: SessionDep,
    principal: PrincipalDep,
    status: Filter = None,
    wish_id: Filter = None,
    solution_id: Filter = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[TrialPublic]:
    """Trials the caller may see (a provider: their own, plus published ones)."""
    query = crud.trials_query(principal, status, wish_id, solution_id)
    items, total = crud.paginate(session, query, limit, offset)
    return Page(
        items=[TrialPublic.model_validate(crud.trial_public(t)) for t in items],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/{trial_id}", openapi_extra=OPTIONAL_AUTH, response_model=TrialPublic, responses=NOT_FOUND
)
def read_trial(session: SessionDep, principal: PrincipalDep, trial_id: str) -> TrialPublic:
    """One trial."""
    return TrialPublic.model_validate(
        crud.trial_public(visible_trial(session, principal, trial_id))
    )


@router.patch("/{trial_id}", response_model=TrialPublic, responses=NOT_FOUND)
def update_trial(
    session: SessionDep, user: CurrentUser, trial_id: str, body: TrialUpdate
) -> TrialPublic:
    """Move a trial through planned / running / analysing / verified / published."""
    trial = visible_trial(session, user, trial_id)
    user.require(REGISTRY_WRITERS, "change trials")
    if trial.status != body.status:
        trial.status = body.status
        trial.updated_ms = crud.now_ms()
    return TrialPublic.model_validate(crud.trial_public(trial))


def _parse_definition(raw: bytes, content_type: str) -> TrialSpec:
    if len(raw) > MAX_DEFINITION_BYTES:
        raise BadRequest(f"trial definition larger than {MAX_DEFINITION_BYTES} bytes")
    try:
        data: Any = json.loads(raw) if "json" in content_type else yaml.safe_load(raw)
    except (ValueError, yaml.YAMLError) as exc:
        raise BadRequest(
            f"body is not valid {'JSON' if 'json' in content_type else 'YAML'}: {exc}"
        ) from exc
    try:
        return parse_trial_spec(data, "request body")
    except TrialSpecError as exc:
        raise BadRequest(str(exc)) from exc


async def _raw_body(request: Request) -> tuple[bytes, str]:
    return await request.body(), request.headers.get("content-type", "")


@router.post("", response_model=ApplyResult, openapi_extra=APPLY_BODY)
def apply_definition(
    user: CurrentUser, session: SessionDep, body: Annotated[tuple[bytes, str], Depends(_raw_body)]
) -> ApplyResult:
    """Create or update everything a trial definition names, idempotently (admin, assessor)."""
    user.require(REGISTRY_WRITERS, "apply trial definitions")
    spec = _parse_definition(*body)
    try:
        changes = apply_trial(session, spec, user.name)
    except TrialSpecError as exc:
        raise Conflict(str(exc)) from exc
    return ApplyResult(trial_id=spec.trial.id, changed=bool(changes), changes=changes)
