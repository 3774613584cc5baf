"""Feed files quarantined whole, kept until a person re-queues them (issue 16).

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-06

Written by hand: plain SQL types (not twin's Python type wrappers) so this revision never
changes when the code does.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "quarantined_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feed", sa.String(length=120), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", STAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantined_files")),
        sa.UniqueConstraint("feed", "key", name=op.f("uq_quarantined_files_feed_key")),
    )
    with op.batch_alter_table("quarantined_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quarantined_files_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("quarantined_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantined_files_at"))
    op.drop_table("quarantined_files")
