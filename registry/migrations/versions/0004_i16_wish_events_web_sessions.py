"""Wish events outbox (fan-out outside the request) and server-side dashboard sessions.

Revision ID: 0004_i16
Revises: 0003_i19
Create Date: 2026-11-30 09:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_i16"
down_revision: str | None = "0003_i19"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "wish_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("wish_id", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_sha256", sa.String(length=64), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_sha256"),
    )
    op.create_index(
        op.f("ix_web_sessions_token_sha256"), "web_sessions", ["token_sha256"], unique=False
    )
    op.create_index(
        op.f("ix_web_sessions_expires_ms"), "web_sessions", ["expires_ms"], unique=False
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_web_sessions_expires_ms"), table_name="web_sessions")
    op.drop_index(op.f("ix_web_sessions_token_sha256"), table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_table("wish_events")
