"""Bearer-token authentication and the visibility rules shared by API routes and dashboard pages.

Tokens are 32 random bytes (URL-safe base64); only their SHA-256 hex digest is stored.
A provider sees only trials of their own solutions, plus published trials (public). Any trial
the caller may not see answers exactly like one that does not exist: `visible_trial` runs the
same single query either way and raises the same NotFound.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, false, or_, select, true
from sqlalchemy.orm import Session

from portal_api.errors import Forbidden, NotFound
from registry.models import Solution, Trial
from registry.publications import PUBLISHED
from registry.users import ROLES, ApiToken, User

ADMIN = "admin"
ASSESSOR = "assessor"
FIELD_ENGINEER = "field_engineer"
PROVIDER = "provider"
VIEWER = "viewer"
ANONYMOUS = "anonymous"

STAFF_ROLES = frozenset({ADMIN, ASSESSOR, FIELD_ENGINEER, VIEWER})


class UnknownRole(ValueError):
    """A role name outside ROLES."""

    def __init__(self, role: str) -> None:
        self.role = role
        super().__init__(f"unknown role {role!r} (known: {', '.join(ROLES)})")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a user with a role, or the anonymous public."""

    user_id: int | None
    name: str
    role: str
    provider_id: str | None = None

    @property
    def is_provider(self) -> bool:
        """True for provider users (whose view is limited to their own trials)."""
        return self.role == PROVIDER

    def require(self, roles: frozenset[str] | set[str], action: str) -> None:
        """Raise Forbidden unless the principal has one of `roles`."""
        if self.role not in roles:
            raise Forbidden(self.role, action)


ANONYMOUS_PRINCIPAL = Principal(user_id=None, name="anonymous", role=ANONYMOUS)


def hash_token(token: str) -> str:
    """SHA-256 hex digest of a token, as stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh random API token (32 bytes of entropy)."""
    return secrets.token_urlsafe(32)


def user_by_name(session: Session, name: str) -> User | None:
    """The user called `name`, or None."""
    return session.scalars(select(User).where(User.name == name)).first()


def create_user(
    session: Session, name: str, role: str, provider_id: str | None = None
) -> tuple[User, str]:
    """Create a user with one API token; returns the user and the clear token (shown once)."""
    if role not in ROLES:
        raise UnknownRole(role)
    now_ms = int(time.time() * 1000)
    user = User(name=name, role=role, provider_id=provider_id, created_ms=now_ms, active=True)
    session.add(user)
    session.flush()
    token = issue_token(session, user)
    return user, token


def issue_token(session: Session, user: User) -> str:
    """Add a new API token for `user`; returns it in clear (only the hash is stored)."""
    token = new_token()
    session.add(
        ApiToken(
            user_id=user.id,
            token_sha256=hash_token(token),
            created_ms=int(time.time() * 1000),
            revoked=False,
        )
    )
    session.flush()
    return token


def principal_from_token(session: Session, token: str | None) -> Principal | None:
    """The principal an API token belongs to, or None when missing, unknown or revoked."""
    if not token:
        return None
    return principal_from_digest(session, hash_token(token))


def principal_from_digest(session: Session, digest: str) -> Principal | None:
    """The principal of the token whose SHA-256 is `digest`, or None (unknown or revoked)."""
    row = session.execute(
        select(ApiToken.token_sha256, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_sha256 == digest, ApiToken.revoked.is_(False), User.active.is_(True))
    ).first()
    # the lookup is by digest; compare again in constant time so equality is never short-circuited
    if row is None or not hmac.compare_digest(row[0], digest):
        return None
    user: User = row[1]
    return Principal(user_id=user.id, name=user.name, role=user.role, provider_id=user.provider_id)


def trial_visibility(principal: Principal) -> ColumnElement[bool]:
    """SQL condition on Trial (joined with Solution) for the trials the principal may see."""
    if principal.role in STAFF_ROLES:
        return true()
    published = Trial.status == PUBLISHED
    if principal.is_provider and principal.provider_id:
        return or_(Solution.provider_id == principal.provider_id, published)
    return published


def visible_trials_query(principal: Principal) -> Select[Trial]:
    """SELECT of the trials the principal may see (joined with their solution)."""
    return (
        select(Trial)
        .join(Solution, Solution.id == Trial.solution_id)
        .where(trial_visibility(principal))
    )


def visible_trial(session: Session, principal: Principal, trial_id: str) -> Trial:
    """The trial if the principal may see it; else NotFound, the same as for no such trial."""
    trial = session.scalars(
        visible_trials_query(principal).where(Trial.id == trial_id)
    ).first()
    if trial is None:
        raise NotFound("trial")
    return trial


def owned_trial_ids(principal: Principal) -> Select[str]:
    """SELECT of the ids of trials whose non-public data (devices, gateways, dead letters) the
    principal may see: every trial for staff, own trials for a provider, none otherwise."""
    query = select(Trial.id).join(Solution, Solution.id == Trial.solution_id)
    if principal.role in STAFF_ROLES:
        return query
    if principal.is_provider and principal.provider_id:
        return query.where(Solution.provider_id == principal.provider_id)
    return query.where(false())
