"""A small world for chain tests: the mini network, shipments planned by the real planner, an
in-memory Effector that records what it was told (the store-backed one lives with the engine)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import yaml

from twin.domain.incidents import Notification
from twin.domain.plans import Assignment
from twin.domain.records import Network, Shipment
from twin.network.graph import NetworkView, WhatIf
from twin.optimise import PlanRequest, plan
from twin.playbook.actions import InForce

NOW = datetime(2024, 1, 1, tzinfo=UTC)

MINI = """\
name: mini
nodes:
  - {id: CN-SZ, kind: origin, country: CN, lat: 22.54, lon: 114.06}
  - {id: CNYTN, kind: port, country: CN, lat: 22.57, lon: 114.28, capacity: 6000}
  - {id: SZX, kind: airport, country: CN, lat: 22.64, lon: 113.81}
  - {id: SUEZ, kind: chokepoint, lat: 30.58, lon: 32.27}
  - {id: CAPE_OF_GOOD_HOPE, kind: chokepoint, lat: -34.36, lon: 18.47}
  - {id: NLRTM, kind: port, country: NL, lat: 51.95, lon: 4.14, clearance_days: 1}
  - {id: NLAMS, kind: airport, country: NL, lat: 52.31, lon: 4.76, clearance_days: 1}
  - {id: NL-VENLO, kind: warehouse, tier: fulfillment, country: NL, lat: 51.37, lon: 6.17, capacity: 1500}
lanes:
  - {id: SZ-YTN-ROAD, from: CN-SZ, to: CNYTN, mode: road, transit_days: 1, cost_per_unit: 4}
  - {id: SZ-SZX-ROAD, from: CN-SZ, to: SZX, mode: road, transit_days: 1, cost_per_unit: 5}
  - {id: YTN-RTM-SUEZ, from: CNYTN, to: NLRTM, mode: sea, transit_days: 30, cost_per_unit: 60, capacity: 3000, via: [SUEZ]}
  - {id: YTN-RTM-CAPE, from: CNYTN, to: NLRTM, mode: sea, transit_days: 40, cost_per_unit: 75, capacity: 3000, via: [CAPE_OF_GOOD_HOPE]}
  - {id: SZX-AMS-AIR, from: SZX, to: NLAMS, mode: air, transit_days: 2, cost_per_unit: 900, capacity: 50}
  - {id: RTM-VENLO-ROAD, from: NLRTM, to: NL-VENLO, mode: road, transit_days: 1, cost_per_unit: 8}
  - {id: AMS-VENLO-ROAD, from: NLAMS, to: NL-VENLO, mode: road, transit_days: 1, cost_per_unit: 10}
"""


def mini_network() -> Network:
    return Network.model_validate(yaml.safe_load(MINI))


def shipments() -> dict[str, Shipment]:
    rows = [
        # S1 leaves in 3 days, S2 in 10, S3 departed yesterday (already on the water via Suez).
        Shipment(
            id="S1",
            origin="CN-SZ",
            destination="NL-VENLO",
            units=40,
            ready_at=NOW + timedelta(days=3),
            due_at=NOW + timedelta(days=45),
        ),
        # The chain's numbers were worked out with this penalty; fixed here, not the default.
        Shipment(
            id="S2",
            origin="CN-SZ",
            destination="NL-VENLO",
            units=20,
            priority="express",
            late_penalty_per_unit_day=15.0,
            ready_at=NOW + timedelta(days=10),
            due_at=NOW + timedelta(days=48),
        ),
        Shipment(
            id="S3",
            origin="CN-SZ",
            destination="NL-VENLO",
            units=10,
            ready_at=NOW - timedelta(days=5),
            due_at=NOW + timedelta(days=40),
        ),
    ]
    return {s.id: s for s in rows}


def plan_of_record(
    network: Network, ships: dict[str, Shipment]
) -> dict[str, tuple[Assignment, ...]]:
    """Every shipment's routes from the real planner on the untouched network, planned at its
    ready time (so S3's first legs lie in the past)."""
    out: dict[str, tuple[Assignment, ...]] = {}
    for sid, ship in ships.items():
        made = plan(
            NetworkView(network), PlanRequest(now=min(ship.ready_at, NOW), shipments=(ship,))
        )
        assert made.status.value == "optimal", made.message
        out[sid] = tuple(made.for_shipment(sid))
    return out


@dataclass
class MemoryEffector:
    """Test double of the engine's Effector: keeps routes, holds and constraints in dicts."""

    routes: dict[str, tuple[Assignment, ...]]
    constraints: dict[str, WhatIf] = field(default_factory=dict)
    holds: dict[str, str] = field(default_factory=dict)
    sent: list[tuple[str, Notification]] = field(default_factory=list)

    def keep(self, item: InForce) -> None:
        if item.holds:
            self.holds[item.target] = item.until
        else:
            merged = self.constraints.get(item.incident, WhatIf()).merged(item.whatif)
            self.constraints[item.incident] = merged

    def release(self, incident_id: str) -> None:
        self.constraints.pop(incident_id, None)
        self.holds.clear()

    def set_routes(self, shipment: str, routes: tuple[Assignment, ...]) -> None:
        self.routes[shipment] = routes

    def notify(self, incident_id: str, notification: Notification) -> None:
        self.sent.append((incident_id, notification))
