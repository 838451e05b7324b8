"""Published report versions: the public, immutable record of what was released and when.

A Publication row says that issued version `version` of a trial's report was made public by
`published_by` at `published_ms`; its files were frozen (copied, read-only) under
DATA_DIR/public/<trial_id>/v<version>/ with the SHA-256 of each recorded here. A later
publication of the same trial supersedes the earlier ones, which stay listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from registry.models import Base
from telemetry.metrics import TrialMetrics

PUBLISHED = "published"
"""The trial status of a trial with a public report (and what anonymous callers may see)."""


class Publication(Base):
    """One published report version of a trial."""

    __tablename__ = "publications"
    __table_args__ = (UniqueConstraint("trial_id", "version", name="uq_publications_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    published_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    published_by: Mapped[str] = mapped_column(String(200))
    verdict: Mapped[str] = mapped_column(String(32))
    package_sha256: Mapped[str] = mapped_column(String(64))
    files: Mapped[dict[str, Any]] = mapped_column(JSON)
    # the version's metrics.json as frozen; typed at this edge (telemetry/metrics.py)
    metrics: Mapped[TrialMetrics] = mapped_column(JSON)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")


@dataclass(frozen=True, slots=True)
class PublishedVersion:
    """A publication with what superseded it (None for the current one)."""

    publication: Publication
    superseded_by: int | None


def trial_publications(session: Session, trial_id: str) -> list[PublishedVersion]:
    """Every published version of a trial, newest first, each with its successor."""
    rows = list(
        session.scalars(
            select(Publication)
            .where(Publication.trial_id == trial_id)
            .order_by(Publication.version.desc())
        )
    )
    successors: list[int | None] = [None, *[row.version for row in rows]]
    return [PublishedVersion(row, successors[i]) for i, row in enumerate(rows)]


def find_publication(session: Session, trial_id: str, version: int) -> Publication | None:
    """The publication of one version, or None when that version is not public."""
    return session.scalars(
        select(Publication).where(Publication.trial_id == trial_id, Publication.version == version)
    ).first()


def current_publications(session: Session) -> list[Publication]:
    """The newest publication of every published trial, newest first."""
    newest = (
        select(Publication.trial_id, func.max(Publication.version).label("version"))
        .group_by(Publication.trial_id)
        .subquery()
    )
    return list(
        session.scalars(
            select(Publication)
            .join(
                newest,
                (newest.c.trial_id == Publication.trial_id)
                & (newest.c.version == Publication.version),
            )
            .order_by(Publication.published_ms.desc(), Publication.trial_id)
        )
    )
