"""The re-planner: build a routing model, solve it with HiGHS, extract a plan (L1 pure core)."""

from __future__ import annotations

from twin.domain.plans import Plan
from twin.optimise.build import PlanModel, build
from twin.optimise.extract import extract
from twin.optimise.pipeline import plan
from twin.optimise.request import PlanRequest, Position, SolveOptions
from twin.optimise.solve import SolveResult, solve

__all__ = [
    "Plan",
    "PlanModel",
    "PlanRequest",
    "Position",
    "SolveOptions",
    "SolveResult",
    "build",
    "extract",
    "plan",
    "solve",
]
