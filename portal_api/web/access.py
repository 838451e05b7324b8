"""Who is looking at a dashboard page: bearer header or an encrypted session cookie.

The cookie never holds the token: it holds a random session id, encrypted and authenticated
(Fernet, key in the data dir). The registry keeps the id's SHA-256 with the token it was opened
with (registry.users.WebSession); every request checks both again, so signing out (which deletes
the row) makes a copied cookie useless, and revoking a token ends its sessions. Visibility uses
the portal API's own rules (`portal_api.auth`), so another provider's trial is a 404 here
exactly as in the API.
"""

from __future__ import annotations

import secrets
import time

from cryptography.fernet import Fernet, InvalidToken
from fastapi import Request
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from portal_api.auth import (
    Principal,
    hash_token,
    principal_from_digest,
    principal_from_token,
    visible_trial,
    visible_trials_query,
)
from portal_api.errors import NotFound
from registry.models import Trial
from registry.users import WebSession

SESSION_COOKIE = "innotrial_session"
SESSION_MAX_AGE_S = 12 * 3600


class LoginRequired(Exception):
    """The page needs a signed-in user; `next_path` is where to return after signing in."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path
        super().__init__(f"sign-in required for {next_path}")


class TrialHidden(Exception):
    """No such trial, or the user may not see it (one answer for both: 404)."""

    def __init__(self, trial_id: str) -> None:
        self.trial_id = trial_id
        super().__init__(f"trial {trial_id!r} not found")


def seal_session(fernet: Fernet, token: str) -> str:
    """The session cookie value for a token: encrypted and authenticated."""
    return fernet.encrypt(token.encode("utf-8")).decode("ascii")


def open_session(fernet: Fernet, cookie: str | None) -> str | None:
    """The token inside a session cookie, or None when absent, forged or older than the max age."""
    if not cookie:
        return None
    try:
        return fernet.decrypt(cookie.encode("ascii"), ttl=SESSION_MAX_AGE_S).decode("utf-8")
    except (InvalidToken, UnicodeError):
        return None


def start_session(session: Session, fernet: Fernet, token: str) -> str:
    """Record a new dashboard session for `token`; returns the cookie value."""
    now_ms = int(time.time() * 1000)
    session.execute(delete(WebSession).where(WebSession.expires_ms <= now_ms))
    session_id = secrets.token_urlsafe(32)
    session.add(WebSession(session_sha256=hash_token(session_id), token_sha256=hash_token(token),
                           created_ms=now_ms, expires_ms=now_ms + SESSION_MAX_AGE_S * 1000))
    session.flush()
    return seal_session(fernet, session_id)


def end_session(session: Session, fernet: Fernet, cookie: str | None) -> None:
    """Forget the session of a cookie in the registry (a copy of the cookie stops working)."""
    session_id = open_session(fernet, cookie)
    if session_id is not None:
        session.execute(delete(WebSession).where(
            WebSession.session_sha256 == hash_token(session_id)))


def _session_principal(session: Session, session_id: str | None) -> Principal | None:
    if session_id is None:
        return None
    digest = session.scalar(select(WebSession.token_sha256).where(
        WebSession.session_sha256 == hash_token(session_id),
        WebSession.expires_ms > int(time.time() * 1000)))
    return None if digest is None else principal_from_digest(session, digest)


def request_principal(session: Session, request: Request, fernet: Fernet) -> Principal | None:
    """The caller: the Authorization bearer header first, then the session cookie."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return principal_from_token(session, value.strip())
    return _session_principal(session, open_session(fernet, request.cookies.get(SESSION_COOKIE)))


def current_principal(session: Session, request: Request, fernet: Fernet) -> Principal:
    """The signed-in principal; raises LoginRequired when there is none."""
    principal = request_principal(session, request, fernet)
    if principal is None:
        raise LoginRequired(request.url.path)
    return principal


def trial_for(session: Session, principal: Principal, trial_id: str) -> Trial:
    """The trial if the principal may see it; TrialHidden (a 404) otherwise."""
    try:
        return visible_trial(session, principal, trial_id)
    except NotFound as exc:
        raise TrialHidden(trial_id) from exc


def trials_for(session: Session, principal: Principal) -> list[Trial]:
    """Every trial the principal may see, by id."""
    return list(session.scalars(visible_trials_query(principal).order_by(Trial.id)))
