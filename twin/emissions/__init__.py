"""CO2e on every leg (ISO 14083 / GLEC terms): the intensity table, leg and plan emissions,
the carbon cost the planner weighs, and the ESG report. Pure: no I/O, no clock."""

from twin.emissions.legs import (
    Emissions,
    LaneFactor,
    LegEmission,
    PlanEmissions,
    annotate_plan_document,
    lane_factor,
    routes_co2e_kg,
    tonnes_per_unit,
)
from twin.emissions.table import EmissionTable, IntensityClass, Scope

__all__ = [
    "EmissionTable",
    "Emissions",
    "IntensityClass",
    "LaneFactor",
    "LegEmission",
    "PlanEmissions",
    "Scope",
    "annotate_plan_document",
    "lane_factor",
    "routes_co2e_kg",
    "tonnes_per_unit",
]
