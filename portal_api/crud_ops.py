"""The data layer for operational resources: gateways, dead letters, subscriptions."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from portal_api.auth import STAFF_ROLES, Principal
from portal_api.crud import now_ms, owned_device_ids, owned_gateway_ids
from portal_api.errors import BadRequest, NotFound
from portal_api.schemas import SubscriptionCreate
from portal_api.webhook_targets import TargetRefused, check_target
from registry.models import DeadLetter, Gateway
from registry.notifications import Notification, WishSubscription
from telemetry.settings import ApiSettings

ONLINE = "online"


def gateways_query(principal: Principal, state: str | None) -> Select[Gateway]:
    """Gateways: all for staff; for a provider, those carrying their trials' devices."""
    query = select(Gateway).order_by(Gateway.id)
    if principal.role not in STAFF_ROLES:
        query = query.where(Gateway.id.in_(owned_gateway_ids(principal)))
    if state:
        query = query.where(Gateway.state == state)
    return query


def gateway_public(gateway: Gateway) -> dict[str, Any]:
    """A gateway as a dict for GatewayPublic."""
    return {
        "id": gateway.id,
        "site_id": gateway.site_id,
        "name": gateway.name,
        "state": gateway.state,
        "online": gateway.state == ONLINE,
        "state_changed_ms": gateway.state_changed_ms,
        "last_status": gateway.last_status,
    }


def get_gateway(session: Session, principal: Principal, gateway_id: str) -> Gateway:
    """A gateway the principal may see, else NotFound."""
    gateway = session.scalars(
        gateways_query(principal, None).where(Gateway.id == gateway_id)
    ).first()
    if gateway is None:
        raise NotFound("gateway")
    return gateway


def dead_letters_query(
    principal: Principal, gateway_id: str | None, reason: str | None
) -> Select[DeadLetter]:
    """Dead letters, newest first: all for staff; for a provider, only those of devices
    currently in their trials (not a gateway's device-less ones, nor a removed device's)."""
    query = select(DeadLetter).order_by(DeadLetter.id.desc())
    if principal.role not in STAFF_ROLES:
        query = query.where(DeadLetter.device_id.in_(owned_device_ids(principal)))
    if gateway_id:
        query = query.where(DeadLetter.gateway_id == gateway_id)
    if reason:
        query = query.where(DeadLetter.reason == reason)
    return query


def subscriptions_query(principal: Principal) -> Select[WishSubscription]:
    """Subscriptions: all for admins, own for providers."""
    query = select(WishSubscription).order_by(WishSubscription.id)
    if principal.role != "admin":
        query = query.where(WishSubscription.provider_id == (principal.provider_id or ""))
    return query


def create_subscription(
    session: Session, principal: Principal, body: SubscriptionCreate, settings: ApiSettings
) -> WishSubscription:
    """Subscribe a provider (the caller's own, or any for admins) to wishes; the webhook must
    be a public address (or allowlisted) and a provider has at most
    `webhook_max_subscriptions`."""
    provider_id = principal.provider_id if principal.is_provider else body.provider_id
    if not provider_id:
        raise BadRequest("provider_id is required")
    if not body.categories and not body.keywords:
        raise BadRequest("give at least one category or keyword")
    try:
        check_target(str(body.webhook_url), settings.webhook_networks)
    except TargetRefused as exc:
        raise BadRequest(f"webhook_url: {exc}") from exc
    existing = session.scalar(
        select(func.count()).select_from(WishSubscription)
        .where(WishSubscription.provider_id == provider_id)
    )
    if (existing or 0) >= settings.webhook_max_subscriptions:
        raise BadRequest(f"provider {provider_id} already has {existing} subscriptions, the "
                         f"most allowed (api.webhook_max_subscriptions); delete one first")
    subscription = WishSubscription(
        provider_id=provider_id,
        categories=list(body.categories),
        keywords=list(body.keywords),
        webhook_url=str(body.webhook_url),
        secret=secrets.token_hex(32),
        created_ms=now_ms(),
    )
    session.add(subscription)
    session.flush()
    return subscription


def get_subscription(
    session: Session, principal: Principal, subscription_id: int
) -> WishSubscription:
    """A subscription the principal may see, else NotFound."""
    found = session.scalars(
        subscriptions_query(principal).where(WishSubscription.id == subscription_id)
    ).first()
    if found is None:
        raise NotFound("subscription")
    return found


def notifications_query(principal: Principal, status: str | None) -> Select[Notification]:
    """Notifications of the subscriptions the principal may see, newest first."""
    subscription_ids = subscriptions_query(principal).with_only_columns(WishSubscription.id)
    query = (
        select(Notification)
        .where(Notification.subscription_id.in_(subscription_ids))
        .order_by(Notification.id.desc())
    )
    if status:
        query = query.where(Notification.status == status)
    return query
