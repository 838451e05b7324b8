"""Atom feeds (RFC 4287) of new wishes and newly published reports, for feed readers."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal_api.web.public_data import HIDDEN_WISH_STATUSES, trial_facts
from registry.models import Solution, Trial, Wish
from registry.publications import Publication

ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_MEDIA_TYPE = "application/atom+xml"
FEED_ENTRIES = 50


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One Atom entry."""

    entry_id: str
    title: str
    updated_ms: int
    link: str
    summary: str
    category: str = ""


def _rfc3339(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}")
    element.text = text
    return element


def _link(parent: ET.Element, href: str, rel: str = "alternate") -> None:
    ET.SubElement(parent, f"{{{ATOM_NS}}}link", {"rel": rel, "href": href})


def atom(
    feed_id: str, title: str, self_url: str, page_url: str, entries: Iterable[FeedEntry]
) -> bytes:
    """An Atom feed document (UTF-8 XML) with the given entries."""
    ET.register_namespace("", ATOM_NS)
    listed = list(entries)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    _text(feed, "id", feed_id)
    _text(feed, "title", title)
    _text(feed, "updated", _rfc3339(max((e.updated_ms for e in listed), default=0)))
    _link(feed, self_url, "self")
    _link(feed, page_url)
    author = ET.SubElement(feed, f"{{{ATOM_NS}}}author")
    _text(author, "name", "innotrial")
    for entry in listed:
        node = ET.SubElement(feed, f"{{{ATOM_NS}}}entry")
        _text(node, "id", entry.entry_id)
        _text(node, "title", entry.title)
        _text(node, "updated", _rfc3339(entry.updated_ms))
        _link(node, entry.link)
        _text(node, "summary", entry.summary)
        if entry.category:
            ET.SubElement(node, f"{{{ATOM_NS}}}category", {"term": entry.category})
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body


def wish_entries(session: Session, base_url: str) -> list[FeedEntry]:
    """The most recently created or changed wishes on the board."""
    wishes = session.scalars(
        select(Wish)
        .where(Wish.status.not_in(HIDDEN_WISH_STATUSES))
        .order_by(Wish.updated_ms.desc(), Wish.id)
        .limit(FEED_ENTRIES)
    )
    return [
        FeedEntry(
            entry_id=f"urn:innotrial:wish:{w.id}",
            title=f"{w.title} ({w.department})",
            updated_ms=w.updated_ms,
            link=f"{base_url}/public/wishes#wish-{w.id}",
            summary=f"[{w.status}] {w.description}".strip(),
            category=w.category,
        )
        for w in wishes
    ]


def report_entries(session: Session, base_url: str) -> list[FeedEntry]:
    """The most recently published report versions."""
    rows = session.execute(
        select(Publication, Trial, Solution)
        .join(Trial, Trial.id == Publication.trial_id)
        .join(Solution, Solution.id == Trial.solution_id)
        .order_by(Publication.published_ms.desc(), Publication.id.desc())
        .limit(FEED_ENTRIES)
    ).all()
    entries = []
    for publication, trial, solution in rows:
        facts = trial_facts(trial, solution)
        entries.append(
            FeedEntry(
                entry_id=f"urn:innotrial:report:{trial.id}:v{publication.version}",
                title=f"{facts.solution_title} for {facts.wish_title}: {publication.verdict} "
                f"(v{publication.version})",
                updated_ms=publication.published_ms,
                link=f"{base_url}/public/trials/{trial.id}",
                summary=(
                    f"{facts.provider} at {facts.site} ({facts.department}); verdict "
                    f"{publication.verdict}; package SHA-256 {publication.package_sha256}"
                ),
                category=facts.category,
            )
        )
    return entries
