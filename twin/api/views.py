"""Domain records -> API models, and the console's decisions (approve, reject, roll back, ack)
with the HTTP status each refusal gets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from twin.api import present
from twin.api.models import (
    AckOut,
    AlertOut,
    AuditOut,
    ChangeOut,
    IncidentDetail,
    IncidentSummary,
    PlanDiffOut,
    ScoreOut,
    SilenceOut,
    WarehouseImpactOut,
)
from twin.domain.alerts import Acknowledgement, Alert, RiskScore, Silence
from twin.domain.incidents import AuditEntry, Incident, IncidentState, ShipmentChange
from twin.playbook.incidents import allowed
from twin.store import decisions
from twin.store.common import NotFound
from twin.store.incidents import audit_log, get_incident
from twin.store.users import Role, User

S = IncidentState
# The console's verbs, the state each moves to, and the role each needs.
DECISIONS: dict[str, IncidentState] = {
    "approve": S.approved,
    "reject": S.rejected,
    "rollback": S.rolled_back,
}
DECIDER = Role.approver


class ConsoleError(Exception):
    """A refused request: the HTTP status and a message a person can act on."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def summary(incident: Incident) -> IncidentSummary:
    s = incident.diff.summary()
    return IncidentSummary(
        id=incident.id,
        alert=incident.alert_id,
        playbook=incident.playbook_id,
        state=incident.state.value,
        target=incident.alert.target,
        dimension=incident.alert.dimension,
        severity=incident.alert.severity.value,
        shadow=incident.shadow,
        needs_approval=list(incident.needs_approval),
        created_at=incident.created_at,
        updated_at=incident.updated_at,
        decided_by=incident.decided_by,
        plan_status=s["status"],
        plan_shipments=s["shipments"],
        plan_cost_delta=s["cost_delta"],
        plan_cost_increase_pct=s["cost_increase_pct"],
        plan_late_unit_days_avoided=s["late_unit_days_avoided"],
        plan_unserved=s["unserved"],
    )


def summary_row(row: Mapping[str, Any]) -> IncidentSummary:
    """An IncidentSummary from twin.store.console.incident_summaries (same numbers as `summary`)."""
    old, delta = float(row["old_cost"]), float(row["cost_delta"])
    pct: float | None = (100.0 * delta / old) if old > 0 else (0.0 if delta <= 0 else None)
    return IncidentSummary(
        id=row["id"],
        alert=row["alert_id"],
        playbook=row["playbook_id"],
        state=row["state"],
        target=row["target"],
        dimension=row["dimension"],
        severity=row["severity"],
        shadow=bool(row["shadow"]),
        needs_approval=list(row["needs_approval"] or ()),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        decided_by=row["decided_by"],
        plan_status=row["plan_status"],
        plan_shipments=int(row["shipments"]),
        plan_cost_delta=round(delta, 2),
        plan_cost_increase_pct=None if pct is None else round(pct, 2),
        plan_late_unit_days_avoided=round(float(row["late"]), 2),
        plan_unserved=list(row["unserved"] or ()),
    )


def change(c: ShipmentChange) -> ChangeOut:
    return ChangeOut(
        shipment=c.shipment,
        units=c.units,
        action=c.action,
        old_path=list(c.old_path),
        new_path=list(c.new_path),
        held=c.held,
        old_cost=round(c.old_cost, 2),
        new_cost=round(c.new_cost, 2),
        cost_delta=round(c.cost_delta, 2),
        old_eta=c.old_eta,
        new_eta=c.new_eta,
        eta_delta_days=round(c.eta_delta_days, 2),
        late_days_avoided=round(c.late_days_avoided, 2),
        no_return_at=c.no_return_at,
    )


def audit(e: AuditEntry) -> AuditOut:
    return AuditOut(
        incident_id=e.incident_id,
        at=e.at,
        actor=e.actor,
        action=e.action,
        from_state=e.from_state.value if e.from_state else None,
        to_state=e.to_state.value,
        why=e.why,
    )


def possible(incident: Incident) -> list[str]:
    """The decisions a person may take on the incident as it stands."""
    if incident.shadow:
        return []
    return [verb for verb, to in DECISIONS.items() if allowed(incident.state, to)]


def detail(incident: Incident, log: list[AuditEntry]) -> IncidentDetail:
    return IncidentDetail(
        **summary(incident).model_dump(),
        why=incident.why,
        comment=incident.comment,
        approval=incident.approval,
        rollback=incident.rollback,
        actions=list(incident.actions),
        constraints=incident.constraints,
        changes=[change(c) for c in incident.diff.changes],
        audit=[audit(e) for e in log],
        can=possible(incident),
        stock=list(incident.stock),
        stock_by_warehouse=[
            WarehouseImpactOut.model_validate(row)
            for row in present.stock_by_warehouse(incident.stock)
        ],
        moves=list(incident.moves),
    )


def plan_diff(incident: Incident) -> PlanDiffOut:
    s = incident.diff.summary()
    return PlanDiffOut(
        incident=incident.id,
        status=s["status"],
        cost_delta=s["cost_delta"],
        cost_increase_pct=s["cost_increase_pct"],
        late_unit_days_avoided=s["late_unit_days_avoided"],
        unserved=s["unserved"],
        changes=[change(c) for c in incident.diff.changes],
    )


def alert(a: Alert) -> AlertOut:
    return AlertOut(
        id=a.id,
        target=a.target,
        dimension=a.dimension,
        severity=a.severity.value,
        score=a.score,
        peak=a.peak,
        opened_at=a.opened_at,
        updated_at=a.updated_at,
        cleared_at=a.cleared_at,
        explain=a.explain,
        kind=a.kind,
        silenced_by=a.silenced_by,
        inhibited_by=a.inhibited_by,
        acked_by=a.acked_by,
        stock=a.stock,
        chain=a.stock.chain() if a.stock else [],
    )


def score(s: RiskScore) -> ScoreOut:
    return ScoreOut(
        target=s.target,
        dimension=s.dimension,
        score=s.score,
        at=s.at,
        kind=s.kind,
        explain=s.explain,
    )


def silence(s: Silence) -> SilenceOut:
    return SilenceOut(
        id=s.id,
        matchers=dict(s.matchers),
        starts_at=s.starts_at,
        ends_at=s.ends_at,
        created_by=s.created_by,
        comment=s.comment,
    )


def ack(a: Acknowledgement) -> AckOut:
    return AckOut(alert_id=a.alert_id, by=a.by, at=a.at, comment=a.comment)


def load_incident(session: Session, ident: str) -> Incident:
    try:
        return get_incident(session, id=ident)
    except NotFound:
        raise ConsoleError(404, f"no incident {ident!r}") from None


@dataclass(frozen=True)
class Decided:
    incident: Incident
    message: str


def _refused(exc: decisions.Refused) -> ConsoleError:
    return ConsoleError(404 if exc.kind == "unknown" else 409, exc.message)


def _may(user: User, doing: str) -> None:
    if not user.role.allows(DECIDER):
        raise ConsoleError(
            403, f"{user.name} is a {user.role.value}: only approvers and admins may {doing}"
        )


def decide(
    session: Session,
    *,
    ident: str,
    verb: str,
    user: User,
    comment: str,
    at: datetime,
    expected_state: str | None = None,
) -> Decided:
    """Approve, reject or roll back incident `ident` as `user`, audited under the user's name
    (twin.store.decisions, as the CLI does).

    Refusals change nothing and raise ConsoleError: 403 (role), 404 (unknown incident), 409
    (not allowed from its state, already decided, or changed since the form was rendered).
    """
    if verb not in DECISIONS:
        raise ConsoleError(404, f"unknown decision {verb!r}: use one of {sorted(DECISIONS)}")
    _may(user, verb)
    try:
        done = decisions.decide(
            session,
            ident=ident,
            to=DECISIONS[verb],
            by=user.name,
            comment=comment,
            at=at,
            expected_state=expected_state,
        )
    except decisions.Refused as exc:
        raise _refused(exc) from None
    moved = done.incident
    message = f"{moved.id}: {done.before.state.value} → {moved.state.value} by {user.name}"
    if moved.state is S.approved:
        message += " (the engine applies it on its next pass)"
    if done.note:
        message += f": {done.note} (the engine restores the routes on its next pass)"
    return Decided(moved, message)


def acknowledge(
    session: Session, *, alert_id: str, user: User, comment: str, at: datetime
) -> Acknowledgement:
    """Record that `user` is on alert `alert_id` (approvers and admins)."""
    _may(user, "acknowledge")
    try:
        return decisions.acknowledge(
            session, alert_id=alert_id, by=user.name, comment=comment, at=at
        )
    except decisions.Refused as exc:
        raise _refused(exc) from None


def add_silence(
    session: Session,
    *,
    user: User,
    matchers: dict[str, str | list[str]],
    length: timedelta,
    comment: str,
    at: datetime,
) -> Silence:
    """Mute alerts matching `matchers` from `at` for `length`, recorded under `user` (approvers, admins)."""
    _may(user, "silence alerts")
    return decisions.add_silence(
        session, matchers=matchers, starts_at=at, length=length, by=user.name, comment=comment
    )


def expire_silence(
    session: Session, *, ident: str, user: User, comment: str, at: datetime
) -> Silence:
    """End a silence now (it stays on record, with who ended it in its comment)."""
    _may(user, "expire silences")
    try:
        return decisions.expire_silence(session, ident=ident, by=user.name, comment=comment, at=at)
    except decisions.Refused as exc:
        raise _refused(exc) from None


DONE = {"approve": "Approved", "reject": "Rejected", "rollback": "Rolled back"}


def done_message(incident: Incident, log: list[AuditEntry], verb: str, user: str) -> str:
    """What the decision `verb` by `user` did, from the audit log, for the page it returns to."""
    if verb not in DONE:
        return ""
    target = DECISIONS[verb]
    entry = next(
        (e for e in reversed(log) if e.to_state is target and e.actor == user),
        None,
    )
    if entry is None:
        return ""
    text = f"{DONE[verb]} by {user} at {entry.at:%Y-%m-%d %H:%M}Z"
    if target is S.approved:
        if incident.state is S.approved:
            return text + ". The engine applies the plan on its next pass; this page shows it."
        return text + f"; now {incident.state.value.replace('_', ' ')}."
    if target is S.rejected:
        return text + ": nothing of the plan is applied."
    at = entry.why.find("restores ")
    if at >= 0:
        return f"{text}: {entry.why[at:]}. The engine restores the routes on its next pass."
    return text + "."


def incident_audit(session: Session, incident: Incident) -> list[AuditEntry]:
    return audit_log(session, incident_id=incident.id)
