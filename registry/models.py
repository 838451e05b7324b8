"""SQLAlchemy models of the registry: wishes, solutions, trials, sites, gateways, devices."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of every registry table."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Wish(Base):
    """A department's innovation need."""

    __tablename__ = "wishes"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    department: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(64), default="general")
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(32), default="open")
    updated_ms: Mapped[int] = mapped_column(BigInteger, default=0)


class Solution(Base):
    """A provider's proposed solution."""

    __tablename__ = "solutions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    provider_id: Mapped[str] = mapped_column(String(64), index=True)
    description: Mapped[str] = mapped_column(Text, default="")


class SolutionWish(Base):
    """A solution answers a wish (many to many)."""

    __tablename__ = "solution_wishes"

    solution_id: Mapped[str] = mapped_column(
        ForeignKey("solutions.id", ondelete="CASCADE"), primary_key=True
    )
    wish_id: Mapped[str] = mapped_column(
        ForeignKey("wishes.id", ondelete="CASCADE"), primary_key=True
    )


class Site(Base):
    """A trial site; its time zone defines calendar days."""

    __tablename__ = "sites"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Hong_Kong")


class Trial(Base):
    """A field trial of one solution for one wish at one site."""

    __tablename__ = "trials"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    wish_id: Mapped[str] = mapped_column(ForeignKey("wishes.id"), index=True)
    solution_id: Mapped[str] = mapped_column(ForeignKey("solutions.id"), index=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(32), default="planned")
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_ms: Mapped[int] = mapped_column(BigInteger, default=0)


class Gateway(Base):
    """An edge gateway and the last status it published."""

    __tablename__ = "gateways"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site_id: Mapped[str | None] = mapped_column(ForeignKey("sites.id"), nullable=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    state: Mapped[str] = mapped_column(String(16), default="unknown")
    state_changed_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_status: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class Device(Base):
    """A device under test or reference instrument in a trial."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"), index=True)
    gateway_id: Mapped[str] = mapped_column(ForeignKey("gateways.id"), index=True)
    profile: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))


class Comparison(Base):
    """A device under test compared with its reference instrument(s)."""

    __tablename__ = "comparisons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"), index=True)
    under_test: Mapped[str] = mapped_column(String(64))
    references: Mapped[list[Any]] = mapped_column(JSON)


class DeadLetter(Base):
    """A rejected reading or message, kept with its reason for review."""

    __tablename__ = "dead_letters"
    __table_args__ = (
        Index("ix_dead_letters_gateway_reason", "gateway_id", "reason"),
        Index("ix_dead_letters_device", "device_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), default="mqtt")
    topic: Mapped[str | None] = mapped_column(Text, nullable=True)
    gateway_id: Mapped[str | None] = mapped_column(String(300), nullable=True)
    device_id: Mapped[str | None] = mapped_column(String(300), nullable=True)
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    ts_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    payload_excerpt: Mapped[str] = mapped_column(Text, default="")


class TrialExclusion(Base):
    """An exclusion window of a trial (METRICS-v2.md §1); revoked, never deleted."""

    __tablename__ = "trial_exclusions"

    trial_id: Mapped[str] = mapped_column(
        ForeignKey("trials.id", ondelete="CASCADE"), primary_key=True
    )
    exclusion_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int] = mapped_column(BigInteger)
    all_devices: Mapped[bool] = mapped_column(Boolean, default=False)
    devices: Mapped[list[Any]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    approved_by: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    revoked_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    revoke_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class ExclusionAudit(Base):
    """One change of a trial's exclusion windows: what, who and when."""

    __tablename__ = "exclusion_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    trial_id: Mapped[str] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"), index=True)
    exclusion_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(200))
    at_ms: Mapped[int] = mapped_column(BigInteger)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
