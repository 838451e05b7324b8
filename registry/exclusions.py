"""Exclusion windows of a trial (METRICS-v2.md §1): stored, revoked (never deleted), audited.

A window comes from the trial YAML (`source = "yaml"`, approver named in the file) or from an
assessor through the API (`source = "api"`, approver = the caller). Every change writes one
`ExclusionAudit` row (who, when, what) and bumps the trial's `updated_ms`, so cached metrics
are recomputed. Re-applying a YAML:
- creates its new windows; leaves identical ones alone (applying a file twice changes nothing);
- updates a YAML window whose period, devices, reason or approver changed (the audit row keeps
  the old values);
- revokes a YAML window the file no longer lists;
- never touches a window created through the API, and never revives a revoked window (a
  revoked id stays revoked: list the window under a new id to exclude the period again).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.models import ExclusionAudit, Trial, TrialExclusion
from telemetry.trial_spec import ExclusionSpec, TrialSpec, TrialSpecError

SOURCE_YAML = "yaml"
SOURCE_API = "api"
CREATED, UPDATED, REVOKED = "created", "updated", "revoked"
YAML_REMOVED_REASON = "removed from the trial YAML"


class ExclusionProblem(ValueError):
    """A window that cannot be created or revoked as asked; the message says why."""


class ExclusionConflict(ExclusionProblem):
    """Clashes with a stored window: its id is taken, or it is already revoked."""


class UnknownExclusion(KeyError):
    """No window with that id in the trial."""

    def __init__(self, exclusion_id: str) -> None:
        self.exclusion_id = exclusion_id
        super().__init__(exclusion_id)

    def __str__(self) -> str:
        return f"unknown exclusion window {self.exclusion_id!r}"


def _now_ms() -> int:
    return int(time.time() * 1000)


def window_json(row: TrialExclusion) -> dict[str, Any]:
    """The window's definition (what the audit trail records)."""
    return {
        "start_ms": row.start_ms,
        "end_ms": row.end_ms,
        "devices": "all" if row.all_devices else list(row.devices),
        "reason": row.reason,
        "approved_by": row.approved_by,
    }


def exclusion_json(row: TrialExclusion) -> dict[str, Any]:
    """A window as the API and the dashboard show it: its definition (`window_json`), id,
    source, status (active or revoked) and who revoked it why."""
    return {
        **window_json(row),
        "id": row.exclusion_id,
        "trial_id": row.trial_id,
        "source": row.source,
        "status": "active" if row.revoked_ms is None else "revoked",
        "created_ms": row.created_ms,
        "revoked_ms": row.revoked_ms,
        "revoked_by": row.revoked_by,
        "revoke_reason": row.revoke_reason,
    }


def _spec_values(window: ExclusionSpec) -> dict[str, Any]:
    return {
        "start_ms": window.start_ms,
        "end_ms": window.end_ms,
        "all_devices": window.devices == "all",
        "devices": [] if window.devices == "all" else list(window.devices),
        "reason": window.reason,
        "approved_by": window.approved_by,
    }


def to_spec(row: TrialExclusion, timezone: str) -> ExclusionSpec:
    """The stored window as the trial YAML's ExclusionSpec (times in the site's zone)."""
    zone = ZoneInfo(timezone)
    return ExclusionSpec(
        id=row.exclusion_id,
        start=datetime.fromtimestamp(row.start_ms / 1000, zone),
        end=datetime.fromtimestamp(row.end_ms / 1000, zone),
        devices="all" if row.all_devices else list(row.devices),
        reason=row.reason,
        approved_by=row.approved_by,
    )


def trial_exclusions(session: Session, trial_id: str) -> list[TrialExclusion]:
    """Every window of the trial, revoked ones included, by start then id."""
    return list(
        session.scalars(
            select(TrialExclusion)
            .where(TrialExclusion.trial_id == trial_id)
            .order_by(TrialExclusion.start_ms, TrialExclusion.exclusion_id)
        )
    )


def active_exclusion_json(session: Session, trial_id: str, timezone: str) -> list[dict[str, Any]]:
    """The trial's non-revoked windows as TrialBody.exclusions JSON."""
    return [
        to_spec(row, timezone).model_dump(mode="json")
        for row in trial_exclusions(session, trial_id)
        if row.revoked_ms is None
    ]


def audit_trail(session: Session, trial_id: str) -> list[ExclusionAudit]:
    """Every recorded change of the trial's windows, oldest first."""
    return list(
        session.scalars(
            select(ExclusionAudit)
            .where(ExclusionAudit.trial_id == trial_id)
            .order_by(ExclusionAudit.id)
        )
    )


def _audit(
    session: Session,
    row: TrialExclusion,
    action: str,
    actor: str,
    detail: dict[str, Any],
    now_ms: int,
) -> None:
    session.add(
        ExclusionAudit(
            trial_id=row.trial_id,
            exclusion_id=row.exclusion_id,
            action=action,
            actor=actor,
            at_ms=now_ms,
            detail=detail,
        )
    )
    trial = session.get(Trial, row.trial_id)
    if trial is not None:
        trial.updated_ms = max(now_ms, trial.updated_ms + 1)


def _check_devices(window: ExclusionSpec, device_ids: set[str]) -> None:
    if window.devices == "all":
        return
    unknown = sorted(set(window.devices) - device_ids)
    if unknown:
        raise ExclusionProblem(f"exclusion {window.id!r} names devices not in the trial: {unknown}")


def create_exclusion(
    session: Session, spec: TrialSpec, window: ExclusionSpec, actor: str, source: str = SOURCE_API
) -> TrialExclusion:
    """Store a new window of the trial and audit it; ExclusionProblem if the id is taken."""
    trial_id = spec.trial.id
    _check_devices(window, {d.id for d in spec.trial.devices})
    if session.get(TrialExclusion, (trial_id, window.id)) is not None:
        raise ExclusionConflict(
            f"exclusion id {window.id!r} is already used in trial {trial_id!r} "
            "(ids are never reused, even after a revocation)"
        )
    now_ms = _now_ms()
    row = TrialExclusion(
        trial_id=trial_id,
        exclusion_id=window.id,
        source=source,
        created_ms=now_ms,
        **_spec_values(window),
    )
    session.add(row)
    session.flush()
    _audit(session, row, CREATED, actor, {**window_json(row), "source": source}, now_ms)
    session.flush()
    return row


def revoke_exclusion(
    session: Session, trial_id: str, exclusion_id: str, actor: str, reason: str
) -> TrialExclusion:
    """Revoke a window (kept, marked revoked) and audit it; raises UnknownExclusion."""
    row = session.get(TrialExclusion, (trial_id, exclusion_id))
    if row is None:
        raise UnknownExclusion(exclusion_id)
    if row.revoked_ms is not None:
        raise ExclusionConflict(f"exclusion {exclusion_id!r} is already revoked")
    if not reason.strip():
        raise ExclusionProblem("reason: must not be empty")
    now_ms = _now_ms()
    row.revoked_ms, row.revoked_by, row.revoke_reason = now_ms, actor, reason
    _audit(session, row, REVOKED, actor, {"reason": reason}, now_ms)
    session.flush()
    return row


def _update_from_yaml(
    session: Session, row: TrialExclusion, window: ExclusionSpec, actor: str
) -> bool:
    values = _spec_values(window)
    if all(getattr(row, name) == value for name, value in values.items()):
        return False
    if row.source != SOURCE_YAML or row.revoked_ms is not None:
        what = "was created through the API" if row.source != SOURCE_YAML else "is revoked"
        raise ExclusionProblem(f"exclusion {window.id!r} {what}; give the YAML window a new id")
    before = window_json(row)
    for name, value in values.items():
        setattr(row, name, value)
    _audit(session, row, UPDATED, actor, {"before": before, "after": window_json(row)}, _now_ms())
    return True


def sync_yaml_exclusions(session: Session, spec: TrialSpec, actor: str, changes: list[str]) -> None:
    """Make the stored YAML windows match the definition (see the module docstring)."""
    body = spec.trial
    source = f"trial {body.id}"
    stored = {row.exclusion_id: row for row in trial_exclusions(session, body.id)}
    device_ids = {d.id for d in body.devices}
    try:
        for window in body.exclusions:
            row = stored.get(window.id)
            if row is None:
                create_exclusion(session, spec, window, actor, SOURCE_YAML)
                changes.append(f"created exclusion {window.id}")
            elif _update_from_yaml(session, row, window, actor):
                changes.append(f"updated exclusion {window.id}")
        listed = {window.id for window in body.exclusions}
        for row in stored.values():
            active = row.revoked_ms is None
            if active and row.source == SOURCE_YAML and row.exclusion_id not in listed:
                revoke_exclusion(session, body.id, row.exclusion_id, actor, YAML_REMOVED_REASON)
                changes.append(f"revoked exclusion {row.exclusion_id} ({YAML_REMOVED_REASON})")
            elif active and not set(row.devices) <= device_ids:
                raise ExclusionProblem(
                    f"active exclusion {row.exclusion_id!r} names devices this definition "
                    f"removes: {sorted(set(row.devices) - device_ids)}; revoke it first"
                )
    except ExclusionProblem as exc:
        raise TrialSpecError(source, "trial.exclusions", str(exc)) from exc
