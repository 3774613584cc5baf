"""From a matched alert to an incident, and from a decided incident to applied or rolled-back routes (pure).

propose: preview the playbook's actions and wrap the result in an Incident (with guardrails).
decide: the engine's own moves (shadow, auto-approve). apply / rollback: through an Effector.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from twin.domain.incidents import AuditEntry, Incident, IncidentState, PlanDiff, incident_id
from twin.domain.plans import Assignment
from twin.domain.signals import STOCK_DIMENSION
from twin.playbook.actions import REGISTRY, ActionContext, Effector, preview, render_steps
from twin.playbook.incidents import SYSTEM, created, transition
from twin.playbook.match import Matched
from twin.playbook.schema import Playbook

S = IncidentState


def guardrail_reasons(playbook: Playbook, diff: PlanDiff) -> tuple[str, ...]:
    """Why this diff needs a person: each guardrail it exceeds, or a plan that is not usable."""
    reasons: list[str] = []
    limit = playbook.max_cost_increase_pct()
    pct = diff.cost_increase_pct
    if limit is not None and pct > limit:
        reasons.append(f"cost +{pct:.1f}% exceeds max_cost_increase_pct {limit:g}")
    co2e_limit = playbook.max_co2e_increase_pct()
    co2e_pct = diff.co2e_increase_pct
    if co2e_limit is not None and co2e_pct > co2e_limit:
        reasons.append(f"CO2e +{co2e_pct:.1f}% exceeds max_co2e_increase_pct {co2e_limit:g}")
    rails = playbook.guardrails
    if rails.max_cost_delta is not None and diff.cost_delta > rails.max_cost_delta:
        reasons.append(
            f"cost +{diff.cost_delta:.0f} exceeds max_cost_delta {rails.max_cost_delta:g}"
        )
    if rails.max_shipments is not None and len(diff.changes) > rails.max_shipments:
        reasons.append(f"{len(diff.changes)} shipments exceed max_shipments {rails.max_shipments}")
    if rails.max_eta_increase_days is not None:
        worst = max((c.eta_delta_days for c in diff.changes), default=0.0)
        if worst > rails.max_eta_increase_days:
            reasons.append(
                f"an ETA slips {worst:.1f} d, over max_eta_increase_days {rails.max_eta_increase_days:g}"
            )
    if not diff.applicable:
        reasons.append(
            f"plan status {diff.status}"
            + (f", unserved {list(diff.unserved)}" if diff.unserved else "")
        )
    return tuple(reasons)


def propose(matched: Matched, ctx: ActionContext, *, shadow: bool = False) -> Incident:
    """Preview the matched playbook against the live twin and return the proposed incident.

    The incident id is derived from (alert id, playbook id, severity), so proposing again for the
    same alert episode at the same severity gives the same incident (the store keeps the first). `shadow` (global) or the
    playbook's own `shadow` marks an incident that is recorded but never applied.
    """
    playbook, alert = matched.playbook, ctx.alert
    steps = render_steps(playbook.steps(), alert)
    proposal = preview(steps, ctx)
    diff = PlanDiff(
        changes=tuple(proposal.changes[s] for s in sorted(proposal.changes)),
        status=proposal.status,
        unserved=proposal.unserved,
    )
    changed = set(proposal.changes)
    old_routes = tuple(a for sid in sorted(changed) for a in ctx.current.get(sid, ()))
    new_routes = tuple(a for sid in sorted(proposal.new_routes) for a in proposal.new_routes[sid])
    whatif = proposal.whatif
    why = f"{alert.severity.value} {alert.dimension} alert on {alert.target}"
    why += f" ({alert.explain})" if alert.explain else ""
    why += f"; {matched.why}"
    why += "".join(f"; {note}" for note in proposal.cut_short)
    return Incident(
        id=incident_id(alert.id, playbook.id, alert.severity.value),
        alert_id=alert.id,
        playbook_id=playbook.id,
        alert=alert,
        why=why,
        actions=tuple(
            {name: params.model_dump(by_alias=True, mode="json")} for name, params in steps
        ),
        diff=diff,
        approval=playbook.approval,
        needs_approval=guardrail_reasons(playbook, diff) + proposal.stopped,
        shadow=shadow or playbook.shadow,
        rollback=playbook.rollback,
        notifications=proposal.notifications,
        old_routes=old_routes,
        new_routes=new_routes,
        moves=proposal.moves,
        stock=proposal.stock,
        replan_stopped=proposal.stopped,
        constraints={
            "avoid": sorted(whatif.avoid),
            "capacity_pct": dict(whatif.capacity_pct),
            "delay_days": dict(whatif.delay_days),
            "clearance_days": dict(whatif.clearance_days),
        },
        created_at=ctx.now,
        updated_at=ctx.now,
    )


def opening_moves(incident: Incident, *, at: datetime) -> tuple[Incident, list[AuditEntry]]:
    """The audit trail of a new incident and the engine's own decision on it.

    Shadow: recorded as `shadowed`. `approval: auto` with no guardrail tripped: `auto_approved`.
    Otherwise it stays `proposed`, waiting for a person.
    """
    log = [created(incident)]
    if incident.shadow:
        incident, entry = transition(
            incident, S.shadowed, at=at, why="shadow mode: recorded, not applied"
        )
        log.append(entry)
    else:
        incident, decided = auto_approval(incident, at=at)
        log += decided
    return incident, log


def auto_approval(incident: Incident, *, at: datetime) -> tuple[Incident, list[AuditEntry]]:
    """The engine's own approval: `approval: auto` with no guardrail tripped is `auto_approved`
    (with its audit entry); anything else stays as it is, waiting for a person."""
    if incident.approval != "auto" or incident.needs_approval:
        return incident, []
    incident, entry = transition(
        incident, S.auto_approved, at=at, why="approval: auto, within guardrails"
    )
    return incident, [entry]


def apply(
    incident: Incident, effector: Effector, *, at: datetime, by: str = SYSTEM
) -> tuple[Incident, AuditEntry]:
    """Carry out an approved incident's actions, in playbook order, and mark it applied. The
    engine applies (`by` is normally `system`); the audit names who approved it.

    Raises IllegalTransition (before touching anything) unless it is approved or auto-approved.
    """
    approval = f", approved by {incident.decided_by}" if incident.decided_by else ""
    moved, entry = transition(
        incident,
        S.applied,
        at=at,
        by=by,
        why=f"{len(incident.diff.changes)} shipments re-routed or held{approval}",
    )
    for action in incident.actions:
        ((name, raw),) = action.items()
        step = REGISTRY[name]
        step.apply(step.params.model_validate(raw), incident, effector, at)
    return moved, entry


@dataclass(frozen=True)
class RollbackPlan:
    """What rolling back does: shipments restored to their earlier routes, and those kept."""

    restore: dict[str, tuple[Assignment, ...]]
    kept: tuple[str, ...]  # past the point of no return: they stay on the new route


def plan_rollback(incident: Incident, now: datetime) -> RollbackPlan:
    """Which shipments can go back to their earlier routes at `now`.

    Point of no return: a shipment is restorable while `now` is before the departure of the
    first leg where its new route left the old one (ShipmentChange.no_return_at). A held
    shipment is always restorable (it never left).
    """
    old: dict[str, list[Assignment]] = {}
    for assignment in incident.old_routes:
        old.setdefault(assignment.shipment, []).append(assignment)
    restore: dict[str, tuple[Assignment, ...]] = {}
    kept: list[str] = []
    for change in incident.diff.changes:
        if change.held or change.no_return_at is None or now < change.no_return_at:
            restore[change.shipment] = tuple(old.get(change.shipment, ()))
        else:
            kept.append(change.shipment)
    return RollbackPlan(restore, tuple(kept))


def rollback(
    incident: Incident,
    effector: Effector,
    *,
    at: datetime,
    by: str = SYSTEM,
    why: str = "",
) -> tuple[Incident, AuditEntry, RollbackPlan]:
    """Restore the earlier routes an applied incident may still restore, and lift its constraints."""
    plan = plan_rollback(incident, at)
    reason = why or "alert cleared"
    reason += f"; restored {len(plan.restore)}, kept {len(plan.kept)} past the point of no return"
    moved, entry = transition(incident, S.rolled_back, at=at, by=by, why=reason)
    effector.release(incident.id)
    for sid, routes in plan.restore.items():
        effector.set_routes(sid, routes)
    for move in incident.moves:
        if move.no_return_at is not None and at >= move.no_return_at:
            continue  # its freight has left on the new way: it stays
        # A created shipment is removed; a changed one gets its old record back.
        if move.replaced is None:
            effector.unbook(move.shipment)
        else:
            effector.book(move.replaced)
        if move.parent_replaced is not None:
            effector.book(move.parent_replaced)
    return moved, entry, plan


def stale(incident: Incident, *, now: datetime, playbook: Playbook) -> bool:
    """A proposed incident nobody decided on within the playbook's `expire_after`."""
    return incident.state is S.proposed and now - incident.created_at >= playbook.expire_after_td


def after_clear(
    incident: Incident,
    effector: Effector,
    *,
    at: datetime,
) -> tuple[Incident, list[AuditEntry]]:
    """What the engine does to an incident when its alert clears.

    Not yet applied: it expires (nothing to do any more). Applied with `rollback: on_clear`:
    rolled back (see `rollback`), except an answer to a stock alert: what it changed (stock
    moves, freight sped up) is what refills the shelf and clears the alert, and rolling it back
    would empty the shelf again with the alert cleared. Otherwise (final, or
    `rollback: never`): unchanged.
    """
    if incident.state in (S.proposed, S.approved, S.auto_approved):
        moved, entry = transition(
            incident, S.expired, at=at, why="alert cleared before it was applied"
        )
        return moved, [entry]
    refills = incident.alert.dimension == STOCK_DIMENSION
    if incident.state is S.applied and incident.rollback == "on_clear" and not refills:
        moved, entry, _ = rollback(incident, effector, at=at, why="alert cleared")
        return moved, [entry]
    return incident, []
