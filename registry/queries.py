"""Read-side queries on the registry shared by ingest, analytics, reports and the API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.exclusions import active_exclusion_json
from registry.models import DeadLetter, Device, Gateway, Trial
from telemetry.trial_spec import DEFAULT_TIMEZONE, TrialSpec, parse_trial_spec


class UnknownTrial(KeyError):
    """No trial with that id in the registry."""

    def __init__(self, trial_id: str) -> None:
        self.trial_id = trial_id
        super().__init__(trial_id)

    def __str__(self) -> str:
        return f"unknown trial {self.trial_id!r}"


@dataclass(frozen=True, slots=True)
class DeviceEntry:
    """What ingest needs to know about a device."""

    device_id: str
    gateway_id: str
    profile: str
    trial_id: str


@dataclass(frozen=True, slots=True)
class DeviceDirectory:
    """Snapshot of the known gateways and devices, for validating incoming messages."""

    gateways: frozenset[str]
    devices: Mapping[str, DeviceEntry]

    def sender_problem(self, gateway_id: str, device_id: str) -> tuple[str, str] | None:
        """Why readings of `device_id` from `gateway_id` are refused (a DESIGN.md reason code
        and a detail: unknown_gateway, unknown_device, device_not_on_gateway), or None."""
        if gateway_id not in self.gateways:
            return "unknown_gateway", f"gateway {gateway_id!r} is not registered"
        entry = self.devices.get(device_id)
        if entry is None:
            return "unknown_device", f"device {device_id!r} is not registered"
        if entry.gateway_id != gateway_id:
            return ("device_not_on_gateway",
                    f"device {device_id!r} is assigned to gateway {entry.gateway_id!r}, "
                    f"not {gateway_id!r}")
        return None


def device_directory(session: Session) -> DeviceDirectory:
    """Load every gateway and device id with its assignment and profile."""
    gateways = frozenset(session.scalars(select(Gateway.id)))
    devices = {
        row.id: DeviceEntry(row.id, row.gateway_id, row.profile, row.trial_id)
        for row in session.scalars(select(Device))
    }
    return DeviceDirectory(gateways=gateways, devices=devices)


def get_trial_spec(session: Session, trial_id: str) -> TrialSpec:
    """The trial definition as last applied, with its active exclusion windows; UnknownTrial."""
    trial = session.get(Trial, trial_id)
    if trial is None:
        raise UnknownTrial(trial_id)
    return trial_spec_of(session, trial)


def trial_spec_of(session: Session, trial: Trial) -> TrialSpec:
    """A trial row's definition; `exclusions` = its non-revoked windows (YAML and API)."""
    body = dict(trial.spec["trial"])
    timezone = str(body.get("site", {}).get("timezone", DEFAULT_TIMEZONE))
    body["exclusions"] = active_exclusion_json(session, trial.id, timezone)
    return parse_trial_spec({**trial.spec, "trial": body}, f"registry trial {trial.id}")


def trial_ids(session: Session) -> list[str]:
    """All trial ids, sorted."""
    return list(session.scalars(select(Trial.id).order_by(Trial.id)))


def rejected_counts(session: Session, device_ids: list[str]) -> dict[str, int]:
    """Dead-lettered readings per device (0 for devices with none)."""
    rows = session.execute(
        select(DeadLetter.device_id, func.count())
        .where(DeadLetter.device_id.in_(device_ids))
        .group_by(DeadLetter.device_id)
    ).all()
    counts = dict.fromkeys(device_ids, 0)
    counts.update({device_id: int(n) for device_id, n in rows if device_id is not None})
    return counts
