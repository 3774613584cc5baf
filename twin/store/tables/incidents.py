"""Tables of on-call work: incidents, their plan diffs, the append-only audit log, notification attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapper
from sqlmodel import Field, SQLModel

from twin.store.tables.base import JSONValue, UTCDateTime, utcnow

ID_LENGTH = 120


class IncidentRow(SQLModel, table=True):
    """One (alert episode, playbook, severity) incident; the unique key is what makes proposing
    idempotent (an escalated episode is answered once more)."""

    __tablename__ = "incidents"
    __table_args__ = (
        sa.UniqueConstraint("alert_id", "playbook_id", "severity"),
        sa.Index(None, "state"),
    )

    id: str = Field(sa_type=sa.String(40), primary_key=True)
    alert_id: str = Field(sa_type=sa.String(ID_LENGTH))
    playbook_id: str = Field(sa_type=sa.String(ID_LENGTH))
    state: str = Field(sa_type=sa.String(20))
    target: str = Field(sa_type=sa.String(ID_LENGTH))
    dimension: str = Field(sa_type=sa.String(40))
    severity: str = Field(sa_type=sa.String(20))
    why: str = Field(default="", sa_type=sa.Text)
    approval: str = Field(sa_type=sa.String(20))
    shadow: bool = False
    rollback: str = Field(sa_type=sa.String(20))
    plan_status: str = Field(sa_type=sa.String(20))
    cost_delta: float = 0.0
    needs_approval: list[str] = Field(default_factory=list, sa_type=JSONValue)
    alert: dict[str, Any] = Field(default_factory=dict, sa_type=JSONValue)
    actions: list[Any] = Field(default_factory=list, sa_type=JSONValue)
    notifications: list[Any] = Field(default_factory=list, sa_type=JSONValue)
    constraints: dict[str, Any] = Field(default_factory=dict, sa_type=JSONValue)
    old_routes: list[Any] = Field(default_factory=list, sa_type=JSONValue)
    new_routes: list[Any] = Field(default_factory=list, sa_type=JSONValue)
    unserved: list[str] = Field(default_factory=list, sa_type=JSONValue)
    stock: list[Any] = Field(default_factory=list, sa_type=JSONValue)
    replan_stopped: list[str] = Field(default_factory=list, sa_type=JSONValue)
    decided_by: str | None = Field(default=None, sa_type=sa.String(ID_LENGTH))
    comment: str = Field(default="", sa_type=sa.Text)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class PlanChangeRow(SQLModel, table=True):
    """One shipment of an incident's proposed plan: old path -> new path, cost and ETA deltas."""

    __tablename__ = "incident_changes"

    incident_id: str = Field(
        sa_type=sa.String(40),
        sa_column_args=[sa.ForeignKey("incidents.id", ondelete="CASCADE")],
        primary_key=True,
    )
    shipment: str = Field(sa_type=sa.String(ID_LENGTH), primary_key=True)
    units: float
    action: str = Field(sa_type=sa.String(40))
    old_path: list[str] = Field(default_factory=list, sa_type=JSONValue)
    new_path: list[str] = Field(default_factory=list, sa_type=JSONValue)
    held: bool = False
    old_cost: float = 0.0
    new_cost: float = 0.0
    old_eta: datetime | None = Field(default=None, sa_type=UTCDateTime)
    new_eta: datetime | None = Field(default=None, sa_type=UTCDateTime)
    eta_delta_days: float = 0.0
    late_days_avoided: float = 0.0
    no_return_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    old_co2e_kg: float = 0.0
    new_co2e_kg: float = 0.0


class AuditRow(SQLModel, table=True):
    """One state change of an incident. Append-only: the ORM refuses to update or delete a row."""

    __tablename__ = "incident_audit"
    __table_args__ = (sa.Index(None, "incident_id", "seq"),)

    seq: int | None = Field(default=None, primary_key=True)
    incident_id: str = Field(sa_type=sa.String(40))
    at: datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(sa_type=sa.String(ID_LENGTH))
    action: str = Field(sa_type=sa.String(40))
    from_state: str | None = Field(default=None, sa_type=sa.String(20))
    to_state: str = Field(sa_type=sa.String(20))
    why: str = Field(default="", sa_type=sa.Text)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AuditIsAppendOnly(RuntimeError):
    """Raised when code tries to change or remove an audit entry."""


@event.listens_for(AuditRow, "before_update")
@event.listens_for(AuditRow, "before_delete")
def _refuse(_mapper: Mapper[Any], _connection: Any, target: AuditRow) -> None:
    raise AuditIsAppendOnly(
        f"audit entry {target.seq} is append-only: it cannot be changed or removed"
    )


class NotificationAttemptRow(SQLModel, table=True):
    """One try at delivering a notification (webhook or Alertmanager), successful or not."""

    __tablename__ = "notification_attempts"
    __table_args__ = (sa.Index(None, "incident_id"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: str | None = Field(default=None, sa_type=sa.String(40))
    channel: str = Field(sa_type=sa.String(ID_LENGTH))
    url: str = Field(sa_type=sa.Text)
    format: str = Field(sa_type=sa.String(20))
    attempt: int
    at: datetime = Field(sa_type=UTCDateTime)
    ok: bool
    status_code: int | None = None
    error: str = Field(default="", sa_type=sa.Text)
