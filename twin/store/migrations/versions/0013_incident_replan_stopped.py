"""Incidents say which of their re-plans the pass's re-plan budget cut short (issue 18): a
later pass re-plans those while their alert fires and they await approval.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

Written by hand: one JSON column, an empty list for incidents stored before it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(
            sa.Column("replan_stopped", sa.JSON(), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("replan_stopped")
