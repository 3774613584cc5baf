"""Network (networks, nodes, lanes, lane_via) and shipments with their state.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Written by autogenerate, then checked by hand: plain SQL types (not twin's Python type
wrappers) so this revision never changes when the code does.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Zone-aware time stamps (stored in UTC); JSON kept as written (not JSONB, which reorders keys).
STAMP = sa.DateTime(timezone=True)
JSON = sa.JSON()


def upgrade() -> None:
    op.create_table(
        "networks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=40), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_networks")),
        sa.UniqueConstraint("name", name=op.f("uq_networks_name")),
    )
    op.create_table(
        "nodes",
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("capacity", sa.Float(), nullable=True),
        sa.Column("tier", sa.String(length=20), nullable=True),
        sa.Column("customs_entry", sa.Boolean(), nullable=True),
        sa.Column("handling_days", sa.Float(), nullable=False),
        sa.Column("clearance_days", sa.Float(), nullable=False),
        sa.Column("extras", JSON, nullable=False),
        sa.CheckConstraint("capacity IS NULL OR capacity >= 0", name=op.f("ck_nodes_capacity")),
        sa.CheckConstraint(
            "handling_days >= 0 AND clearance_days >= 0", name=op.f("ck_nodes_days")
        ),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["networks.id"],
            name=op.f("fk_nodes_network_id_networks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("network_id", "id", name=op.f("pk_nodes")),
    )
    op.create_table(
        "shipments",
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=120), nullable=False),
        sa.Column("origin", sa.String(length=120), nullable=False),
        sa.Column("destination", sa.String(length=120), nullable=False),
        sa.Column("units", sa.Float(), nullable=False),
        sa.Column("ready_at", STAMP, nullable=False),
        sa.Column("due_at", STAMP, nullable=False),
        sa.Column("priority", sa.String(length=20), nullable=False),
        sa.Column("late_penalty_per_unit_day", sa.Float(), nullable=True),
        sa.Column("split", sa.Boolean(), nullable=False),
        sa.Column("extras", JSON, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("at_node", sa.String(length=120), nullable=True),
        sa.Column("at_time", STAMP, nullable=True),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.CheckConstraint(
            "status IN ('planned', 'in_transit', 'delivered')", name=op.f("ck_shipments_status")
        ),
        sa.CheckConstraint("due_at >= ready_at", name=op.f("ck_shipments_due_after_ready")),
        sa.CheckConstraint("units > 0", name=op.f("ck_shipments_units")),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["networks.id"],
            name=op.f("fk_shipments_network_id_networks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("network_id", "id", name=op.f("pk_shipments")),
    )
    op.create_index(
        op.f("ix_shipments_network_id_status"), "shipments", ["network_id", "status"], unique=False
    )
    op.create_table(
        "lanes",
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("from_node", sa.String(length=120), nullable=False),
        sa.Column("to_node", sa.String(length=120), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("transit_days", sa.Float(), nullable=False),
        sa.Column("cost_per_unit", sa.Float(), nullable=False),
        sa.Column("capacity", sa.Float(), nullable=True),
        sa.Column("transit_days_p90", sa.Float(), nullable=True),
        sa.Column("extras", JSON, nullable=False),
        sa.CheckConstraint("capacity IS NULL OR capacity >= 0", name=op.f("ck_lanes_capacity")),
        sa.CheckConstraint("cost_per_unit >= 0", name=op.f("ck_lanes_cost_per_unit")),
        sa.CheckConstraint("from_node <> to_node", name=op.f("ck_lanes_ends")),
        sa.CheckConstraint("transit_days > 0", name=op.f("ck_lanes_transit_days")),
        sa.ForeignKeyConstraint(
            ["network_id", "from_node"],
            ["nodes.network_id", "nodes.id"],
            name=op.f("fk_lanes_network_id_from_node_nodes"),
        ),
        sa.ForeignKeyConstraint(
            ["network_id", "to_node"],
            ["nodes.network_id", "nodes.id"],
            name=op.f("fk_lanes_network_id_to_node_nodes"),
        ),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["networks.id"],
            name=op.f("fk_lanes_network_id_networks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("network_id", "id", name=op.f("pk_lanes")),
    )
    op.create_index(
        op.f("ix_lanes_network_id_from_node"), "lanes", ["network_id", "from_node"], unique=False
    )
    op.create_index(
        op.f("ix_lanes_network_id_to_node"), "lanes", ["network_id", "to_node"], unique=False
    )
    op.create_table(
        "lane_via",
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("lane_id", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id", "lane_id"],
            ["lanes.network_id", "lanes.id"],
            name=op.f("fk_lane_via_network_id_lane_id_lanes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["network_id", "node_id"],
            ["nodes.network_id", "nodes.id"],
            name=op.f("fk_lane_via_network_id_node_id_nodes"),
        ),
        sa.PrimaryKeyConstraint("network_id", "lane_id", "position", name=op.f("pk_lane_via")),
    )
    op.create_index(
        op.f("ix_lane_via_network_id_node_id"), "lane_via", ["network_id", "node_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_lane_via_network_id_node_id"), table_name="lane_via")
    op.drop_table("lane_via")
    op.drop_index(op.f("ix_lanes_network_id_to_node"), table_name="lanes")
    op.drop_index(op.f("ix_lanes_network_id_from_node"), table_name="lanes")
    op.drop_table("lanes")
    op.drop_index(op.f("ix_shipments_network_id_status"), table_name="shipments")
    op.drop_table("shipments")
    op.drop_table("nodes")
    op.drop_table("networks")
