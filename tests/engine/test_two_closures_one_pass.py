"""Two chokepoints close in one pass and the same freight passes both: each alert's incident is
made on top of the one answered before it in the pass, so the freight ends up clear of both.

Hand-built: from Yantian to Rotterdam four sailings pass two of four chokepoints each. The plan
of record takes the cheapest, through NORTH and EAST. Closing NORTH alone, the cheapest way is
through WEST and EAST; closing EAST alone, through NORTH and SOUTH; closing both, only the
dearest sailing (WEST and SOUTH) is clear. Re-planned for each alert on its own, the incident
applied last would put the freight back through the other closed strait.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from twin.domain.records import Network, Shipment
from twin.domain.signals import Signal
from twin.engine.engine import Engine, EngineSettings
from twin.feeds.ingest import ingest_signals
from twin.files.playbooks import load_playbooks

NOW = datetime(2024, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
LIBRARY = Path(__file__).resolve().parents[2] / "playbooks"

NETWORK = """\
name: straits
nodes:
  - {id: CN-SZ, kind: origin, country: CN, lat: 22.54, lon: 114.06}
  - {id: CNYTN, kind: port, country: CN, lat: 22.57, lon: 114.28}
  - {id: NORTH, kind: chokepoint, lat: 1.43, lon: 102.89}
  - {id: WEST, kind: chokepoint, lat: -6.0, lon: 105.8}
  - {id: EAST, kind: chokepoint, lat: 30.58, lon: 32.27}
  - {id: SOUTH, kind: chokepoint, lat: -34.36, lon: 18.47}
  - {id: NLRTM, kind: port, country: NL, lat: 51.95, lon: 4.14}
  - {id: NL-VENLO, kind: warehouse, country: NL, lat: 51.37, lon: 6.17}
lanes:
  - {id: SZ-YTN, from: CN-SZ, to: CNYTN, mode: road, transit_days: 1, cost_per_unit: 4}
  - {id: NORTH-EAST, from: CNYTN, to: NLRTM, mode: sea, transit_days: 30, cost_per_unit: 60, via: [NORTH, EAST]}
  - {id: WEST-EAST, from: CNYTN, to: NLRTM, mode: sea, transit_days: 31, cost_per_unit: 63, via: [WEST, EAST]}
  - {id: NORTH-SOUTH, from: CNYTN, to: NLRTM, mode: sea, transit_days: 32, cost_per_unit: 66, via: [NORTH, SOUTH]}
  - {id: WEST-SOUTH, from: CNYTN, to: NLRTM, mode: sea, transit_days: 33, cost_per_unit: 70, via: [WEST, SOUTH]}
  - {id: RTM-VENLO, from: NLRTM, to: NL-VENLO, mode: road, transit_days: 1, cost_per_unit: 8}
"""


def _closures(at: datetime) -> list[Signal]:
    return [
        Signal(ts=at, source="t", dimension="security", target=target, metric=metric, value=value)
        for target in ("NORTH", "EAST")
        for metric, value in (("advisory_level", 4), ("incidents_7d", 8))
    ]


def test_freight_two_closures_expose_in_one_pass_is_routed_clear_of_both() -> None:
    network = Network.model_validate(yaml.safe_load(NETWORK))
    engine = Engine(network, load_playbooks(LIBRARY), EngineSettings())
    ship = Shipment(
        id="S1",
        origin="CN-SZ",
        destination="NL-VENLO",
        units=40,
        ready_at=NOW + 3 * DAY,
        due_at=NOW + 60 * DAY,
    )
    assert engine.plan_shipments([ship], NOW).status.value == "optimal"
    assert "NORTH-EAST" in engine.routes["S1"][0].path
    engine.ingest(ingest_signals(_closures(NOW), network).frame)
    for step in range(8):  # the alert rule's `for` needs consecutive passes above the threshold
        report = engine.tick(NOW + step * timedelta(hours=6))
        if report.incidents:
            break
    answered = {i.alert.target: i for i in report.incidents}
    assert set(answered) == {"NORTH", "EAST"}, "both closures are answered in the same pass"
    assert all(engine.incidents[i.id].state.value == "applied" for i in report.incidents)
    (route,) = engine.routes["S1"]
    assert "WEST-SOUTH" in route.path, route.path
    assert {"NORTH", "EAST"} <= engine.active_constraints().avoid


def test_closures_the_budget_cut_short_are_replanned_and_applied_by_the_next_pass() -> None:
    network = Network.model_validate(yaml.safe_load(NETWORK))
    settings = EngineSettings(replan_budget=timedelta(microseconds=1))
    engine = Engine(network, load_playbooks(LIBRARY), settings)
    ship = Shipment(
        id="S1",
        origin="CN-SZ",
        destination="NL-VENLO",
        units=40,
        ready_at=NOW + 3 * DAY,
        due_at=NOW + 60 * DAY,
    )
    assert engine.plan_shipments([ship], NOW).status.value == "optimal"
    engine.ingest(ingest_signals(_closures(NOW), network).frame)
    for step in range(8):
        at = NOW + step * timedelta(hours=6)
        report = engine.tick(at)
        if report.incidents:
            break
    assert len(report.incidents) == 2 and len(report.stopped) == 2
    assert all(engine.incidents[i.id].state.value == "proposed" for i in report.incidents)
    assert "NORTH-EAST" in engine.routes["S1"][0].path, "nothing moved while cut short"
    engine.settings = replace(settings, replan_budget=timedelta(minutes=5))
    later = engine.tick(at + timedelta(hours=6))
    assert sorted(e.action for e in later.audit if e.action == "re-propose") == ["re-propose"] * 2
    assert all(engine.incidents[i.id].state.value == "applied" for i in report.incidents)
    (route,) = engine.routes["S1"]
    assert "WEST-SOUTH" in route.path, route.path  # clear of both, as an unbudgeted pass does
