"""Store and read carrier events: where shipments' freight actually was (DCSA ACT positions)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from twin.domain.signals import ShipmentPosition
from twin.store.signals import _insert
from twin.store.tables.base import utcnow
from twin.store.tables.signals import ShipmentEventRow

EVENTS = ShipmentEventRow.__table__  # type: ignore[attr-defined]


def save_shipment_events(
    session: Session, *, positions: Sequence[ShipmentPosition], ingested_at: datetime | None = None
) -> int:
    """Insert the positions not stored yet (by source and event id); returns how many were new."""
    if not positions:
        return 0
    at = ingested_at or utcnow()
    rows = [
        {
            "source": p.source,
            "event_id": p.event_id,
            "at": p.at,
            "event": p.event,
            "locode": p.locode,
            "node": p.node,
            "shipment": p.shipment,
            "document_refs": list(p.references),
            "mode": p.mode,
            "vessel": p.vessel,
            "ingested_at": at,
        }
        for p in positions
    ]
    statement = (
        _insert(session, EVENTS)
        .on_conflict_do_nothing(index_elements=["source", "event_id"])
        .returning(EVENTS.c.id)
    )
    return len(session.execute(statement, rows).all())


def shipment_events_since(session: Session, *, since: datetime) -> list[ShipmentPosition]:
    """Every stored carrier event at or after `since`, oldest first."""
    query = select(EVENTS).where(EVENTS.c.at >= since).order_by(EVENTS.c.at, EVENTS.c.id)
    return [
        ShipmentPosition(
            source=r["source"],
            event_id=r["event_id"],
            at=r["at"],
            event=r["event"],
            locode=r["locode"],
            shipment=r["shipment"],
            references=tuple(r["document_refs"] or ()),
            node=r["node"],
            mode=r["mode"],
            vessel=r["vessel"],
        )
        for r in session.execute(query).mappings()
    ]


__all__ = ["save_shipment_events", "shipment_events_since"]
