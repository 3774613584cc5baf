"""Each stored plan change keeps its CO2e before and after (kg): the incident's carbon figures
and its `max_co2e_increase_pct` guardrail read the same after a restart as when proposed.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

Written by hand: two float columns, 0 for changes stored before them (their CO2e was never
kept, so it cannot be recovered).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incident_changes") as batch:
        batch.add_column(sa.Column("old_co2e_kg", sa.Float(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("new_co2e_kg", sa.Float(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("incident_changes") as batch:
        batch.drop_column("new_co2e_kg")
        batch.drop_column("old_co2e_kg")
