"""Wish subscriptions of providers and the delivery state of their notifications."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from portal_api import crud_ops
from portal_api.deps import CurrentUser, SessionDep, SettingsDep
from portal_api.routes.common import NOT_FOUND, Filter, Limit, Offset, each, list_page
from portal_api.schemas import NotificationPublic, Page, SubscriptionCreate, SubscriptionPublic

router = APIRouter(prefix="/subscriptions", tags=["subscriptions"])
notifications_router = APIRouter(prefix="/notifications", tags=["subscriptions"])
SUBSCRIBERS = frozenset({"admin", "provider"})
SubscriptionId = Annotated[int, Path(ge=1, le=2**31 - 1, description="a subscription's id")]
"""A row id (an INTEGER column): ids out of its range are refused (422), not queried."""


@router.get("", response_model=Page[SubscriptionPublic])
def list_subscriptions(
    session: SessionDep, user: CurrentUser, limit: Limit = 100, offset: Offset = 0
) -> Page[SubscriptionPublic]:
    """The caller's subscriptions (all, for admins)."""
    user.require(SUBSCRIBERS, "list subscriptions")
    return list_page(
        session,
        crud_ops.subscriptions_query(user),
        limit,
        offset,
        each(SubscriptionPublic.model_validate),
    )


@router.post("", response_model=SubscriptionPublic, status_code=status.HTTP_201_CREATED)
def create_subscription(
    session: SessionDep, user: CurrentUser, settings: SettingsDep, body: SubscriptionCreate
) -> SubscriptionPublic:
    """Subscribe to new and changed wishes by category and/or keyword, delivered to a webhook
    signed with HMAC-SHA256 of the body under the returned `secret`. The webhook host must be
    a public address: loopback, private, link-local, multicast and unspecified addresses and
    `localhost` are refused (422) unless the operator allowlisted the network."""
    user.require(SUBSCRIBERS, "subscribe to wishes")
    subscription = crud_ops.create_subscription(session, user, body, settings.api)
    return SubscriptionPublic.model_validate(subscription)


@router.delete("/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
def delete_subscription(
    session: SessionDep, user: CurrentUser, subscription_id: SubscriptionId
) -> None:
    """Remove a subscription and its pending notifications."""
    user.require(SUBSCRIBERS, "unsubscribe")
    session.delete(crud_ops.get_subscription(session, user, subscription_id))


@notifications_router.get("", response_model=Page[NotificationPublic])
def list_notifications(
    session: SessionDep,
    user: CurrentUser,
    status: Filter = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[NotificationPublic]:
    """Wish notifications and their delivery state (pending, delivered, failed)."""
    user.require(SUBSCRIBERS, "list notifications")
    query = crud_ops.notifications_query(user, status)
    return list_page(session, query, limit, offset, each(NotificationPublic.model_validate))
