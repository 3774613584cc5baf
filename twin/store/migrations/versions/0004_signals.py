"""Signals, quarantined feed rows and feed checkpoints (issue 3: persistence of ingestion).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

Written by autogenerate, then checked by hand: plain SQL types (not twin's Python type
wrappers) so this revision never changes when the code does.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Zone-aware time stamps (stored in UTC); JSON kept as written (not JSONB, which reorders keys).
STAMP = sa.DateTime(timezone=True)
JSON = sa.JSON()


def upgrade() -> None:
    op.create_table(
        "feed_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feed", sa.String(length=120), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("offset", sa.BigInteger(), nullable=True),
        sa.Column("last_event_id", sa.Text(), nullable=True),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.String(length=64), nullable=True),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_checkpoints")),
        sa.UniqueConstraint("feed", "key", name=op.f("uq_feed_checkpoints_feed_key")),
    )
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("where", sa.String(length=80), nullable=False),
        sa.Column("field", sa.String(length=120), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("at", STAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
        sa.UniqueConstraint("digest", name=op.f("uq_quarantine_digest")),
    )
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quarantine_at"), ["at"], unique=False)

    op.create_table(
        "signals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ts", STAMP, nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("dimension", sa.String(length=80), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("metric", sa.String(length=120), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("effective_at", STAMP, nullable=True),
        sa.Column("expected_until", STAMP, nullable=True),
        sa.Column("ref", sa.Text(), nullable=False),
        sa.Column("shipment", sa.String(length=200), nullable=True),
        sa.Column("area", sa.Text(), nullable=True),
        sa.Column("supersedes", sa.Text(), nullable=True),
        sa.Column("extras", JSON, nullable=True),
        sa.Column("ingested_at", STAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signals")),
        sa.UniqueConstraint("source", "ref", "target", name=op.f("uq_signals_source_ref_target")),
    )
    with op.batch_alter_table("signals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signals_target_ts"), ["target", "ts"], unique=False)
        batch_op.create_index(batch_op.f("ix_signals_ts"), ["ts"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("signals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signals_ts"))
        batch_op.drop_index(batch_op.f("ix_signals_target_ts"))

    op.drop_table("signals")
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantine_at"))

    op.drop_table("quarantine")
    op.drop_table("feed_checkpoints")
