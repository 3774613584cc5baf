"""CO2e of a leg, an assignment and a plan; the carbon cost the planner weighs.

Pure (no I/O, no clock). ISO 14083 transport activity: tonne-km = tonnes x distance; emissions
= tonne-km x intensity (g CO2e per tonne-km). Tonnes come from the network's unit: cbm (or m3)
by the shipment density, kg and t directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from twin.domain.plans import Assignment, Plan
from twin.domain.records import Lane, Network, Shipment
from twin.emissions.table import EmissionTable, IntensityClass, Scope
from twin.network.geo import has_coordinates, node_distance_km

VOLUME_UNITS = frozenset({"cbm", "m3"})
TONNES_PER_UNIT = {"t": 1.0, "tonne": 1.0, "tonnes": 1.0, "kg": 0.001}


@dataclass(frozen=True, slots=True)
class LaneFactor:
    """What one unit-free tonne on a lane emits, and how the figure was found."""

    lane: str
    mode: str
    distance_km: float | None  # None: no distance and no coordinates to estimate one
    distance_estimated: bool  # great circle x circuity, not the lane's own distance
    g_per_tkm: float | None  # None: no intensity for this lane
    scope: Scope | None
    intensity_from: str  # "lane", "class:<name>", "trade_lane:<name>" or "none"
    ttw_g_per_tkm: float | None = None  # the class's tank-to-wheel part, when published

    @property
    def kg_per_tonne(self) -> float | None:
        if self.distance_km is None or self.g_per_tkm is None:
            return None
        return self.distance_km * self.g_per_tkm / 1000.0

    @property
    def ttw_kg_per_tonne(self) -> float | None:
        """Tank-to-wheel kg CO2e per tonne on this lane (None: no TTW figure or no distance)."""
        if self.distance_km is None or self.ttw_g_per_tkm is None:
            return None
        return self.distance_km * self.ttw_g_per_tkm / 1000.0


@dataclass(frozen=True, slots=True)
class LegEmission:
    lane: str
    mode: str
    tonnes: float
    distance_km: float | None
    tonne_km: float | None
    g_per_tkm: float | None
    scope: Scope | None
    co2e_kg: float | None  # None: unknown (no intensity or no distance)
    distance_estimated: bool
    ttw_co2e_kg: float | None = None  # the tank-to-wheel part; None where no TTW is published


def tonnes_per_unit(unit: str, kg_per_cbm: float) -> float:
    """Tonnes in one network unit: cbm by density, kg and t directly (ValueError otherwise)."""
    key = unit.strip().lower()
    if key in VOLUME_UNITS:
        return kg_per_cbm / 1000.0
    if key in TONNES_PER_UNIT:
        return TONNES_PER_UNIT[key]
    raise ValueError(f"network unit '{unit}' is neither a volume (cbm) nor a mass (kg, t)")


def lane_factor(lane: Lane, network: Network, table: EmissionTable) -> LaneFactor:
    """The lane's distance (its own, else great circle x the mode's circuity, estimated) and
    intensity (its own `co2e_g_per_tkm`, else its `emission_class`, else the trade lane it
    sails on, else the mode's default class)."""
    km: float | None = lane.distance_km
    estimated = False
    if km is None:
        nodes = network.node_by_id
        a, b = nodes.get(lane.from_), nodes.get(lane.to)
        if a is not None and b is not None and has_coordinates(a) and has_coordinates(b):
            km = node_distance_km(a, b) * table.circuity[lane.mode]
            estimated = True
    if lane.co2e_g_per_tkm is not None:
        return LaneFactor(
            lane.id, lane.mode.value, km, estimated, lane.co2e_g_per_tkm, None, "lane"
        )
    entry = table.modes[lane.mode]
    trade = None if lane.emission_class else _trade_lane(lane, network, table)
    if trade is not None:
        cls: IntensityClass | None = table.trade_lane_class(trade)
        found_from = f"trade_lane:{trade}"
    else:
        name = lane.emission_class or entry.default_class
        cls, found_from = entry.classes.get(name), f"class:{name}"
    found = cls.intensity() if cls is not None else None
    if cls is None or found is None:
        return LaneFactor(lane.id, lane.mode.value, km, estimated, None, None, "none")
    g, scope = found
    return LaneFactor(lane.id, lane.mode.value, km, estimated, g, scope, found_from, cls.ttw)


def _trade_lane(lane: Lane, network: Network, table: EmissionTable) -> str | None:
    """The table's trade lane this lane sails on (by its ends' ports or countries), if any."""
    if not table.trade_lanes:
        return None
    nodes = network.node_by_id
    a, b = nodes.get(lane.from_), nodes.get(lane.to)
    if a is None or b is None:
        return None
    return table.trade_lane_for(lane.mode, (a.id, a.country), (b.id, b.country))


class Emissions:
    """CO2e of plans on one network with one table; lane factors computed once."""

    def __init__(self, network: Network, table: EmissionTable):
        self.network = network
        self.table = table
        self._factors: dict[str, LaneFactor] = {}
        self._per_unit: dict[float, float] = {}  # tonnes per network unit, by density

    def factor(self, lane_id: str) -> LaneFactor | None:
        if lane_id not in self._factors:
            lane = self.network.lane_by_id.get(lane_id)
            if lane is None:
                return None
            self._factors[lane_id] = lane_factor(lane, self.network, self.table)
        return self._factors[lane_id]

    def tonnes(self, units: float, shipment: Shipment | None) -> float:
        density = self.table.default_kg_per_cbm
        if shipment is not None and shipment.kg_per_cbm is not None:
            density = shipment.kg_per_cbm
        per_unit = self._per_unit.get(density)
        if per_unit is None:
            per_unit = self._per_unit[density] = tonnes_per_unit(self.network.unit, density)
        return units * per_unit

    def leg(self, lane_id: str, tonnes: float) -> LegEmission:
        f = self.factor(lane_id)
        if f is None:
            return LegEmission(lane_id, "", tonnes, None, None, None, None, None, False)
        tkm = None if f.distance_km is None else tonnes * f.distance_km
        co2e = None if tkm is None or f.g_per_tkm is None else tkm * f.g_per_tkm / 1000.0
        ttw = None if tkm is None or f.ttw_g_per_tkm is None else tkm * f.ttw_g_per_tkm / 1000.0
        return LegEmission(
            lane_id, f.mode, tonnes, f.distance_km, tkm, f.g_per_tkm, f.scope, co2e,
            f.distance_estimated, ttw,
        )  # fmt: skip

    def path(
        self, lanes: Iterable[str], units: float, shipment: Shipment | None
    ) -> list[LegEmission]:
        tonnes = self.tonnes(units, shipment)
        return [self.leg(lane, tonnes) for lane in lanes]

    def assignment(self, a: Assignment, shipment: Shipment | None) -> list[LegEmission]:
        return self.path(a.path, a.units, shipment)

    def plan(self, plan: Plan, shipments: Mapping[str, Shipment]) -> PlanEmissions:
        per = [self.assignment(a, shipments.get(a.shipment)) for a in plan.assignments]
        return PlanEmissions(tuple(tuple(legs) for legs in per))

    def carbon_cost_per_unit(self, price_per_tonne_co2e: float) -> dict[str, float]:
        """Money per network unit per lane at a carbon price: distance x intensity x the
        default density x price (linear in the units, so the planner stays an LP). Lanes
        with no known CO2e cost nothing extra."""
        per_unit_t = tonnes_per_unit(self.network.unit, self.table.default_kg_per_cbm)
        out: dict[str, float] = {}
        if price_per_tonne_co2e <= 0:
            return out
        for lane in self.network.lanes:
            kg = (self.factor(lane.id) or _NO_FACTOR).kg_per_tonne
            if kg is not None and kg > 0:
                out[lane.id] = kg * per_unit_t / 1000.0 * price_per_tonne_co2e
        return out


_NO_FACTOR = LaneFactor("", "", None, False, None, None, "none")


@dataclass(frozen=True)
class PlanEmissions:
    """Per assignment (in plan order), its legs' emissions."""

    legs: tuple[tuple[LegEmission, ...], ...]

    def assignment_kg(self, i: int) -> float:
        return sum(leg.co2e_kg or 0.0 for leg in self.legs[i])

    @property
    def total_kg(self) -> float:
        return sum(self.assignment_kg(i) for i in range(len(self.legs)))

    @property
    def unknown_lanes(self) -> list[str]:
        """Lanes used whose CO2e is unknown (no intensity or no distance); not in the totals."""
        return sorted({leg.lane for legs in self.legs for leg in legs if leg.co2e_kg is None})

    @property
    def estimated_lanes(self) -> list[str]:
        return sorted({leg.lane for legs in self.legs for leg in legs if leg.distance_estimated})

    def scopes(self) -> list[str]:
        return sorted({leg.scope for legs in self.legs for leg in legs if leg.scope is not None})


def routes_co2e_kg(
    emissions: Emissions, routes: Iterable[Assignment], shipment: Shipment | None
) -> float:
    """Known CO2e of one shipment's routes (its assignments in a plan): the sum of what
    `emissions.assignment` gives each leg, by the same arithmetic, without building the legs
    (a re-plan's incident asks it for tens of thousands of shipments)."""
    total = 0.0
    for a in routes:
        tonnes = emissions.tonnes(a.units, shipment)
        for leg in a.legs:
            f = emissions.factor(leg.lane)
            if f is None or f.distance_km is None or f.g_per_tkm is None:
                continue
            total += tonnes * f.distance_km * f.g_per_tkm / 1000.0
    return total


def annotate_plan_document(
    doc: dict[str, Any],
    emissions: PlanEmissions,
    carbon_cost_per_unit: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Add CO2e to a `twin plan --json` document: `cost.co2e_kg`, each assignment's `co2e_kg`,
    and `emissions` (scopes, lanes with estimated distance, lanes with unknown CO2e).

    With a carbon price, the money the objective charged for it (units x the lanes' adders)
    moves from `cost.transport` to `cost.carbon`, so transport stays what freight costs."""
    cost = dict(doc.get("cost") or {})
    cost["co2e_kg"] = round(emissions.total_kg, 3)
    if carbon_cost_per_unit:
        carbon = sum(
            float(a["units"]) * sum(carbon_cost_per_unit.get(lane, 0.0) for lane in a["path"])
            for a in doc.get("assignments") or []
        )
        cost["transport"] = float(cost.get("transport", 0.0)) - carbon
        cost["carbon"] = carbon
    doc["cost"] = cost
    doc["assignments"] = [
        {**a, "co2e_kg": round(emissions.assignment_kg(i), 3)}
        for i, a in enumerate(doc.get("assignments") or [])
    ]
    doc["emissions"] = {
        "scopes": emissions.scopes(),
        "estimated_distance_lanes": emissions.estimated_lanes,
        "unknown_lanes": emissions.unknown_lanes,
    }
    return doc
