"""The re-plan budget is a deadline for the whole pass: it runs from when the pass began, the
re-plans share what is left of it (less the time kept for writing back what they change), and
the alert with the most at stake is re-planned first, with the larger share."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from tests.engine.test_engine import NOW as MINI_NOW
from tests.engine.test_engine import _closure_signals, _engine
from tests.engine.test_replan_budget import FakeClock, SpyReplanner, _call
from twin.domain.plans import Plan, PlanStatus
from twin.domain.records import Network, Shipment
from twin.domain.signals import Signal
from twin.engine.engine import (
    EQUAL_PART,
    TAIL_SECONDS,
    TAIL_SECONDS_PER_SHIPMENT,
    Engine,
    EngineSettings,
)
from twin.feeds.ingest import ingest_signals
from twin.files.playbooks import load_playbooks
from twin.network.graph import NetworkView
from twin.playbook.actions import OptimiseReplanner, ReplanBudget

NOW = datetime(2024, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
LIBRARY = Path(__file__).resolve().parents[2] / "playbooks"

# Two trades, each through a chokepoint of its own with a dearer way round: Shenzhen to Venlo
# through NORTH (or SOUTH), Shenzhen to New Jersey through EAST (or WEST).
NETWORK = """\
name: two-trades
nodes:
  - {id: CN-SZ, kind: origin, country: CN, lat: 22.54, lon: 114.06}
  - {id: CNYTN, kind: port, country: CN, lat: 22.57, lon: 114.28}
  - {id: NORTH, kind: chokepoint, lat: 1.43, lon: 102.89}
  - {id: SOUTH, kind: chokepoint, lat: -6.0, lon: 105.8}
  - {id: EAST, kind: chokepoint, lat: 9.08, lon: -79.68}
  - {id: WEST, kind: chokepoint, lat: -52.6, lon: -69.3}
  - {id: NLRTM, kind: port, country: NL, lat: 51.95, lon: 4.14}
  - {id: NL-VENLO, kind: warehouse, country: NL, lat: 51.37, lon: 6.17}
  - {id: USNYC, kind: port, country: US, lat: 40.68, lon: -74.04}
  - {id: US-NJ, kind: warehouse, country: US, lat: 40.73, lon: -74.17}
lanes:
  - {id: SZ-YTN, from: CN-SZ, to: CNYTN, mode: road, transit_days: 1, cost_per_unit: 4}
  - {id: YTN-RTM-NORTH, from: CNYTN, to: NLRTM, mode: sea, transit_days: 30, cost_per_unit: 60, via: [NORTH]}
  - {id: YTN-RTM-SOUTH, from: CNYTN, to: NLRTM, mode: sea, transit_days: 32, cost_per_unit: 68, via: [SOUTH]}
  - {id: RTM-VENLO, from: NLRTM, to: NL-VENLO, mode: road, transit_days: 1, cost_per_unit: 8}
  - {id: YTN-NYC-EAST, from: CNYTN, to: USNYC, mode: sea, transit_days: 30, cost_per_unit: 50, via: [EAST]}
  - {id: YTN-NYC-WEST, from: CNYTN, to: USNYC, mode: sea, transit_days: 33, cost_per_unit: 58, via: [WEST]}
  - {id: NYC-NJ, from: USNYC, to: US-NJ, mode: road, transit_days: 1, cost_per_unit: 6}
"""


def _closures(at: datetime) -> list[Signal]:
    return [
        Signal(ts=at, source="t", dimension="security", target=target, metric=metric, value=value)
        for target in ("NORTH", "EAST")
        for metric, value in (("advisory_level", 4), ("incidents_7d", 8))
    ]


class Recording(OptimiseReplanner):
    """The real re-planner, recording each call's shipments and time limit."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[tuple[str, ...], float | None]] = []

    def replan(self, view: NetworkView, shipments: Sequence[Shipment], **kw: Any) -> Plan:
        self.calls.append((tuple(s.id for s in shipments), kw.get("time_limit_s")))
        return super().replan(view, shipments, **kw)


def test_the_budget_runs_from_the_pass_start_and_keeps_a_reserve() -> None:
    clock = FakeClock()
    # The pass began 10 s ago: of a 30 s budget 20 s are left, 2 s of them kept back.
    budget = ReplanBudget(30.0, clock, started=clock.t - 10.0)
    spy = SpyReplanner(clock, took=1.0, status=PlanStatus.optimal)
    _call(budget.for_alert(spy, 1, fraction=0.5, reserve=2.0))
    assert spy.limits == [9.0]
    # The call took 1 s: the last answer gets all that is left, 30 - 11 - 2 s.
    last = SpyReplanner(clock, took=1.0, status=PlanStatus.optimal)
    _call(budget.for_alert(last, 1, fraction=1.0, reserve=2.0))
    assert last.limits == [17.0]
    # A pass whose deadline has gone by before its re-plans makes none of them.
    late = ReplanBudget(5.0, clock, started=clock.t - 6.0)
    idle = SpyReplanner(clock, took=1.0, status=PlanStatus.optimal)
    wrapped = late.for_alert(idle, 1)
    assert _call(wrapped).status is PlanStatus.time_limit and idle.limits == []
    assert wrapped.stops and "not re-planned" in wrapped.stops[0]


def _closure_pass(engine: Engine, **tick: Any) -> Any:
    engine.ingest(ingest_signals(_closure_signals(MINI_NOW), engine.network).frame)
    for step in range(8):  # the alert rule's `for` needs consecutive passes above the threshold
        report = engine.tick(MINI_NOW + step * timedelta(hours=6), **tick)
        if report.incidents:
            return report
    raise AssertionError("a critical security alert on SUEZ must open an incident")


def test_the_time_the_pass_took_before_its_replans_is_not_theirs() -> None:
    engine = _engine(replan_budget=timedelta(seconds=30))
    engine.replanner = fresh = Recording()
    _closure_pass(engine)
    assert fresh.calls and all(limit is not None and limit > 25 for _, limit in fresh.calls)
    # The same pass, begun 29 s before its tick: what is left is under a second.
    engine = _engine(replan_budget=timedelta(seconds=30))
    engine.replanner = late = Recording()
    report = _closure_pass(engine, started=time.perf_counter() - 29.0)
    assert late.calls and all(limit is not None and limit <= 1.0 for _, limit in late.calls)
    assert report.incidents


def test_the_alert_with_most_at_stake_is_replanned_first_with_the_larger_share() -> None:
    network = Network.model_validate(yaml.safe_load(NETWORK))
    engine = Engine(
        network, load_playbooks(LIBRARY), EngineSettings(replan_budget=timedelta(seconds=60))
    )
    europe = Shipment(
        id="EU",
        origin="CN-SZ",
        destination="NL-VENLO",
        units=100,
        priority="express",
        ready_at=NOW + 3 * DAY,
        due_at=NOW + 45 * DAY,
    )
    america = Shipment(
        id="US",
        origin="CN-SZ",
        destination="US-NJ",
        units=5,
        ready_at=NOW + 3 * DAY,
        due_at=NOW + 45 * DAY,
    )
    assert engine.plan_shipments([europe, america], NOW).status.value == "optimal"
    assert "YTN-RTM-NORTH" in engine.routes["EU"][0].path
    assert "YTN-NYC-EAST" in engine.routes["US"][0].path
    engine.replanner = recording = Recording()
    engine.ingest(ingest_signals(_closures(NOW), network).frame)
    for step in range(8):
        report = engine.tick(NOW + step * timedelta(hours=6))
        if report.incidents:
            break
    paged = [e.alert.target for e in report.events if e.pages]
    assert paged == ["EAST", "NORTH"], "EAST fires first"
    exposed = {e.shipment: e for e in report.exposures}
    assert set(exposed) == {"EU", "US"}
    stake = {
        sid: exposed[sid].expected_delay_days * s.units * s.penalty_per_unit_day
        for sid, s in (("EU", europe), ("US", america))
    }
    assert stake["EU"] > 10 * stake["US"]
    first, *rest = [(ids, limit) for ids, limit in recording.calls if ids in (("EU",), ("US",))]
    assert first[0] == ("EU",), "the freight with most at stake is re-planned first"
    assert rest and rest[0][0] == ("US",)
    # Its share: a fifth of the budget split between the two answers, the rest by stake, less
    # what is kept back for both shipments (the pass had used next to nothing before).
    fraction = EQUAL_PART / 2 + (1 - EQUAL_PART) * stake["EU"] / (stake["EU"] + stake["US"])
    expected = fraction * (60.0 - TAIL_SECONDS - 2 * TAIL_SECONDS_PER_SHIPMENT)
    assert first[1] is not None and expected - 5.0 < first[1] <= expected
    assert {i.alert.target for i in report.incidents} == {"NORTH", "EAST"}
    assert all(engine.incidents[i.id].state.value == "applied" for i in report.incidents)
