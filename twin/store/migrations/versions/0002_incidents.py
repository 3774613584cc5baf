"""Incidents, their plan changes, the append-only audit log and notification attempts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Written by autogenerate, then checked by hand: plain SQL types (not twin's Python type
wrappers) so this revision never changes when the code does. Renumbered from 0004 to 0002
(before any deployment) so the revision files read in order: 0001 → 0002 → 0003 → 0004.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Zone-aware time stamps (stored in UTC); JSON kept as written (not JSONB, which reorders keys).
STAMP = sa.DateTime(timezone=True)
JSON = sa.JSON()


def upgrade() -> None:
    op.create_table(
        "incident_audit",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.String(length=40), nullable=False),
        sa.Column("at", STAMP, nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=True),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("recorded_at", STAMP, nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_incident_audit")),
    )
    with op.batch_alter_table("incident_audit", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_audit_incident_id_seq"), ["incident_id", "seq"], unique=False
        )

    op.create_table(
        "incidents",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("alert_id", sa.String(length=120), nullable=False),
        sa.Column("playbook_id", sa.String(length=120), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("target", sa.String(length=120), nullable=False),
        sa.Column("dimension", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("approval", sa.String(length=20), nullable=False),
        sa.Column("shadow", sa.Boolean(), nullable=False),
        sa.Column("rollback", sa.String(length=20), nullable=False),
        sa.Column("plan_status", sa.String(length=20), nullable=False),
        sa.Column("cost_delta", sa.Float(), nullable=False),
        sa.Column("needs_approval", JSON, nullable=False),
        sa.Column("alert", JSON, nullable=False),
        sa.Column("actions", JSON, nullable=False),
        sa.Column("notifications", JSON, nullable=False),
        sa.Column("constraints", JSON, nullable=False),
        sa.Column("old_routes", JSON, nullable=False),
        sa.Column("new_routes", JSON, nullable=False),
        sa.Column("unserved", JSON, nullable=False),
        sa.Column("decided_by", sa.String(length=120), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sa.UniqueConstraint(
            "alert_id", "playbook_id", name=op.f("uq_incidents_alert_id_playbook_id")
        ),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incidents_state"), ["state"], unique=False)

    op.create_table(
        "notification_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.String(length=40), nullable=True),
        sa.Column("channel", sa.String(length=120), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", STAMP, nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_attempts")),
    )
    with op.batch_alter_table("notification_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_attempts_incident_id"), ["incident_id"], unique=False
        )

    op.create_table(
        "incident_changes",
        sa.Column("incident_id", sa.String(length=40), nullable=False),
        sa.Column("shipment", sa.String(length=120), nullable=False),
        sa.Column("units", sa.Float(), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("old_path", JSON, nullable=False),
        sa.Column("new_path", JSON, nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("old_cost", sa.Float(), nullable=False),
        sa.Column("new_cost", sa.Float(), nullable=False),
        sa.Column("old_eta", STAMP, nullable=True),
        sa.Column("new_eta", STAMP, nullable=True),
        sa.Column("eta_delta_days", sa.Float(), nullable=False),
        sa.Column("late_days_avoided", sa.Float(), nullable=False),
        sa.Column("no_return_at", STAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_changes_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("incident_id", "shipment", name=op.f("pk_incident_changes")),
    )


def downgrade() -> None:
    op.drop_table("incident_changes")
    with op.batch_alter_table("notification_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_attempts_incident_id"))

    op.drop_table("notification_attempts")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incidents_state"))

    op.drop_table("incidents")
    with op.batch_alter_table("incident_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_audit_incident_id_seq"))

    op.drop_table("incident_audit")
