"""Store queries for the plan of record (each shipment's routes) and the notification outbox.

Keyword-only; functions never commit (the caller's `session_scope` does, once per pass).

    with session_scope(engine) as session:
        save_routes(session, network_name="demo", routes={"S1": (assignment, ...)}, at=now)
        routes = get_routes(session, network_name="demo")      # {"S1": (Assignment, ...)}
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import TypeAdapter
from sqlmodel import Session

from twin.domain.incidents import Notification
from twin.domain.plans import Assignment
from twin.store.common import DecodedRows, bulk_insert, execute_many, network_id
from twin.store.signals import _insert
from twin.store.tables.base import JSONText
from twin.store.tables.routes import OutboxRow, PlanRouteRow
from twin.store.tables.shipments import ShipmentRow, ShipmentStatus

ROUTES = PlanRouteRow.__table__  # type: ignore[attr-defined]
OUTBOX = OutboxRow.__table__  # type: ignore[attr-defined]
SHIPMENTS = ShipmentRow.__table__  # type: ignore[attr-defined]
# Routes are read as their JSON text and validated by pydantic's JSON parser in one step: at
# 50,000 shipments, decoding to Python objects first and validating those cost twice as much.
_ASSIGNMENTS = TypeAdapter(tuple[Assignment, ...])


def save_routes(
    session: Session,
    *,
    network_name: str,
    routes: Mapping[str, Sequence[Assignment]],
    at: datetime,
    by: str = "engine",
) -> int:
    """Replace the plan of record of each shipment in `routes` (insert or update); returns how
    many shipments were written."""
    if not routes:
        return 0
    ident = network_id(session, name=network_name)
    rows = [
        {
            "network_id": ident,
            "shipment": sid,
            "assignments": JSONText(_ASSIGNMENTS.dump_json(tuple(assignments)).decode()),
            "updated_at": at,
            "updated_by": by,
        }
        for sid, assignments in sorted(routes.items())
    ]
    if session.get_bind().dialect.name == "postgresql":
        _copy_routes(session, rows)
        return len(rows)
    statement = _insert(session, ROUTES)
    statement = statement.on_conflict_do_update(
        index_elements=["network_id", "shipment"],
        set_={
            name: statement.excluded[name] for name in ("assignments", "updated_at", "updated_by")
        },
    )
    execute_many(session, statement, rows)
    return len(rows)


# A session-local staging table for routes written in bulk on PostgreSQL (emptied at commit).
_STAGED = sa.Table(
    "twin_staged_routes", sa.MetaData(), *(column._copy() for column in ROUTES.columns)
)


def _copy_routes(session: Session, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL: the rows COPYed into a temporary table, then upserted from it in one
    statement (a re-routing pass writes tens of thousands of routes)."""
    names = ", ".join(f'"{c.name}"' for c in ROUTES.columns)
    session.execute(
        sa.text(
            f'CREATE TEMPORARY TABLE IF NOT EXISTS "{_STAGED.name}" '
            f'(LIKE "{ROUTES.name}") ON COMMIT DELETE ROWS'
        )
    )
    session.execute(sa.text(f'DELETE FROM "{_STAGED.name}"'))
    bulk_insert(session, _STAGED, rows)
    session.execute(
        sa.text(
            f'INSERT INTO "{ROUTES.name}" ({names}) SELECT {names} FROM "{_STAGED.name}" '
            "ON CONFLICT (network_id, shipment) DO UPDATE SET assignments = "
            "excluded.assignments, updated_at = excluded.updated_at, "
            "updated_by = excluded.updated_by"
        )
    )
    session.execute(sa.text(f'DELETE FROM "{_STAGED.name}"'))


def get_routes(
    session: Session,
    *,
    network_name: str,
    status: Sequence[ShipmentStatus] | None = None,
    memo: DecodedRows[tuple[Assignment, ...]] | None = None,
) -> dict[str, tuple[Assignment, ...]]:
    """The plan of record of every shipment of the network that has one (only of shipments in
    one of `status` when given: a pass skips the routes of delivered freight). With `memo`,
    routes stored unchanged since its last read are not decoded again."""
    ident = network_id(session, name=network_name)
    # CAST to text: PostgreSQL's driver would otherwise decode the JSON itself.
    query = (
        sa.select(ROUTES.c.shipment, sa.cast(ROUTES.c.assignments, sa.Text).label("text"))
        .where(ROUTES.c.network_id == ident)
        .order_by(ROUTES.c.shipment)
    )
    if status is not None:
        query = query.join(
            SHIPMENTS,
            sa.and_(
                SHIPMENTS.c.network_id == ROUTES.c.network_id, SHIPMENTS.c.id == ROUTES.c.shipment
            ),
        ).where(SHIPMENTS.c.status.in_([ShipmentStatus(s).value for s in status]))
    rows = ((shipment, text) for shipment, text in session.execute(query))
    return (memo or DecodedRows()).decode(rows, _decode_routes)


def _decode_routes(text: str | None) -> tuple[Assignment, ...]:
    return _ASSIGNMENTS.validate_json(text) if text and text != "null" else ()


def route_times(session: Session, *, network_name: str) -> dict[str, datetime]:
    """When each shipment's plan of record was last written."""
    ident = network_id(session, name=network_name)
    rows = session.execute(
        sa.select(ROUTES.c.shipment, ROUTES.c.updated_at).where(ROUTES.c.network_id == ident)
    )
    return {r.shipment: r.updated_at for r in rows}


@dataclass(frozen=True)
class OutboxItem:
    """A notification waiting for delivery (or delivered)."""

    id: str
    incident_id: str
    channel: str
    notification: Notification
    attempts: int
    delivered_at: datetime | None
    outcome: str


def outbox_id(incident_id: str, index: int, note: Notification) -> str:
    """The one id of the `index`-th notification an incident sent: the same after a restart."""
    text = f"{incident_id}\x00{index}\x00{note.channel}\x00{note.summary}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def enqueue_notifications(
    session: Session, *, items: Sequence[tuple[str, Notification]], at: datetime
) -> int:
    """Queue (incident id, notification) pairs once each; returns how many were new."""
    if not items:
        return 0
    counters: dict[str, int] = {}
    rows: list[dict[str, Any]] = []
    for incident_id, note in items:
        index = counters.get(incident_id, 0)
        counters[incident_id] = index + 1
        rows.append(
            {
                "id": outbox_id(incident_id, index, note),
                "incident_id": incident_id,
                "channel": note.channel,
                "notification": note.model_dump(mode="json"),
                "created_at": at,
                "attempts": 0,
                "delivered_at": None,
                "outcome": "",
            }
        )
    statement = (
        _insert(session, OUTBOX)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(OUTBOX.c.id)
    )
    return len(session.execute(statement, rows).all())


def _item(row: Any) -> OutboxItem:
    return OutboxItem(
        id=row.id,
        incident_id=row.incident_id,
        channel=row.channel,
        notification=Notification.model_validate(row.notification),
        attempts=row.attempts,
        delivered_at=row.delivered_at,
        outcome=row.outcome,
    )


def pending_notifications(session: Session, *, limit: int = 100) -> list[OutboxItem]:
    """Notifications not yet delivered (or given up on), oldest first."""
    query = (
        sa.select(OUTBOX)
        .where(OUTBOX.c.delivered_at.is_(None))
        .order_by(OUTBOX.c.created_at, OUTBOX.c.id)
        .limit(limit)
    )
    return [_item(r) for r in session.execute(query)]


def list_outbox(session: Session) -> list[OutboxItem]:
    return [
        _item(r)
        for r in session.execute(sa.select(OUTBOX).order_by(OUTBOX.c.created_at, OUTBOX.c.id))
    ]


def mark_notification(
    session: Session, *, id: str, attempts: int, at: datetime | None, outcome: str
) -> None:
    """Record a delivery round: `at` set when done (delivered, or given up), None to retry later."""
    session.execute(
        OUTBOX.update()
        .where(OUTBOX.c.id == id)
        .values(attempts=OUTBOX.c.attempts + attempts, delivered_at=at, outcome=outcome[:2000])
    )


__all__ = [
    "OutboxItem",
    "enqueue_notifications",
    "get_routes",
    "list_outbox",
    "mark_notification",
    "outbox_id",
    "pending_notifications",
    "route_times",
    "save_routes",
]
