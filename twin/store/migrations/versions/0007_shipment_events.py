"""Carrier events that move shipments in the twin (issue 3: DCSA Track & Trace positions).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

Written by autogenerate, then checked by hand: plain SQL types (not twin's Python type
wrappers) so this revision never changes when the code does.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Zone-aware time stamps (stored in UTC); JSON kept as written (not JSONB, which reorders keys).
STAMP = sa.DateTime(timezone=True)
JSON = sa.JSON()


def upgrade() -> None:
    op.create_table(
        "shipment_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("at", STAMP, nullable=False),
        sa.Column("event", sa.String(length=8), nullable=False),
        sa.Column("locode", sa.Text(), nullable=False),
        sa.Column("node", sa.Text(), nullable=True),
        sa.Column("shipment", sa.Text(), nullable=True),
        sa.Column("document_refs", JSON, nullable=False),
        sa.Column("mode", sa.Text(), nullable=True),
        sa.Column("vessel", sa.Text(), nullable=True),
        sa.Column("ingested_at", STAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment_events")),
        sa.UniqueConstraint("source", "event_id", name=op.f("uq_shipment_events_source_event_id")),
    )
    with op.batch_alter_table("shipment_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shipment_events_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_shipment_events_shipment_at"), ["shipment", "at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("shipment_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipment_events_shipment_at"))
        batch_op.drop_index(batch_op.f("ix_shipment_events_at"))
    op.drop_table("shipment_events")
