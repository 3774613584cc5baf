"""Incident queries: save once per (alert, playbook, severity), move state with its audit entry, read back.

The audit log is append-only: this module offers `append_audit` and readers, nothing that
updates or deletes an entry (and the table refuses ORM updates and deletes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa
from pydantic import TypeAdapter
from sqlalchemy import CursorResult, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from twin.domain.incidents import (
    AuditEntry,
    Incident,
    IncidentState,
    Notification,
    NotificationAttempt,
    PlanDiff,
    ShipmentChange,
)
from twin.domain.plans import Assignment
from twin.domain.stock import StockImpact, StockMove
from twin.store.common import DecodedRows, NotFound, bulk_insert, chunks
from twin.store.tables.base import JSONText
from twin.store.tables.incidents import AuditRow, IncidentRow, NotificationAttemptRow, PlanChangeRow

INCIDENTS = IncidentRow.__table__  # type: ignore[attr-defined]
# Routes are written as pydantic's JSON text (JSONText): one encoding, not a round trip.
_ASSIGNMENTS = TypeAdapter(tuple[Assignment, ...])
CHANGES = PlanChangeRow.__table__  # type: ignore[attr-defined]
AUDIT = AuditRow.__table__  # type: ignore[attr-defined]
ATTEMPTS = NotificationAttemptRow.__table__  # type: ignore[attr-defined]


class StaleState(RuntimeError):
    """Raised when an incident moved in the database since it was read (someone else acted first)."""


MOVES_KEY = "stock_moves"


def _incident_row(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "alert_id": incident.alert_id,
        "playbook_id": incident.playbook_id,
        "state": incident.state.value,
        "target": incident.alert.target,
        "dimension": incident.alert.dimension,
        "severity": incident.alert.severity.value,
        "why": incident.why,
        "approval": incident.approval,
        "shadow": incident.shadow,
        "rollback": incident.rollback,
        "plan_status": incident.diff.status,
        "cost_delta": incident.diff.cost_delta,
        "needs_approval": list(incident.needs_approval),
        "alert": incident.alert.model_dump(mode="json"),
        "actions": list(incident.actions),
        "notifications": [n.model_dump(mode="json") for n in incident.notifications],
        # Stock moves ride in the constraints document (no column of their own).
        "constraints": (
            {**incident.constraints, MOVES_KEY: [m.model_dump(mode="json") for m in incident.moves]}
            if incident.moves
            else incident.constraints
        ),
        "old_routes": JSONText(_ASSIGNMENTS.dump_json(incident.old_routes).decode()),
        "new_routes": JSONText(_ASSIGNMENTS.dump_json(incident.new_routes).decode()),
        "unserved": list(incident.diff.unserved),
        "stock": [impact.model_dump(mode="json") for impact in incident.stock],
        "replan_stopped": list(incident.replan_stopped),
        "decided_by": incident.decided_by,
        "comment": incident.comment,
        "created_at": incident.created_at,
        "updated_at": incident.updated_at,
    }


def _change_row(incident_id: str, change: ShipmentChange) -> dict[str, Any]:
    row = change.model_dump()
    row["old_path"], row["new_path"] = list(change.old_path), list(change.new_path)
    return {"incident_id": incident_id, **row}


def _incident(row: Any, changes: Sequence[Any]) -> Incident:
    diff = PlanDiff(
        changes=tuple(
            ShipmentChange.model_validate({k: v for k, v in dict(c).items() if k != "incident_id"})
            for c in changes
        ),
        status=row.plan_status,
        unserved=tuple(row.unserved),
    )
    return Incident(
        id=row.id,
        alert_id=row.alert_id,
        playbook_id=row.playbook_id,
        alert=row.alert,
        why=row.why,
        state=IncidentState(row.state),
        actions=tuple(row.actions),
        diff=diff,
        approval=row.approval,
        needs_approval=tuple(row.needs_approval),
        shadow=row.shadow,
        rollback=row.rollback,
        notifications=tuple(Notification.model_validate(n) for n in row.notifications),
        old_routes=tuple(Assignment.model_validate(a) for a in row.old_routes),
        new_routes=tuple(Assignment.model_validate(a) for a in row.new_routes),
        constraints={k: v for k, v in row.constraints.items() if k != MOVES_KEY},
        moves=tuple(StockMove.model_validate(m) for m in row.constraints.get(MOVES_KEY, ())),
        created_at=row.created_at,
        updated_at=row.updated_at,
        decided_by=row.decided_by,
        comment=row.comment,
        stock=tuple(StockImpact.model_validate(i) for i in row.stock or ()),
        replan_stopped=tuple(row.replan_stopped or ()),
    )


def save_incident(
    session: Session,
    *,
    incident: Incident,
    audit: Sequence[AuditEntry] = (),
) -> tuple[Incident, bool]:
    """Store a new incident with its plan changes and opening audit entries, once.

    Idempotent: if the (alert, playbook, severity) key is already stored (this run or before a
    restart), nothing is written and the stored incident comes back with `created` False.
    """
    key = (
        INCIDENTS.c.alert_id == incident.alert_id,
        INCIDENTS.c.playbook_id == incident.playbook_id,
        INCIDENTS.c.severity == incident.alert.severity.value,
    )
    existing = session.execute(select(INCIDENTS.c.id).where(*key)).scalar_one_or_none()
    if existing is None:
        try:
            with session.begin_nested():  # a racing writer's insert fails only this savepoint
                session.execute(insert(INCIDENTS), [_incident_row(incident)])
                bulk_insert(
                    session, CHANGES, [_change_row(incident.id, c) for c in incident.diff.changes]
                )
                for entry in audit:
                    append_audit(session, entry=entry)
            return incident, True
        except IntegrityError:
            pass
    stored_id = existing or session.execute(select(INCIDENTS.c.id).where(*key)).scalar_one()
    return get_incident(session, id=stored_id), False


def get_incident(session: Session, *, id: str) -> Incident:
    """The stored incident `id` (a unique prefix of it also works); raises NotFound."""
    row = session.execute(select(INCIDENTS).where(INCIDENTS.c.id == id)).first()
    if row is None and len(id) >= 6:
        rows = session.execute(select(INCIDENTS).where(INCIDENTS.c.id.startswith(id))).all()
        row = rows[0] if len(rows) == 1 else None
    if row is None:
        raise NotFound(f"no incident {id!r} (see `twin incidents list`)")
    return _incident(row, _changes_of(session, [row.id])[row.id])


def _changes_of(session: Session, ids: Sequence[str]) -> dict[str, list[Any]]:
    """The plan changes of each incident in `ids`, by shipment."""
    changes: dict[str, list[Any]] = {ident: [] for ident in ids}
    for part in chunks(list(changes)):
        found = session.execute(
            select(CHANGES)
            .where(CHANGES.c.incident_id.in_(part))
            .order_by(CHANGES.c.incident_id, CHANGES.c.shipment)
        ).mappings()
        for change in found:
            changes[change["incident_id"]].append(change)
    return changes


# What changes when a stored incident is written again (a move, a re-proposal, a decision):
# an incident whose row reads the same in these is the incident read before.
_STAMP = (
    "id",
    "state",
    "updated_at",
    "plan_status",
    "cost_delta",
    "why",
    "decided_by",
    "comment",
)


def list_incidents(
    session: Session,
    *,
    states: Sequence[IncidentState] | None = None,
    limit: int | None = None,
    memo: DecodedRows[Incident] | None = None,
) -> list[Incident]:
    """Stored incidents, newest first, optionally only those in `states`: two queries however
    many there are (the daemon loads them every pass). With `memo`, an incident whose row is
    as its last read left it (`_STAMP`) is not read and decoded again: an applied incident
    keeps every plan change and route of the freight it moved (tens of thousands after a
    closure), and the daemon's passes load it while its alert is open."""
    query = select(INCIDENTS).order_by(INCIDENTS.c.created_at.desc(), INCIDENTS.c.id)
    if states:
        query = query.where(INCIDENTS.c.state.in_([s.value for s in states]))
    if limit:
        query = query.limit(limit)
    if memo is None:
        rows = session.execute(query).all()
        changes = _changes_of(session, [row.id for row in rows])
        return [_incident(row, changes[row.id]) for row in rows]
    stamped = query.with_only_columns(*(INCIDENTS.c[name] for name in _STAMP))
    stamps = [(row[0], tuple(row)) for row in session.execute(stamped)]
    wanted = memo.unknown(stamps)
    fresh: dict[str, Incident] = {}
    for part in chunks(wanted):
        rows = session.execute(select(INCIDENTS).where(INCIDENTS.c.id.in_(part))).all()
        changes = _changes_of(session, [row.id for row in rows])
        fresh.update((row.id, _incident(row, changes[row.id])) for row in rows)
    decoded = memo.decode(stamps, lambda stamp: fresh[stamp[0]])
    return [decoded[ident] for ident, _ in stamps]


def save_transition(session: Session, *, incident: Incident, entry: AuditEntry) -> Incident:
    """Store a state move made by twin.playbook.incidents.transition, with its audit entry.

    The row only moves if it is still in `entry.from_state`: raises StaleState otherwise, so
    two approvers (or an approver and the engine) never both act on one incident.
    """
    result = session.execute(
        update(INCIDENTS)
        .where(
            INCIDENTS.c.id == incident.id,
            INCIDENTS.c.state == (entry.from_state.value if entry.from_state else ""),
        )
        .values(
            state=incident.state.value,
            updated_at=incident.updated_at,
            decided_by=incident.decided_by,
            comment=incident.comment,
        )
    )
    # An UPDATE's result is a CursorResult; Session.execute is typed as returning any Result.
    if cast(CursorResult[Any], result).rowcount != 1:
        raise StaleState(
            f"incident {incident.id} is no longer {entry.from_state}: reload and retry"
        )
    append_audit(session, entry=entry)
    return incident


# What a re-proposal replaces: the proposed plan and what follows from it (not the identity,
# the state, who decided, or when it was created).
_REPROPOSED = (
    "why",
    "plan_status",
    "cost_delta",
    "needs_approval",
    "notifications",
    "constraints",
    "old_routes",
    "new_routes",
    "unserved",
    "stock",
    "replan_stopped",
    "updated_at",
)


def save_reproposal(session: Session, *, incident: Incident, entry: AuditEntry) -> Incident:
    """Store an incident re-proposed by a later pass (its re-plan had been cut short): its new
    diff, routes and reasons replace the old, with the audit entry saying why.

    Only an incident still `proposed` is replaced; one a person decided on meanwhile raises
    StaleState (their decision stands, and the pass starts again from it)."""
    row = _incident_row(incident)
    result = session.execute(
        update(INCIDENTS)
        .where(INCIDENTS.c.id == incident.id, INCIDENTS.c.state == IncidentState.proposed.value)
        .values({name: row[name] for name in _REPROPOSED})
    )
    if cast(CursorResult[Any], result).rowcount != 1:
        raise StaleState(f"incident {incident.id} is no longer proposed: reload and retry")
    session.execute(sa.delete(CHANGES).where(CHANGES.c.incident_id == incident.id))
    bulk_insert(session, CHANGES, [_change_row(incident.id, c) for c in incident.diff.changes])
    append_audit(session, entry=entry)
    return incident


def append_audit(session: Session, *, entry: AuditEntry) -> None:
    """Add one audit entry (the only write the audit log has)."""
    row = entry.model_dump(mode="python")
    row["from_state"] = entry.from_state.value if entry.from_state else None
    row["to_state"] = entry.to_state.value
    session.add(AuditRow(**row))
    session.flush()


def audit_log(session: Session, *, incident_id: str | None = None) -> list[AuditEntry]:
    """Audit entries in the order they were written, for one incident or all."""
    query = select(AUDIT).order_by(AUDIT.c.seq)
    if incident_id is not None:
        query = query.where(AUDIT.c.incident_id == incident_id)
    return [
        AuditEntry.model_validate({k: r[k] for k in AuditEntry.model_fields})
        for r in session.execute(query).mappings()
    ]


def record_attempts(session: Session, *, attempts: Sequence[NotificationAttempt]) -> None:
    if attempts:
        session.execute(insert(ATTEMPTS), [a.model_dump() for a in attempts])


def notification_attempts(
    session: Session, *, incident_id: str | None = None
) -> list[NotificationAttempt]:
    query = select(ATTEMPTS).order_by(ATTEMPTS.c.id)
    if incident_id is not None:
        query = query.where(ATTEMPTS.c.incident_id == incident_id)
    return [
        NotificationAttempt.model_validate({k: r[k] for k in NotificationAttempt.model_fields})
        for r in session.execute(query).mappings()
    ]
