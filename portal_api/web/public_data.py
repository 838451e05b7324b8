"""What the public pages show, read from the registry: wishes, published trials, versions.

Only published material leaves this module: a trial appears only with a Publication, its
facts come from the trial definition (titles, site, window) and the frozen metrics of the
published version; gateway ids, dead letters and users never do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from portal_api.web.metric_labels import metric_label
from registry.models import Solution, Trial, Wish
from registry.publications import (
    Publication,
    PublishedVersion,
    current_publications,
    find_publication,
    trial_publications,
)
from reports.publish import public_dir
from telemetry.metrics import TrialMetrics

HIDDEN_WISH_STATUSES = ("closed",)
MAX_SEARCH_CHARS = 200


@dataclass(frozen=True, slots=True)
class WishFilter:
    """The wish board's search: free text, category and department (empty: any)."""

    q: str = ""
    category: str = ""
    department: str = ""


@dataclass(slots=True)
class TrialFacts:
    """A published trial's public header: wish, solution, provider, site, period."""

    trial_id: str
    wish_id: str
    wish_title: str
    department: str
    category: str
    solution_title: str
    provider: str
    site: str
    timezone: str
    start_ms: int
    end_ms: int


@dataclass(slots=True)
class WishRow:
    """One wish on the board with its published trials and how many others are under way."""

    wish: Wish
    published: list[tuple[str, str]] = field(default_factory=list)  # (trial id, verdict)
    under_way: int = 0


def trial_facts(trial: Trial, solution: Solution | None) -> TrialFacts:
    """The public facts of a trial, from its definition."""
    spec: dict[str, Any] = trial.spec
    wish = spec.get("wish", {})
    site = spec.get("trial", {}).get("site", {})
    return TrialFacts(
        trial_id=trial.id,
        wish_id=trial.wish_id,
        wish_title=wish.get("title", trial.wish_id),
        department=wish.get("department", ""),
        category=wish.get("category", "general"),
        solution_title=solution.title if solution else trial.solution_id,
        provider=solution.provider_id if solution else "",
        site=site.get("name") or site.get("id", ""),
        timezone=site.get("timezone", "Asia/Hong_Kong"),
        start_ms=trial.start_ms,
        end_ms=trial.end_ms,
    )


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def wish_board(session: Session, chosen: WishFilter) -> list[WishRow]:
    """Wishes that are not closed, filtered, by category then department then title."""
    query = select(Wish).where(Wish.status.not_in(HIDDEN_WISH_STATUSES))
    if chosen.category:
        query = query.where(Wish.category == chosen.category)
    if chosen.department:
        query = query.where(Wish.department == chosen.department)
    if chosen.q:
        pattern = _like(chosen.q[:MAX_SEARCH_CHARS].lower())
        query = query.where(
            or_(
                *[
                    column.ilike(pattern, escape="\\")
                    for column in (Wish.title, Wish.description, Wish.department, Wish.category)
                ]
            )
        )
    rows = {
        w.id: WishRow(w)
        for w in session.scalars(query.order_by(Wish.category, Wish.department, Wish.title))
    }
    published = {p.trial_id: p.verdict for p in current_publications(session)}
    for trial_id, wish_id in session.execute(
        select(Trial.id, Trial.wish_id).where(Trial.wish_id.in_(list(rows))).order_by(Trial.id)
    ):
        if trial_id in published:
            rows[wish_id].published.append((trial_id, published[trial_id]))
        else:
            rows[wish_id].under_way += 1
    return list(rows.values())


def wish_choices(session: Session) -> tuple[list[str], list[str]]:
    """Categories and departments of the wishes on the board, for the filter menus."""
    pairs = session.execute(
        select(Wish.category, Wish.department).where(Wish.status.not_in(HIDDEN_WISH_STATUSES))
    ).all()
    return sorted({c for c, _ in pairs}), sorted({d for _, d in pairs})


def key_metrics(metrics: TrialMetrics, lang: str) -> list[dict[str, Any]]:
    """The acceptance criteria of a published version, with labels and units."""
    rows = []
    for criterion in metrics.get("criteria", []):
        label = metric_label(str(criterion.get("metric", "")), lang)
        passed = criterion.get("pass")
        rows.append(
            {
                **criterion,
                "scope": label.scope,
                "name": label.name,
                "unit": label.unit,
                "result": "pass"
                if passed is True
                else ("fail" if passed is False else "insufficient_data"),
            }
        )
    return rows


@dataclass(slots=True)
class CatalogueEntry:
    """A published trial in the catalogue: facts, current version and the earlier ones."""

    facts: TrialFacts
    current: Publication
    earlier: list[PublishedVersion]
    key_metrics: list[dict[str, Any]]


def _facts_of(session: Session, trial_id: str) -> TrialFacts | None:
    trial = session.get(Trial, trial_id)
    if trial is None:
        return None
    return trial_facts(trial, session.get(Solution, trial.solution_id))


def catalogue(session: Session, lang: str, q: str = "") -> list[CatalogueEntry]:
    """Every published trial, newest publication first (optionally matching `q`)."""
    entries = []
    needle = q[:MAX_SEARCH_CHARS].lower()
    for current in current_publications(session):
        facts = _facts_of(session, current.trial_id)
        if facts is None:
            continue
        text = " ".join(
            [
                facts.trial_id,
                facts.wish_title,
                facts.department,
                facts.solution_title,
                facts.provider,
                facts.site,
            ]
        ).lower()
        if needle and needle not in text:
            continue
        versions = trial_publications(session, current.trial_id)
        entries.append(
            CatalogueEntry(facts, current, versions[1:], key_metrics(current.metrics, lang))
        )
    return entries


def published_trial(session: Session, trial_id: str) -> tuple[TrialFacts, list[PublishedVersion]]:
    """A published trial's facts and versions; LookupError when it has no publication."""
    versions = trial_publications(session, trial_id)
    facts = _facts_of(session, trial_id) if versions else None
    if facts is None:
        raise LookupError(trial_id)
    return facts, versions


def public_file(
    session: Session, data_dir: Path, trial_id: str, version: int, name: str
) -> Path | None:
    """The frozen file of a published version, or None when that is not public."""
    publication = find_publication(session, trial_id, version)
    if publication is None or name not in publication.files:
        return None
    path = public_dir(data_dir, trial_id, version) / name
    return path if path.is_file() else None

