"""Risk scores, alert episodes, silences, acknowledgements and the alerting state.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

Written by autogenerate, then checked by hand: plain SQL types (not twin's Python type
wrappers) so this revision never changes when the code does. Chained after 0002 (incidents,
renumbered from 0004 before any deployment).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Zone-aware time stamps (stored in UTC); JSON kept as written.
STAMP = sa.DateTime(timezone=True)
JSON = sa.JSON()


def upgrade() -> None:
    op.create_table(
        "alert_acks",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.String(length=200), nullable=False),
        sa.Column("by", sa.String(length=120), nullable=False),
        sa.Column("at", STAMP, nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_alert_acks")),
    )
    with op.batch_alter_table("alert_acks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_acks_alert_id"), ["alert_id"], unique=False)

    op.create_table(
        "alert_episodes",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("target", sa.String(length=120), nullable=False),
        sa.Column("dimension", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("peak", sa.Float(), nullable=False),
        sa.Column("opened_at", STAMP, nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.Column("cleared_at", STAMP, nullable=True),
        sa.Column("forecast_cross_at", STAMP, nullable=True),
        sa.Column("warning_lead_h", sa.Float(), nullable=True),
        sa.Column("inhibited_by", sa.String(length=200), nullable=True),
        sa.Column("silenced_by", sa.String(length=120), nullable=True),
        sa.Column("acked_by", sa.String(length=120), nullable=True),
        sa.Column("record", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_episodes")),
    )
    with op.batch_alter_table("alert_episodes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alert_episodes_cleared_at"), ["cleared_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_alert_episodes_target_dimension"), ["target", "dimension"], unique=False
        )

    op.create_table(
        "alert_state",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("state", JSON, nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_alert_state")),
    )
    op.create_table(
        "risk_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", STAMP, nullable=False),
        sa.Column("target", sa.String(length=120), nullable=False),
        sa.Column("dimension", sa.String(length=40), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("explain", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("via", JSON, nullable=False),
        sa.Column("sources", JSON, nullable=False),
        sa.Column("starts_at", STAMP, nullable=True),
        sa.Column("until", STAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_scores")),
    )
    with op.batch_alter_table("risk_scores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_scores_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_risk_scores_target_dimension_at"),
            ["target", "dimension", "at"],
            unique=False,
        )

    op.create_table(
        "silences",
        sa.Column("id", sa.String(length=120), nullable=False),
        sa.Column("matchers", JSON, nullable=False),
        sa.Column("starts_at", STAMP, nullable=False),
        sa.Column("ends_at", STAMP, nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_silences")),
    )
    with op.batch_alter_table("silences", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_silences_ends_at"), ["ends_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("silences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_silences_ends_at"))

    op.drop_table("silences")
    with op.batch_alter_table("risk_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_scores_target_dimension_at"))
        batch_op.drop_index(batch_op.f("ix_risk_scores_at"))

    op.drop_table("risk_scores")
    op.drop_table("alert_state")
    with op.batch_alter_table("alert_episodes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_episodes_target_dimension"))
        batch_op.drop_index(batch_op.f("ix_alert_episodes_cleared_at"))

    op.drop_table("alert_episodes")
    with op.batch_alter_table("alert_acks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_acks_alert_id"))

    op.drop_table("alert_acks")
