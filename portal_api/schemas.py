"""Request and response bodies: families XCreate / XUpdate / XPublic per resource."""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from telemetry.wire import IdStr as ID

TrialStatus = Literal["planned", "running", "analysing", "verified", "published"]
WishStatus = Literal["open", "matched", "trialling", "closed"]
T = TypeVar("T")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    """One page of a list: `items`, the `total` matching, and the window asked for."""

    items: list[T]
    total: int
    limit: int
    offset: int


class Health(BaseModel):
    """Liveness of the API and its registry."""

    status: Literal["ok"]
    version: str
    registry: Literal["ok"]


class Message(BaseModel):
    """An error or informational message."""

    detail: str


class WishCreate(_In):
    """A new wish."""

    id: ID
    title: Annotated[str, Field(min_length=1, max_length=300)]
    department: Annotated[str, Field(min_length=1, max_length=200)]
    category: Annotated[str, Field(min_length=1, max_length=64)] = "general"
    description: Annotated[str, Field(max_length=20_000)] = ""
    status: WishStatus = "open"


class WishUpdate(_In):
    """Changes to a wish (only the fields given)."""

    title: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    department: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    category: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    description: Annotated[str, Field(max_length=20_000)] | None = None
    status: WishStatus | None = None


class WishPublic(_Out):
    """A wish as the API shows it."""

    id: str
    title: str
    department: str
    category: str
    description: str
    status: str
    updated_ms: int


class SolutionCreate(_In):
    """A new solution; providers may only create solutions under their own provider id."""

    id: ID
    title: Annotated[str, Field(min_length=1, max_length=300)]
    provider_id: ID
    description: Annotated[str, Field(max_length=20_000)] = ""
    wish_ids: Annotated[list[ID], Field(max_length=100)] = []


class SolutionUpdate(_In):
    """Changes to a solution (only the fields given)."""

    title: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    description: Annotated[str, Field(max_length=20_000)] | None = None
    wish_ids: Annotated[list[ID], Field(max_length=100)] | None = None


class SolutionPublic(_Out):
    """A solution and the wishes it answers."""

    id: str
    title: str
    provider_id: str
    description: str
    wish_ids: list[str]


class SitePublic(_Out):
    """A trial site; its time zone defines calendar days."""

    id: str
    name: str
    timezone: str


class TrialPublic(_Out):
    """A trial: what it tests, where, when, and its status."""

    id: str
    wish_id: str
    solution_id: str
    site_id: str
    start_ms: int
    end_ms: int
    status: str
    params: dict[str, float]
    acceptance: list[dict[str, Any]]
    updated_ms: int


class TrialUpdate(_In):
    """Changes to a trial's status."""

    status: TrialStatus


class ApplyResult(BaseModel):
    """What applying a trial definition changed (nothing when applied twice)."""

    trial_id: str
    changed: bool
    changes: list[str]


class GatewayPublic(_Out):
    """An edge gateway and its last published status."""

    id: str
    site_id: str | None
    name: str
    state: str
    online: bool
    state_changed_ms: int | None
    last_status: dict[str, Any] | None


class DevicePublic(_Out):
    """A device under test or reference instrument."""

    id: str
    trial_id: str
    gateway_id: str
    profile: str
    role: str


class ComparisonPublic(_Out):
    """A device under test against its reference instrument(s)."""

    id: int
    trial_id: str
    under_test: str
    references: list[str]


class DeadLetterPublic(_Out):
    """A rejected reading or message with its reason."""

    id: int
    received_ms: int
    reason: str
    detail: str
    source: str
    topic: str | None
    gateway_id: str | None
    device_id: str | None
    seq: int | None
    ts_ms: int | None
    payload_excerpt: str


class SubscriptionCreate(_In):
    """A provider's subscription to wishes by category and/or keyword."""

    categories: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=50)
    ] = []
    keywords: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=100)]], Field(max_length=50)
    ] = []
    webhook_url: AnyHttpUrl
    provider_id: ID | None = None


class SubscriptionPublic(_Out):
    """A subscription; `secret` signs its webhook deliveries (HMAC-SHA256)."""

    id: int
    provider_id: str
    categories: list[str]
    keywords: list[str]
    webhook_url: str
    secret: str
    created_ms: int


class NotificationPublic(_Out):
    """A wish notification and its delivery state."""

    id: int
    subscription_id: int
    wish_id: str
    event: str
    status: str
    attempts: int
    next_attempt_ms: int
    last_error: str | None
    created_ms: int
    delivered_ms: int | None


class UserPublic(BaseModel):
    """The calling user."""

    name: str
    role: str
    provider_id: str | None


class PublicationPublic(_Out):
    """A published report version: verdict, package hash, links, and what superseded it."""

    trial_id: str
    version: int
    published_ms: int
    verdict: str
    package_sha256: str
    superseded_by: int | None
    note: str
    changes: list[dict[str, Any]]
    files: dict[str, str]


class PublishResultPublic(BaseModel):
    """What publishing a report version did."""

    trial_id: str
    version: int
    published_ms: int
    supersedes: int | None
    notified: int
    already_published: bool
