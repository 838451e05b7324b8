"""The data layer for registry resources: every query the routes make lives here."""

from __future__ import annotations

import time
from typing import Any, TypeVar

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.orm import Session

from portal_api.auth import (
    STAFF_ROLES,
    Principal,
    owned_trial_ids,
    visible_trials_query,
)
from portal_api.errors import BadRequest, Conflict, NotFound
from portal_api.schemas import SolutionCreate, SolutionUpdate, WishCreate, WishUpdate
from registry.models import Comparison, Device, Site, Solution, SolutionWish, Trial, Wish
from registry.notifications import enqueue_wish_event
from registry.publications import PUBLISHED

RowT = TypeVar("RowT")


def now_ms() -> int:
    """Current time, epoch milliseconds."""
    return int(time.time() * 1000)


def paginate(
    session: Session, query: Select[RowT], limit: int, offset: int
) -> tuple[list[RowT], int]:
    """One page of `query` and the total number of rows it matches."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = list(session.scalars(query.limit(limit).offset(offset)))
    return items, int(total or 0)


# -- wishes -------------------------------------------------------------------------------
def wishes_query(category: str | None, status: str | None, text: str | None) -> Select[Wish]:
    """Wishes filtered by category, status and a case-insensitive text search."""
    query = select(Wish).order_by(Wish.id)
    if category:
        query = query.where(Wish.category == category)
    if status:
        query = query.where(Wish.status == status)
    if text:
        pattern = f"%{text.lower()}%"
        query = query.where(
            or_(func.lower(Wish.title).like(pattern), func.lower(Wish.description).like(pattern))
        )
    return query


def get_wish(session: Session, wish_id: str) -> Wish:
    """A wish by id (wishes are public) or NotFound."""
    wish = session.get(Wish, wish_id)
    if wish is None:
        raise NotFound("wish")
    return wish


def create_wish(session: Session, body: WishCreate) -> Wish:
    """Create a wish and queue notifications to matching subscriptions."""
    if session.get(Wish, body.id) is not None:
        raise Conflict(f"wish {body.id!r} already exists")
    wish = Wish(**body.model_dump(), updated_ms=now_ms())
    session.add(wish)
    session.flush()
    enqueue_wish_event(session, wish, "created", wish.updated_ms)
    return wish


def update_wish(session: Session, wish_id: str, body: WishUpdate) -> Wish:
    """Change a wish; a real change queues notifications."""
    wish = get_wish(session, wish_id)
    changed = {
        k: v
        for k, v in body.model_dump(exclude_unset=True).items()
        if v is not None and getattr(wish, k) != v
    }
    if changed:
        for name, value in changed.items():
            setattr(wish, name, value)
        wish.updated_ms = now_ms()
        session.flush()
        enqueue_wish_event(session, wish, "updated", wish.updated_ms)
    return wish


# -- solutions ----------------------------------------------------------------------------
def solutions_query(principal: Principal, provider_id: str | None) -> Select[Solution]:
    """Solutions the principal may see: all for staff; for a provider their own and those of
    published trials; for anonymous callers only those of published trials."""
    query = select(Solution).order_by(Solution.id)
    if principal.role not in STAFF_ROLES:
        published = Solution.id.in_(select(Trial.solution_id).where(Trial.status == PUBLISHED))
        if principal.is_provider:
            query = query.where(
                or_(Solution.provider_id == (principal.provider_id or ""), published))
        else:
            query = query.where(published)
    if provider_id:
        query = query.where(Solution.provider_id == provider_id)
    return query


def solution_wish_ids(session: Session, solution_ids: list[str]) -> dict[str, list[str]]:
    """The wishes each solution answers."""
    result: dict[str, list[str]] = {sid: [] for sid in solution_ids}
    rows = session.execute(
        select(SolutionWish.solution_id, SolutionWish.wish_id)
        .where(SolutionWish.solution_id.in_(solution_ids))
        .order_by(SolutionWish.wish_id)
    )
    for solution_id, wish_id in rows:
        result[solution_id].append(wish_id)
    return result


def solution_public(session: Session, solutions: list[Solution]) -> list[dict[str, Any]]:
    """Solutions as dicts with their wish ids."""
    links = solution_wish_ids(session, [s.id for s in solutions])
    return [
        {
            "id": s.id,
            "title": s.title,
            "provider_id": s.provider_id,
            "description": s.description,
            "wish_ids": links[s.id],
        }
        for s in solutions
    ]


def get_solution(session: Session, principal: Principal, solution_id: str) -> Solution:
    """A solution the principal may see, else NotFound."""
    solution = session.scalars(
        solutions_query(principal, None).where(Solution.id == solution_id)
    ).first()
    if solution is None:
        raise NotFound("solution")
    return solution


def _link_wishes(session: Session, solution_id: str, wish_ids: list[str]) -> None:
    missing = sorted(
        set(wish_ids) - set(session.scalars(select(Wish.id).where(Wish.id.in_(wish_ids))))
    )
    if missing:
        raise BadRequest(f"unknown wish ids: {', '.join(missing)}")
    session.execute(delete(SolutionWish).where(SolutionWish.solution_id == solution_id))
    for wish_id in sorted(set(wish_ids)):
        session.add(SolutionWish(solution_id=solution_id, wish_id=wish_id))


def create_solution(session: Session, body: SolutionCreate) -> Solution:
    """Create a solution and link it to the wishes it answers."""
    if session.get(Solution, body.id) is not None:
        raise Conflict(f"solution {body.id!r} already exists")
    solution = Solution(
        id=body.id, title=body.title, provider_id=body.provider_id, description=body.description
    )
    session.add(solution)
    session.flush()
    _link_wishes(session, solution.id, body.wish_ids)
    session.flush()
    return solution


def update_solution(session: Session, solution: Solution, body: SolutionUpdate) -> Solution:
    """Change a solution's title, description or wishes."""
    if body.title is not None:
        solution.title = body.title
    if body.description is not None:
        solution.description = body.description
    if body.wish_ids is not None:
        _link_wishes(session, solution.id, body.wish_ids)
    session.flush()
    return solution


# -- sites, trials, devices, comparisons --------------------------------------------------
def sites_query(principal: Principal) -> Select[Site]:
    """Sites of the trials the principal may see."""
    visible = visible_trials_query(principal).with_only_columns(Trial.site_id)
    return select(Site).where(Site.id.in_(visible)).order_by(Site.id)


def get_site(session: Session, principal: Principal, site_id: str) -> Site:
    """A site the principal may see, else NotFound."""
    site = session.scalars(sites_query(principal).where(Site.id == site_id)).first()
    if site is None:
        raise NotFound("site")
    return site


def trials_query(
    principal: Principal, status: str | None, wish_id: str | None, solution_id: str | None
) -> Select[Trial]:
    """Trials the principal may see, filtered."""
    query = visible_trials_query(principal).order_by(Trial.id)
    if status:
        query = query.where(Trial.status == status)
    if wish_id:
        query = query.where(Trial.wish_id == wish_id)
    if solution_id:
        query = query.where(Trial.solution_id == solution_id)
    return query


def trial_public(trial: Trial) -> dict[str, Any]:
    """A trial as a dict for TrialPublic (params and acceptance from its spec)."""
    body = (trial.spec or {}).get("trial", {})
    return {
        "id": trial.id,
        "wish_id": trial.wish_id,
        "solution_id": trial.solution_id,
        "site_id": trial.site_id,
        "start_ms": trial.start_ms,
        "end_ms": trial.end_ms,
        "status": trial.status,
        "params": body.get("params", {}),
        "acceptance": body.get("acceptance", []),
        "updated_ms": trial.updated_ms,
    }


def devices_query(
    principal: Principal, trial_id: str | None, gateway_id: str | None
) -> Select[Device]:
    """Devices of the trials the principal may see."""
    visible = visible_trials_query(principal).with_only_columns(Trial.id)
    query = select(Device).where(Device.trial_id.in_(visible)).order_by(Device.id)
    if trial_id:
        query = query.where(Device.trial_id == trial_id)
    if gateway_id:
        query = query.where(Device.gateway_id == gateway_id)
    return query


def get_device(session: Session, principal: Principal, device_id: str) -> Device:
    """A device the principal may see, else NotFound."""
    device = session.scalars(
        devices_query(principal, None, None).where(Device.id == device_id)
    ).first()
    if device is None:
        raise NotFound("device")
    return device


def comparisons_query(principal: Principal, trial_id: str | None) -> Select[Comparison]:
    """Comparisons of the trials the principal may see."""
    visible = visible_trials_query(principal).with_only_columns(Trial.id)
    query = select(Comparison).where(Comparison.trial_id.in_(visible)).order_by(Comparison.id)
    if trial_id:
        query = query.where(Comparison.trial_id == trial_id)
    return query


def owned_device_ids(principal: Principal) -> Select[str]:
    """SELECT of device ids in trials whose operational data the principal may see."""
    return select(Device.id).where(Device.trial_id.in_(owned_trial_ids(principal)))


def owned_gateway_ids(principal: Principal) -> Select[str]:
    """SELECT of gateway ids carrying devices of trials the principal owns."""
    return select(Device.gateway_id).where(Device.trial_id.in_(owned_trial_ids(principal)))
