"""Incidents carry their stock impact (issue 15): per warehouse x SKU their shipments feed,
units / days short and margin at risk before and after the plan.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

Written by hand: one JSON column, an empty list for incidents stored before it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("stock", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("stock")
