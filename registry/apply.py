"""Create or update the registry from a trial definition, idempotently."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from registry.exclusions import sync_yaml_exclusions
from registry.models import (
    Base,
    Comparison,
    Device,
    Gateway,
    Site,
    Solution,
    SolutionWish,
    Trial,
    Wish,
)
from registry.notifications import enqueue_wish_event
from registry.trial_spec import TrialSpec, TrialSpecError


def _now_ms() -> int:
    return int(time.time() * 1000)


def _upsert(
    session: Session,
    model: type[Base],
    key: str,
    values: dict[str, Any],
    label: str,
    changes: list[str],
) -> Any:
    """Insert or update one row by primary key; note what changed."""
    row = session.get(model, key)
    if row is None:
        row = model(id=key, **values)
        session.add(row)
        changes.append(f"created {label} {key}")
        return row
    changed = sorted(name for name, value in values.items() if getattr(row, name) != value)
    for name in changed:
        setattr(row, name, values[name])
    if changed:
        changes.append(f"updated {label} {key} ({', '.join(changed)})")
    return row


def apply_trial(session: Session, spec: TrialSpec, actor: str = "trial apply") -> list[str]:
    """Create or update everything a trial names; returns what changed (empty: nothing).

    `actor` is who applies it, recorded in the exclusion windows' audit trail. The windows
    live in their own table (registry/exclusions.py), not in the stored spec.
    """
    changes: list[str] = []
    body = spec.trial
    wish = _upsert(
        session,
        Wish,
        spec.wish.id,
        {
            "title": spec.wish.title,
            "department": spec.wish.department,
            "category": spec.wish.category,
            "description": spec.wish.description,
        },
        "wish",
        changes,
    )
    _upsert(
        session,
        Solution,
        spec.solution.id,
        {
            "title": spec.solution.title,
            "provider_id": spec.solution.provider,
            "description": spec.solution.description,
        },
        "solution",
        changes,
    )
    if any(c.startswith(("created wish", "updated wish")) for c in changes):
        wish.updated_ms = _now_ms()
        session.flush()
        event = "created" if changes[0].startswith("created wish") else "updated"
        enqueue_wish_event(session, wish, event, wish.updated_ms)
    session.flush()
    if session.get(SolutionWish, (spec.solution.id, spec.wish.id)) is None:
        session.add(SolutionWish(solution_id=spec.solution.id, wish_id=spec.wish.id))
        changes.append(f"linked solution {spec.solution.id} to wish {spec.wish.id}")
    _upsert(
        session,
        Site,
        body.site.id,
        {"name": body.site.name, "timezone": body.site.timezone},
        "site",
        changes,
    )
    for gateway in body.gateways:
        _upsert(
            session,
            Gateway,
            gateway.id,
            {"site_id": body.site.id, "name": gateway.name},
            "gateway",
            changes,
        )
    session.flush()
    spec_json = spec.model_dump(mode="json")
    spec_json["trial"]["exclusions"] = []
    trial = _upsert(
        session,
        Trial,
        body.id,
        {
            "wish_id": spec.wish.id,
            "solution_id": spec.solution.id,
            "site_id": body.site.id,
            "start_ms": body.start_ms,
            "end_ms": body.end_ms,
            "spec": spec_json,
        },
        "trial",
        changes,
    )
    if changes and changes[-1].startswith(("created trial", "updated trial")):
        trial.updated_ms = _now_ms()
    session.flush()
    _sync_devices(session, spec, changes)
    _sync_comparisons(session, spec, changes)
    sync_yaml_exclusions(session, spec, actor, changes)
    return changes


def _sync_devices(session: Session, spec: TrialSpec, changes: list[str]) -> None:
    body = spec.trial
    wanted = {d.id for d in body.devices}
    for index, spec_device in enumerate(body.devices):
        existing = session.get(Device, spec_device.id)
        if existing is not None and existing.trial_id != body.id:
            # Readings are keyed by device id: moving a device would mix two trials' data.
            raise TrialSpecError(
                f"trial {body.id}",
                f"trial.devices.{index}.id",
                f"device {spec_device.id!r} already belongs to trial {existing.trial_id!r}; "
                "give the device a new id for this trial",
            )
    for device in body.devices:
        _upsert(
            session,
            Device,
            device.id,
            {
                "trial_id": body.id,
                "gateway_id": device.gateway,
                "profile": device.profile,
                "role": device.role.value,
            },
            "device",
            changes,
        )
    stale = session.scalars(
        select(Device).where(Device.trial_id == body.id, Device.id.not_in(wanted))
    ).all()
    for stale_device in stale:
        session.delete(stale_device)
        changes.append(f"removed device {stale_device.id}")


def _sync_comparisons(session: Session, spec: TrialSpec, changes: list[str]) -> None:
    body = spec.trial
    wanted = [(c.under_test, list(c.references)) for c in body.comparisons]
    current = [
        (c.under_test, list(c.references))
        for c in session.scalars(
            select(Comparison).where(Comparison.trial_id == body.id).order_by(Comparison.id)
        )
    ]
    if current == wanted:
        return
    session.execute(delete(Comparison).where(Comparison.trial_id == body.id))
    for under_test, references in wanted:
        session.add(Comparison(trial_id=body.id, under_test=under_test, references=references))
    changes.append(f"set {len(wanted)} comparison(s) of trial {body.id}")
