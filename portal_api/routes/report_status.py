"""Whether a trial's newest issued report needs a re-issue, and what changed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from portal_api.auth import visible_trial
from portal_api.deps import PrincipalDep, SessionDep, StateDep, StoreDep
from portal_api.report_status import report_status
from portal_api.routes.common import NOT_FOUND, OPTIONAL_AUTH

router = APIRouter(prefix="/trials", tags=["trial data"])


class MetricChange(BaseModel):
    """One metric that moved: dotted path, value in the issued version, value now."""

    path: str
    old: Any
    new: Any


class ExclusionChangesPublic(BaseModel):
    """Window ids added, revoked and changed since the issue."""

    added: list[str]
    removed: list[str]
    changed: list[str]


class ReportStatus(BaseModel):
    """The newest issued version (null before the first) and whether it still holds."""

    trial_id: str
    issued_version: int | None
    window: dict[str, int] | None
    needs_reissue: bool
    metric_changes: list[MetricChange]
    exclusion_changes: ExclusionChangesPublic


@router.get("/{trial_id}/report-status", openapi_extra=OPTIONAL_AUTH,
            response_model=ReportStatus, responses=NOT_FOUND)
def read_report_status(
    session: SessionDep, principal: PrincipalDep, store: StoreDep, state: StateDep, trial_id: str
) -> ReportStatus:
    """Recompute the issued version's window with today's readings and exclusion windows."""
    trial = visible_trial(session, principal, trial_id)
    return ReportStatus.model_validate(
        report_status(session, store, trial, state.settings.data_dir, state.reissue_cache)
    )
