"""Exclusion windows of a trial: list, create and revoke (never delete), and their audit trail."""

from __future__ import annotations

import secrets
from typing import Annotated, Any, Literal

from fastapi import APIRouter, status
from pydantic import AwareDatetime, Field, ValidationError

from portal_api.auth import visible_trial
from portal_api.deps import CurrentUser, PrincipalDep, SessionDep
from portal_api.errors import BadRequest, Conflict, NotFound
from portal_api.routes.common import NOT_FOUND, OPTIONAL_AUTH, REGISTRY_WRITERS
from portal_api.schemas import _In, _Out
from registry.exclusions import (
    ExclusionConflict,
    ExclusionProblem,
    UnknownExclusion,
    audit_trail,
    create_exclusion,
    exclusion_json,
    revoke_exclusion,
    trial_exclusions,
)
from registry.models import TrialExclusion
from registry.queries import trial_spec_of
from telemetry.trial_spec import ExclusionSpec
from telemetry.wire import IdStr

router = APIRouter(prefix="/trials/{trial_id}/exclusions", tags=["exclusion windows"])
Reason = Annotated[str, Field(min_length=1, max_length=500)]


class ExclusionCreate(_In):
    """A new window; the approver is the caller. Without `id`, one is made up."""

    id: IdStr | None = None
    start: AwareDatetime
    end: AwareDatetime
    devices: Literal["all"] | list[IdStr]
    reason: Reason


class ExclusionRevoke(_In):
    """Why the window no longer applies."""

    reason: Reason


class ExclusionPublic(_Out):
    """A window as stored: `status` is active or revoked; `source` yaml or api."""

    id: str
    trial_id: str
    start_ms: int
    end_ms: int
    devices: Literal["all"] | list[str]
    reason: str
    approved_by: str
    source: str
    status: Literal["active", "revoked"]
    created_ms: int
    revoked_ms: int | None
    revoked_by: str | None
    revoke_reason: str | None


class ExclusionAuditPublic(_Out):
    """One change: `action` created / updated / revoked, by `actor` at `at_ms`."""

    id: int
    exclusion_id: str
    action: str
    actor: str
    at_ms: int
    detail: dict[str, Any]


def _public(row: TrialExclusion) -> ExclusionPublic:
    return ExclusionPublic.model_validate(exclusion_json(row))


@router.get("", openapi_extra=OPTIONAL_AUTH, response_model=list[ExclusionPublic],
            responses=NOT_FOUND)
def list_exclusions(
    session: SessionDep, principal: PrincipalDep, trial_id: str
) -> list[ExclusionPublic]:
    """Every window of the trial, revoked ones included (anyone who may see the trial)."""
    trial = visible_trial(session, principal, trial_id)
    return [_public(row) for row in trial_exclusions(session, trial.id)]


@router.post("", response_model=ExclusionPublic, status_code=status.HTTP_201_CREATED,
             responses=NOT_FOUND)
def add_exclusion(
    session: SessionDep, user: CurrentUser, trial_id: str, body: ExclusionCreate
) -> ExclusionPublic:
    """Exclude a period from the metrics (admin, assessor); the caller is the approver."""
    trial = visible_trial(session, user, trial_id)
    user.require(REGISTRY_WRITERS, "create exclusion windows")
    try:
        window = ExclusionSpec(
            id=body.id or f"x-{secrets.token_hex(4)}",
            start=body.start,
            end=body.end,
            devices=body.devices,
            reason=body.reason,
            approved_by=user.name,
        )
    except ValidationError as exc:
        raise BadRequest(str(exc.errors()[0]["msg"])) from exc
    try:
        row = create_exclusion(session, trial_spec_of(session, trial), window, user.name)
    except ExclusionConflict as exc:
        raise Conflict(str(exc)) from exc
    except ExclusionProblem as exc:
        raise BadRequest(str(exc)) from exc
    return _public(row)


@router.post("/{exclusion_id}/revoke", response_model=ExclusionPublic, responses=NOT_FOUND)
def revoke(
    session: SessionDep, user: CurrentUser, trial_id: str, exclusion_id: str,
    body: ExclusionRevoke,
) -> ExclusionPublic:
    """Revoke a window (admin, assessor): it stays listed, marked revoked, and stops applying."""
    trial = visible_trial(session, user, trial_id)
    user.require(REGISTRY_WRITERS, "revoke exclusion windows")
    try:
        row = revoke_exclusion(session, trial.id, exclusion_id, user.name, body.reason)
    except UnknownExclusion as exc:
        raise NotFound("exclusion window") from exc
    except ExclusionConflict as exc:
        raise Conflict(str(exc)) from exc
    except ExclusionProblem as exc:
        raise BadRequest(str(exc)) from exc
    return _public(row)


@router.get("/audit", response_model=list[ExclusionAuditPublic], responses=NOT_FOUND)
def list_audit(
    session: SessionDep, user: CurrentUser, trial_id: str
) -> list[ExclusionAuditPublic]:
    """Every change of the trial's windows, oldest first: who, when, what (signed-in callers)."""
    trial = visible_trial(session, user, trial_id)
    return [ExclusionAuditPublic.model_validate(row) for row in audit_trail(session, trial.id)]
