"""Typed outcomes of planning: a plan's routes (with timed legs), unserved units and status."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict


class PlanStatus(StrEnum):
    optimal = "optimal"
    feasible = "feasible"  # a solution exists but optimality was not proven (e.g. time limit)
    infeasible = "infeasible"
    time_limit = "time_limit"  # stopped with no usable solution
    error = "error"

    @property
    def applicable(self) -> bool:
        """Only a proven optimum is ever applied to live freight."""
        return self is PlanStatus.optimal


# A re-plan's outcome as a playbook proposal or incident carries it: the worst status of its
# planning calls, or "none" when no action planned. Best first.
ProposalStatus = Literal["none", "optimal", "feasible", "time_limit", "infeasible", "error"]
PROPOSAL_STATUSES: tuple[ProposalStatus, ...] = get_args(ProposalStatus)


def worse_status(current: ProposalStatus, planned: PlanStatus) -> ProposalStatus:
    """The worse of a proposal's status so far and one more planning call's: one bad solve
    blocks applying the whole proposal."""
    outcome = next(s for s in PROPOSAL_STATUSES if s == planned.value)
    return max(current, outcome, key=PROPOSAL_STATUSES.index)


class Leg(BaseModel):
    """One lane of a route, with when the freight starts it and reaches its far end."""

    model_config = ConfigDict(frozen=True)

    lane: str
    from_node: str
    to_node: str
    depart_at: datetime
    arrive_at: datetime


class Assignment(BaseModel):
    """Units of one shipment sent along one route."""

    model_config = ConfigDict(frozen=True)

    shipment: str
    units: float
    legs: tuple[Leg, ...]
    eta: datetime
    cost: float
    late_days: float

    @property
    def path(self) -> list[str]:
        return [leg.lane for leg in self.legs]


# One shipment's routes: an assignment per part it is split into (usually one).
Routes = tuple[Assignment, ...]

# A route as (lane id, departure time) legs, in order: where a re-plan may start from.
StartRoute = tuple[tuple[str, datetime], ...]


def as_start_routes(routes: Routes) -> tuple[StartRoute, ...]:
    """The routes of a shipment as start routes (see PlanRequest.start_routes)."""
    return tuple(tuple((leg.lane, leg.depart_at) for leg in a.legs) for a in routes if a.legs)


def start_routes_by_shipment(
    assignments: Iterable[Assignment],
) -> dict[str, tuple[StartRoute, ...]]:
    """Per shipment, the routes `assignments` give it, as start routes."""
    found: dict[str, list[Assignment]] = {}
    for a in assignments:
        found.setdefault(a.shipment, []).append(a)
    return {sid: as_start_routes(tuple(parts)) for sid, parts in found.items()}


class Unserved(BaseModel):
    model_config = ConfigDict(frozen=True)

    shipment: str
    units: float
    reason: str


class CostBreakdown(BaseModel):
    model_config = ConfigDict(frozen=True)

    transport: float = 0.0
    lateness: float = 0.0
    risk: float = 0.0
    unserved: float = 0.0

    @property
    def total(self) -> float:
        return self.transport + self.lateness + self.risk + self.unserved


class Plan(BaseModel):
    """A routing plan: its status, what it costs, where each shipment goes, what is unserved.

    Only a plan whose `status.applicable` is true may be applied to live freight.
    """

    model_config = ConfigDict(frozen=True)

    status: PlanStatus
    objective: float | None
    cost: CostBreakdown
    # The best proven lower bound on any plan's cost; `objective - lower_bound` is the gap a
    # `feasible` plan may still leave (None when no bound was proven).
    lower_bound: float | None = None
    assignments: tuple[Assignment, ...] = ()
    unserved: tuple[Unserved, ...] = ()
    timing: dict[str, float] = {}
    message: str = ""

    @property
    def gap(self) -> float | None:
        """Proven absolute gap: objective - lower bound (0 for a proven optimum)."""
        if self.objective is None or self.lower_bound is None:
            return None
        return max(0.0, self.objective - self.lower_bound)

    def for_shipment(self, shipment: str) -> list[Assignment]:
        return [a for a in self.assignments if a.shipment == shipment]

    def to_document(self) -> dict[str, object]:
        """The SPEC's `twin plan --json` document."""
        from twin.domain.durations import format_timestamp

        return {
            "status": self.status.value,
            "objective": self.objective,
            "lower_bound": self.lower_bound,
            "gap": self.gap,
            "cost": {
                "transport": self.cost.transport,
                "lateness": self.cost.lateness,
                "risk": self.cost.risk,
                "unserved": self.cost.unserved,
            },
            "assignments": [
                {
                    "shipment": a.shipment,
                    "units": a.units,
                    "path": a.path,
                    "eta": format_timestamp(a.eta),
                    "cost": a.cost,
                    "late_days": int(a.late_days)
                    if float(a.late_days).is_integer()
                    else a.late_days,
                }
                for a in self.assignments
            ],
            "unserved": [
                {"shipment": u.shipment, "units": u.units, "reason": u.reason}
                for u in self.unserved
            ],
            "timing": dict(self.timing),
        }


class RouteChange(BaseModel):
    """How one shipment's routing changes between two plans.

    A shipment split over several routes has several paths; its ETA is when its last unit
    arrives and its late days those of its latest unit. Deltas are new minus old; a positive
    `late_days_avoided` means the new plan is that many days less late.
    """

    model_config = ConfigDict(frozen=True)

    shipment: str
    old_paths: tuple[tuple[str, ...], ...]
    new_paths: tuple[tuple[str, ...], ...]
    old_cost: float
    new_cost: float
    cost_delta: float
    old_eta: datetime | None
    new_eta: datetime | None
    eta_delta_days: float | None
    old_late_days: float
    new_late_days: float
    late_days_avoided: float
    old_unserved: float = 0.0
    new_unserved: float = 0.0

    @property
    def rerouted(self) -> bool:
        return self.old_paths != self.new_paths


class ReplanDiff(BaseModel):
    """Per-shipment changes from a current plan to a re-plan, and their totals."""

    model_config = ConfigDict(frozen=True)

    changes: tuple[RouteChange, ...]
    cost_delta: float
    late_days_avoided: float

    @property
    def rerouted(self) -> list[str]:
        return [c.shipment for c in self.changes if c.rerouted]
