"""Incidents are unique per (alert episode, playbook, severity): an escalated episode is
answered once more (a warning that exposed nothing no longer blocks the critical alert's answer).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05

Written by hand; the `severity` column exists since 0002 and every stored incident has one.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_incidents_alert_id_playbook_id"), type_="unique")
        batch_op.create_unique_constraint(
            op.f("uq_incidents_alert_id_playbook_id_severity"),
            ["alert_id", "playbook_id", "severity"],
        )


def downgrade() -> None:
    # Fails, as it must, if an episode has incidents at two severities: keep one of them first.
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_incidents_alert_id_playbook_id_severity"), type_="unique")
        batch_op.create_unique_constraint(
            op.f("uq_incidents_alert_id_playbook_id"), ["alert_id", "playbook_id"]
        )
