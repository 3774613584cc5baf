"""The plan of record per shipment and the notification outbox (issue 7: the daemon).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22

Written by autogenerate, then checked by hand: plain SQL types (not twin's Python type
wrappers) so this revision never changes when the code does.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Zone-aware time stamps (stored in UTC); JSON kept as written (not JSONB, which reorders keys).
STAMP = sa.DateTime(timezone=True)
JSON = sa.JSON()


def upgrade() -> None:
    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("incident_id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=120), nullable=False),
        sa.Column("notification", JSON, nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("delivered_at", STAMP, nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_outbox")),
    )
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_outbox_delivered_at"), ["delivered_at"], unique=False
        )

    op.create_table(
        "plan_routes",
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("shipment", sa.String(length=120), nullable=False),
        sa.Column("assignments", JSON, nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.Column("updated_by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["networks.id"],
            name=op.f("fk_plan_routes_network_id_networks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("network_id", "shipment", name=op.f("pk_plan_routes")),
    )
    with op.batch_alter_table("plan_routes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_routes_updated_at"), ["updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("plan_routes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_routes_updated_at"))
    op.drop_table("plan_routes")
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_outbox_delivered_at"))
    op.drop_table("notification_outbox")
