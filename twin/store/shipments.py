"""Store and read shipments (SPEC 1.2) and their state: status, where each one is, since when."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import CursorResult, bindparam, delete, insert, select, update
from sqlmodel import Session

from twin.domain.problems import InputError, Problem
from twin.domain.records import Shipment
from twin.store.common import DecodedRows, NotFound, SaveReport, chunks, execute_many, network_id
from twin.store.tables.base import utcnow
from twin.store.tables.network import NodeRow
from twin.store.tables.shipments import ShipmentRow, ShipmentStatus

SHIPMENTS = ShipmentRow.__table__  # type: ignore[attr-defined]
NODES = NodeRow.__table__  # type: ignore[attr-defined]

# The columns a shipment file sets; the others are the shipment's state, moved by the engine.
PLAN_COLUMNS = (
    "origin",
    "destination",
    "units",
    "ready_at",
    "due_at",
    "priority",
    "late_penalty_per_unit_day",
    "split",
    "extras",
)


@dataclass(frozen=True, slots=True)
class ShipmentState:
    """Where a shipment is: its status, the node it is at (or last left) and since when."""

    shipment: str
    status: ShipmentStatus
    at_node: str | None
    at_time: datetime | None


def shipment_row(shipment: Shipment, *, network_id: int) -> dict[str, Any]:
    """The shipment's plan columns (see PLAN_COLUMNS) keyed for the shipments table."""
    return {
        "network_id": network_id,
        "id": shipment.id,
        "origin": shipment.origin,
        "destination": shipment.destination,
        "units": shipment.units,
        "ready_at": shipment.ready_at,
        "due_at": shipment.due_at,
        "priority": shipment.priority.value,
        "late_penalty_per_unit_day": shipment.late_penalty_per_unit_day,
        "split": shipment.split,
        "extras": shipment.extras,
    }


def row_shipment(row: Any) -> Shipment:
    data = {key: row[key] for key in ("id", *PLAN_COLUMNS)}
    extras = data.pop("extras")
    if isinstance(extras, str):  # read as its JSON text (see get_shipments)
        extras = json.loads(extras)
    extras = extras or {}
    return Shipment.model_validate({**extras, **data})


def save_shipments(
    session: Session, *, network_name: str, shipments: Sequence[Shipment]
) -> SaveReport:
    """Store shipments of the stored network `network_name`, idempotently by shipment id.

    New shipments are inserted as planned, at their origin; a stored shipment whose file data
    changed is updated (its state is kept, except that a still-planned shipment follows its
    origin); the same shipment again changes nothing. Stored shipments not in `shipments` are
    left alone: files add to the store. One transaction: on failure nothing is saved.

    Raises NotFound if the network is not stored, InputError if a shipment names a node the
    network lacks or an id appears twice.
    """
    ident = network_id(session, name=network_name)
    _check(session, ident, network_name, shipments)
    ids = [s.id for s in shipments]
    old: dict[str, dict[str, Any]] = {}
    for part in chunks(ids):
        for r in session.execute(
            select(SHIPMENTS).where(SHIPMENTS.c.network_id == ident, SHIPMENTS.c.id.in_(part))
        ).mappings():
            old[r["id"]] = dict(r)
    now = utcnow()
    to_insert: list[dict[str, Any]] = []
    to_update: list[dict[str, Any]] = []
    same = 0
    for shipment in shipments:
        row = shipment_row(shipment, network_id=ident)
        before = old.get(shipment.id)
        if before is None:
            row.update(
                status=ShipmentStatus.planned.value,
                at_node=shipment.origin,
                at_time=shipment.ready_at,
                updated_at=now,
            )
            to_insert.append(row)
        elif all(before[key] == row[key] for key in PLAN_COLUMNS):
            same += 1
        else:
            if before["status"] == ShipmentStatus.planned.value:
                row.update(at_node=shipment.origin, at_time=shipment.ready_at)
            row["updated_at"] = now
            to_update.append(row)
    if to_insert:
        session.execute(insert(SHIPMENTS), to_insert)
    if to_update:
        session.execute(update(ShipmentRow), to_update)
    return SaveReport(
        network_id=ident,
        inserted={"shipments": len(to_insert)},
        updated={"shipments": len(to_update)},
        unchanged={"shipments": same},
        deleted={"shipments": 0},
    )


def _check(session: Session, ident: int, network_name: str, shipments: Sequence[Shipment]) -> None:
    nodes = set(session.execute(select(NODES.c.id).where(NODES.c.network_id == ident)).scalars())
    problems: list[Problem] = []
    seen: set[str] = set()
    for shipment in shipments:
        where = f"shipment {shipment.id}"
        if shipment.id in seen:
            problems.append(Problem("store", where, "id", f"duplicate shipment id '{shipment.id}'"))
        seen.add(shipment.id)
        for field, ref in (("origin", shipment.origin), ("destination", shipment.destination)):
            if ref not in nodes:
                problems.append(
                    Problem(
                        "store", where, field, f"unknown node '{ref}' in network '{network_name}'"
                    )
                )
    if problems:
        raise InputError(problems)


def get_shipments(
    session: Session,
    *,
    network_name: str,
    status: ShipmentStatus | Iterable[ShipmentStatus] | None = None,
    ids: Iterable[str] | None = None,
    memo: DecodedRows[Shipment] | None = None,
) -> list[Shipment]:
    """Stored shipments of a network, by id; only those with `status` / in `ids` when given.
    With `memo`, shipments stored unchanged since its last read are not validated again."""
    names = ("id", *PLAN_COLUMNS)
    # extras as JSON text: cheaper to compare with the memo's than to decode every time.
    columns = [
        sa.cast(SHIPMENTS.c.extras, sa.Text).label(name) if name == "extras" else SHIPMENTS.c[name]
        for name in names
    ]
    rows = _rows(session, network_name, status, ids, columns)
    if memo is None:
        return [row_shipment(dict(zip(names, r, strict=True))) for r in rows]
    # Each row as a plain tuple: its first value the id, all of them the memo's key.
    keyed = ((r[0], tuple(r)) for r in rows)
    decode = memo.decode(keyed, lambda raw: row_shipment(dict(zip(names, raw, strict=True))))
    return list(decode.values())


def get_shipment_states(
    session: Session,
    *,
    network_name: str,
    status: ShipmentStatus | Iterable[ShipmentStatus] | None = None,
    ids: Iterable[str] | None = None,
) -> dict[str, ShipmentState]:
    """Where each stored shipment of a network is, by shipment id."""
    columns = [SHIPMENTS.c[name] for name in ("id", "status", "at_node", "at_time")]
    statuses = {s.value: s for s in ShipmentStatus}
    return {
        sid: ShipmentState(sid, statuses[code], node, at)
        for sid, code, node, at in _rows(session, network_name, status, ids, columns)
    }


def _rows(
    session: Session,
    network_name: str,
    status: ShipmentStatus | Iterable[ShipmentStatus] | None,
    ids: Iterable[str] | None,
    columns: Sequence[Any],
) -> list[Any]:
    """The rows of `columns` (the first the id), as tuples in id order: a pass reads every
    shipment in flight, and keyed rows (mappings) cost more than reading them."""
    ident = network_id(session, name=network_name)
    query = select(*columns).where(SHIPMENTS.c.network_id == ident).order_by(SHIPMENTS.c.id)
    if status is not None:
        wanted = [status] if isinstance(status, ShipmentStatus) else list(status)
        query = query.where(SHIPMENTS.c.status.in_([ShipmentStatus(s).value for s in wanted]))
    if ids is None:
        return list(session.execute(query))
    rows: list[Any] = []
    for part in chunks(sorted(set(ids))):
        rows += session.execute(query.where(SHIPMENTS.c.id.in_(part)))
    return sorted(rows, key=lambda r: r[0])


def set_shipment_state(
    session: Session,
    *,
    network_name: str,
    shipment_id: str,
    status: ShipmentStatus,
    at_node: str | None,
    at_time: datetime | None,
) -> None:
    """Move a shipment: its new status, the node it is at and since when; raises NotFound."""
    ident = network_id(session, name=network_name)
    result = session.execute(
        update(SHIPMENTS)
        .where(SHIPMENTS.c.network_id == ident, SHIPMENTS.c.id == shipment_id)
        .values(
            status=ShipmentStatus(status).value,
            at_node=at_node,
            at_time=at_time,
            updated_at=utcnow(),
        )
    )
    # An UPDATE's result is a CursorResult; Session.execute is typed as returning any Result.
    if cast(CursorResult[Any], result).rowcount == 0:
        raise NotFound(f"no shipment {shipment_id!r} in stored network {network_name!r}")


def set_shipment_states(
    session: Session, *, network_name: str, states: Sequence[ShipmentState]
) -> int:
    """Move many shipments at once (one statement executed for all, as `set_shipment_state`
    does each); shipments not stored are skipped. Returns how many were given."""
    if not states:
        return 0
    ident = network_id(session, name=network_name)
    statement = (
        update(SHIPMENTS)
        .where(
            SHIPMENTS.c.network_id == bindparam("in_network"),
            SHIPMENTS.c.id == bindparam("shipment_id"),
        )
        .values(
            status=bindparam("new_status"),
            at_node=bindparam("new_node"),
            at_time=bindparam("new_time"),
            updated_at=bindparam("moved_at"),
        )
    )
    moved_at = utcnow()
    rows = [
        {
            "in_network": ident,
            "shipment_id": state.shipment,
            "new_status": ShipmentStatus(state.status).value,
            "new_node": state.at_node,
            "new_time": state.at_time,
            "moved_at": moved_at,
        }
        for state in states
    ]
    execute_many(session, statement, rows)  # one executemany
    return len(rows)


def delete_shipments(session: Session, *, network_name: str, ids: Sequence[str]) -> int:
    """Remove shipments and their plan of record (a stock move's shipment rolled back before it
    left: twin.playbook.stock_actions). Returns how many shipments were removed."""
    if not ids:
        return 0
    from twin.store.routes import ROUTES

    ident = network_id(session, name=network_name)
    removed = 0
    for part in chunks(sorted(set(ids))):
        session.execute(
            delete(ROUTES).where(ROUTES.c.network_id == ident, ROUTES.c.shipment.in_(part))
        )
        result = session.execute(
            delete(SHIPMENTS).where(SHIPMENTS.c.network_id == ident, SHIPMENTS.c.id.in_(part))
        )
        removed += cast(CursorResult[Any], result).rowcount
    return removed
