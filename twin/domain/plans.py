"""Typed outcomes of planning: a plan's routes (with timed legs), unserved units and status."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

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
