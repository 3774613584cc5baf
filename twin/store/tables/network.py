"""Tables of the physical network: networks, nodes, lanes and the nodes lanes pass (`via`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from twin.store.tables.base import JSONValue, UTCDateTime, utcnow

ID_LENGTH = 120  # as twin.domain.records.Identifier


class NetworkRow(SQLModel, table=True):
    """One stored network; `name` is its natural key, `id` what child rows point at."""

    __tablename__ = "networks"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=sa.String(200), unique=True)
    unit: str = Field(sa_type=sa.String(40))
    currency: str = Field(sa_type=sa.String(40))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class NodeRow(SQLModel, table=True):
    """A node of a network; `position` keeps the file's order so a network reads back as written."""

    __tablename__ = "nodes"
    __table_args__ = (
        sa.CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity"),
        sa.CheckConstraint("handling_days >= 0 AND clearance_days >= 0", name="days"),
    )

    network_id: int = Field(
        sa_column_args=[sa.ForeignKey("networks.id", ondelete="CASCADE")], primary_key=True
    )
    id: str = Field(sa_type=sa.String(ID_LENGTH), primary_key=True)
    position: int
    kind: str = Field(sa_type=sa.String(20))
    name: str = Field(default="", sa_type=sa.Text)
    country: str | None = Field(default=None, sa_type=sa.String(2))
    lat: float | None = None
    lon: float | None = None
    capacity: float | None = None
    tier: str | None = Field(default=None, sa_type=sa.String(20))
    customs_entry: bool | None = None
    handling_days: float = 0.0
    clearance_days: float = 0.0
    extras: dict[str, Any] = Field(default_factory=dict, sa_type=JSONValue)


class LaneRow(SQLModel, table=True):
    """A lane of a network; both ends must be nodes of the same network."""

    __tablename__ = "lanes"
    __table_args__ = (
        sa.ForeignKeyConstraint(["network_id", "from_node"], ["nodes.network_id", "nodes.id"]),
        sa.ForeignKeyConstraint(["network_id", "to_node"], ["nodes.network_id", "nodes.id"]),
        sa.CheckConstraint("from_node <> to_node", name="ends"),
        sa.CheckConstraint("transit_days > 0", name="transit_days"),
        sa.CheckConstraint("cost_per_unit >= 0", name="cost_per_unit"),
        sa.CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity"),
        sa.Index(None, "network_id", "from_node"),
        sa.Index(None, "network_id", "to_node"),
    )

    network_id: int = Field(
        sa_column_args=[sa.ForeignKey("networks.id", ondelete="CASCADE")], primary_key=True
    )
    id: str = Field(sa_type=sa.String(ID_LENGTH), primary_key=True)
    position: int
    from_node: str = Field(sa_type=sa.String(ID_LENGTH))
    to_node: str = Field(sa_type=sa.String(ID_LENGTH))
    mode: str = Field(sa_type=sa.String(20))
    transit_days: float
    cost_per_unit: float
    capacity: float | None = None
    transit_days_p90: float | None = None
    extras: dict[str, Any] = Field(default_factory=dict, sa_type=JSONValue)


class LaneViaRow(SQLModel, table=True):
    """A chokepoint or border a lane passes, in order: a risk on the node is one on the lane."""

    __tablename__ = "lane_via"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["network_id", "lane_id"], ["lanes.network_id", "lanes.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["network_id", "node_id"], ["nodes.network_id", "nodes.id"]),
        # "Which lanes pass SUEZ?" is the question risk scoring asks.
        sa.Index(None, "network_id", "node_id"),
    )

    network_id: int = Field(primary_key=True)
    lane_id: str = Field(sa_type=sa.String(ID_LENGTH), primary_key=True)
    position: int = Field(primary_key=True)
    node_id: str = Field(sa_type=sa.String(ID_LENGTH))
