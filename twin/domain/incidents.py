"""Typed records of on-call work: incidents, their states, plan diffs, audit entries, notifications."""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from twin.domain.alerts import Alert, Zoned
from twin.domain.plans import Assignment, ProposalStatus
from twin.domain.stock import StockImpact, StockMove


class IncidentState(StrEnum):
    """Where an incident is in its life (the allowed moves live in twin.playbook.incidents)."""

    proposed = "proposed"  # computed, waiting for approval (or for the auto path)
    approved = "approved"  # an on-call person said yes
    auto_approved = "auto_approved"  # the playbook is `approval: auto` and no guardrail tripped
    applied = "applied"  # the new routes are the plan of record
    rolled_back = "rolled_back"  # earlier routes restored (those not past the point of no return)
    rejected = "rejected"  # an on-call person said no
    expired = "expired"  # the alert cleared (or the plan went stale) before it was applied
    shadowed = "shadowed"  # shadow mode: recorded what would have happened, applied nothing

    @property
    def terminal(self) -> bool:
        return self in (
            IncidentState.rolled_back,
            IncidentState.rejected,
            IncidentState.expired,
            IncidentState.shadowed,
        )


class ShipmentChange(BaseModel):
    """One shipment in a proposed plan: old path -> new path and what it changes.

    held: the shipment is kept at its current node until the risk clears (new_path empty).
    no_return_at: the departure of the first changed leg on the old route; after it the
        change can no longer be rolled back (the freight has left on the new route).
    late_days_avoided: late days the old route would suffer under the risk (its own lateness
        plus the expected delay the alert brings) minus the new route's late days.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    shipment: str
    units: float
    action: str
    old_path: tuple[str, ...]
    new_path: tuple[str, ...]
    held: bool = False
    old_cost: float = 0.0
    new_cost: float = 0.0
    old_eta: Zoned | None = None
    new_eta: Zoned | None = None
    eta_delta_days: float = 0.0
    late_days_avoided: float = 0.0
    no_return_at: Zoned | None = None
    # Known CO2e (kg, docs/emissions.md) of the shipment's routes before and after.
    old_co2e_kg: float = 0.0
    new_co2e_kg: float = 0.0

    @property
    def cost_delta(self) -> float:
        return self.new_cost - self.old_cost

    @property
    def co2e_delta_kg(self) -> float:
        return self.new_co2e_kg - self.old_co2e_kg


class PlanDiff(BaseModel):
    """A proposed plan as per-shipment changes, with its status and cost in one place.

    status: the planner's outcome (`optimal`, `infeasible`, ...; `none` when no planner ran).
    Only an `optimal` (or planner-free) diff is ever applied.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    changes: tuple[ShipmentChange, ...] = ()
    status: ProposalStatus = "none"
    unserved: tuple[str, ...] = ()

    @property
    def old_cost(self) -> float:
        return sum(change.old_cost for change in self.changes)

    @property
    def cost_delta(self) -> float:
        return sum(change.cost_delta for change in self.changes)

    @property
    def cost_increase_pct(self) -> float:
        """Cost delta as a percentage of what the changed shipments cost before (0 if nothing)."""
        base = self.old_cost
        if base <= 0:
            return 0.0 if self.cost_delta <= 0 else float("inf")
        return 100.0 * self.cost_delta / base

    @property
    def late_days_avoided(self) -> float:
        return sum(change.late_days_avoided * change.units for change in self.changes)

    @property
    def old_co2e_kg(self) -> float:
        return sum(change.old_co2e_kg for change in self.changes)

    @property
    def co2e_delta_kg(self) -> float:
        return sum(change.co2e_delta_kg for change in self.changes)

    @property
    def co2e_increase_pct(self) -> float:
        """CO2e delta as a percentage of the changed shipments' CO2e before (0 if nothing)."""
        base = self.old_co2e_kg
        if base <= 0:
            return 0.0 if self.co2e_delta_kg <= 0 else float("inf")
        return 100.0 * self.co2e_delta_kg / base

    @property
    def applicable(self) -> bool:
        return self.status in ("optimal", "none") and not self.unserved

    def summary(self) -> dict[str, Any]:
        pct = self.cost_increase_pct
        co2e = self.co2e_increase_pct
        return {
            "shipments": len(self.changes),
            "status": self.status,
            "cost_delta": round(self.cost_delta, 2),
            "cost_increase_pct": None if pct == float("inf") else round(pct, 2),
            "late_unit_days_avoided": round(self.late_days_avoided, 2),
            "co2e_delta_kg": round(self.co2e_delta_kg, 2),
            "co2e_increase_pct": None if co2e == float("inf") else round(co2e, 2),
            "unserved": list(self.unserved),
        }


class Notification(BaseModel):
    """A message a playbook wants sent (rendered at proposal time, sent on apply)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: str
    summary: str
    severity: str = "warn"
    labels: dict[str, str] = Field(default_factory=dict)


def incident_id(alert_id: str, playbook_id: str, severity: str = "warn") -> str:
    """The one id of the incident of (alert episode, playbook, severity): the same on every
    re-evaluation; an escalation of the episode gets an incident of its own."""
    digest = hashlib.sha256(f"{alert_id}\x00{playbook_id}\x00{severity}".encode()).hexdigest()[:12]
    return f"INC-{digest}"


class Incident(BaseModel):
    """One (alert episode, playbook) pair: why it fired, what it proposes, and where it stands.

    why: the alert's explanation plus the match reason. needs_approval: the reasons an `auto`
    playbook waits for a person (guardrails tripped, plan not optimal), empty if none.
    actions: the rendered actions (name + parameters after templating), in playbook order.
    Routes are kept whole (timed legs) so an incident can be applied or rolled back after a
    restart from what is stored alone. stock: per warehouse x SKU its changed shipments feed,
    units / days short and margin at risk before and after the plan (when stock is monitored).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    alert_id: str
    playbook_id: str
    alert: Alert
    why: str
    state: IncidentState = IncidentState.proposed
    actions: tuple[dict[str, Any], ...] = ()
    diff: PlanDiff = Field(default_factory=PlanDiff)
    approval: str = "required"
    needs_approval: tuple[str, ...] = ()
    shadow: bool = False
    rollback: str = "on_clear"
    notifications: tuple[Notification, ...] = ()
    old_routes: tuple[
        Assignment, ...
    ] = ()  # the plan of record of the changed shipments, for rollback
    new_routes: tuple[Assignment, ...] = ()  # what apply sets (held shipments have none)
    constraints: dict[str, Any] = Field(default_factory=dict)  # the WhatIf the actions set, as data
    created_at: Zoned
    updated_at: Zoned
    decided_by: str | None = None
    comment: str = ""
    stock: tuple[StockImpact, ...] = ()  # what the plan does to the warehouses its freight feeds
    # Stock moves (split, redirect, transfer, replenishment) the optimiser chose: what apply
    # books and rollback undoes (twin.stock.moves).
    moves: tuple[StockMove, ...] = ()
    # Re-plans the pass's re-plan budget cut short, each saying so (also among needs_approval):
    # while its alert fires and it awaits approval, a later pass re-plans it (re-proposed).
    replan_stopped: tuple[str, ...] = ()


class AuditEntry(BaseModel):
    """One state change, as it happened: when, who (a user or `system`), what and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    incident_id: str
    at: Zoned
    actor: str = Field(min_length=1)
    action: str
    from_state: IncidentState | None
    to_state: IncidentState
    why: str = ""


class NotificationAttempt(BaseModel):
    """One try at delivering a notification: where, which try, and what came of it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    incident_id: str | None
    channel: str
    url: str
    format: str  # "webhook" or "alertmanager"
    attempt: int
    at: Zoned
    ok: bool
    status_code: int | None = None
    error: str = ""
