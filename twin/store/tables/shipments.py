"""The shipments table: each shipment's plan data (SPEC 1.2) and where it is now."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from twin.store.tables.base import JSONValue, UTCDateTime, utcnow
from twin.store.tables.network import ID_LENGTH


class ShipmentStatus(StrEnum):
    planned = "planned"  # not yet left its origin
    in_transit = "in_transit"
    delivered = "delivered"


class ShipmentRow(SQLModel, table=True):
    """A shipment of a network. `status`, `at_node` and `at_time` are its state, moved by the
    engine; reloading the shipment file updates the plan data and leaves the state alone."""

    __tablename__ = "shipments"
    __table_args__ = (
        sa.CheckConstraint("units > 0", name="units"),
        sa.CheckConstraint("due_at >= ready_at", name="due_after_ready"),
        sa.CheckConstraint("status IN ('planned', 'in_transit', 'delivered')", name="status"),
        sa.Index(None, "network_id", "status"),
    )

    network_id: int = Field(
        sa_column_args=[sa.ForeignKey("networks.id", ondelete="CASCADE")], primary_key=True
    )
    id: str = Field(sa_type=sa.String(ID_LENGTH), primary_key=True)
    # Plain ids, not foreign keys to nodes: a network may be replaced while shipments stay.
    origin: str = Field(sa_type=sa.String(ID_LENGTH))
    destination: str = Field(sa_type=sa.String(ID_LENGTH))
    units: float
    ready_at: datetime = Field(sa_type=UTCDateTime)
    due_at: datetime = Field(sa_type=UTCDateTime)
    priority: str = Field(sa_type=sa.String(20))
    late_penalty_per_unit_day: float | None = None
    split: bool = True
    extras: dict[str, Any] = Field(default_factory=dict, sa_type=JSONValue)
    status: str = Field(default=ShipmentStatus.planned.value, sa_type=sa.String(20))
    at_node: str | None = Field(default=None, sa_type=sa.String(ID_LENGTH))
    at_time: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
