"""Record the online/offline status gateways publish on their retained status topic."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from registry.models import Gateway


def record_gateway_status(
    session: Session, gateway_id: str, status: dict[str, Any], received_ms: int
) -> bool:
    """Store a gateway's last status; returns False when the gateway is not registered.

    `state_changed_ms` moves only when the state changes; it is the status payload's
    integer `ts_ms` (or `sent_ms`) when present, else the time the status was received.
    """
    gateway = session.get(Gateway, gateway_id)
    if gateway is None:
        return False
    state = str(status.get("state"))
    stamp = status.get("ts_ms", status.get("sent_ms"))
    at_ms = stamp if isinstance(stamp, int) and not isinstance(stamp, bool) else received_ms
    if gateway.state != state:
        gateway.state = state
        gateway.state_changed_ms = at_ms
    gateway.last_status = {**status, "received_ms": received_ms}
    return True
