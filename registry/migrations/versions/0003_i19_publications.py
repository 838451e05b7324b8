"""Publications: the published (public, frozen) report versions of trials.

Revision ID: 0003_i19
Revises: 0002_i17b
Create Date: 2026-11-30 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_i19"
down_revision: str | None = "0002_i17b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "publications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("trial_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("published_ms", sa.BigInteger(), nullable=False),
        sa.Column("published_by", sa.String(length=200), nullable=False),
        sa.Column("verdict", sa.String(length=32), nullable=False),
        sa.Column("package_sha256", sa.String(length=64), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["trial_id"], ["trials.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("trial_id", "version", name="uq_publications_version"),
    )
    op.create_index("ix_publications_trial_id", "publications", ["trial_id"], unique=False)
    op.create_index("ix_publications_published_ms", "publications", ["published_ms"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_publications_published_ms", table_name="publications")
    op.drop_index("ix_publications_trial_id", table_name="publications")
    op.drop_table("publications")
