"""Tables of what the daemon decided: the plan of record per shipment, and the notification outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from twin.store.tables.base import JSONValue, UTCDateTime
from twin.store.tables.network import ID_LENGTH


class PlanRouteRow(SQLModel, table=True):
    """The plan of record of one shipment: its assignments (units and timed legs) as JSON.

    One row per (network, shipment), replaced whole when the engine re-routes it, so a route is
    never half-written. An empty list means "planned, nothing routable" (e.g. held, unserved).
    """

    __tablename__ = "plan_routes"
    __table_args__ = (sa.Index(None, "updated_at"),)

    network_id: int = Field(
        sa_column_args=[sa.ForeignKey("networks.id", ondelete="CASCADE")], primary_key=True
    )
    shipment: str = Field(sa_type=sa.String(ID_LENGTH), primary_key=True)
    assignments: list[Any] = Field(default_factory=list, sa_type=JSONValue)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    updated_by: str = Field(default="", sa_type=sa.String(ID_LENGTH))


class OutboxRow(SQLModel, table=True):
    """A notification to deliver, written in the same transaction as the tick that decided it.

    `id` is derived from (incident, notification) so writing it again adds nothing; the daemon
    delivers rows with `delivered_at` unset and then sets it (the id goes out as the request's
    Idempotency-Key, so a receiver can drop a repeat after a crash between send and mark).
    """

    __tablename__ = "notification_outbox"
    __table_args__ = (sa.Index(None, "delivered_at"),)

    id: str = Field(sa_type=sa.String(64), primary_key=True)
    incident_id: str = Field(sa_type=sa.String(40))
    channel: str = Field(sa_type=sa.String(ID_LENGTH))
    notification: dict[str, Any] = Field(default_factory=dict, sa_type=JSONValue)
    created_at: datetime = Field(sa_type=UTCDateTime)
    attempts: int = 0
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str = Field(default="", sa_type=sa.Text)
