"""The tick's re-plan budget: shared out alert by alert, passed to the planner as a wall-clock
limit, and a re-plan that runs out of it leaves its shipments as they are and says so."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from tests.engine.test_engine import NOW, _closure_signals, _engine
from twin.domain.incidents import IncidentState as S
from twin.domain.plans import Assignment, CostBreakdown, Plan, PlanStatus
from twin.domain.records import Shipment
from twin.engine.engine import Engine, TickReport
from twin.feeds.ingest import ingest_signals
from twin.network.graph import NetworkView
from twin.playbook.actions import OptimiseReplanner, ReplanBudget
from twin.playbook.incidents import transition


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


class SpyReplanner(OptimiseReplanner):
    """Records the time limit it is given, lets `took` seconds pass, returns `status`."""

    def __init__(self, clock: FakeClock, took: float, status: PlanStatus) -> None:
        super().__init__()
        self.clock, self.took, self.status = clock, took, status
        self.limits: list[float | None] = []

    def replan(self, view: NetworkView, shipments: Sequence[Shipment], **kw: Any) -> Plan:
        self.limits.append(kw.get("time_limit_s"))
        self.clock.t += self.took
        return Plan(status=self.status, objective=None, cost=CostBreakdown())


def _call(replanner: Any) -> Plan:
    # The spy reads none of the request.
    made: Plan = replanner.replan(None, [], now=NOW, positions={}, risk_days={}, reserved={})
    return made


def test_each_alert_gets_an_equal_share_of_what_is_left() -> None:
    clock = FakeClock()
    budget = ReplanBudget(30.0, clock)
    first = SpyReplanner(clock, took=2.0, status=PlanStatus.optimal)
    wrapped = budget.for_alert(first, alerts_left=3)
    assert _call(wrapped).status is PlanStatus.optimal
    assert first.limits == [10.0] and wrapped.stops == []
    # 28 s left for two alerts: 14 each; the 8 s the first did not use pass on.
    second = SpyReplanner(clock, took=14.0, status=PlanStatus.time_limit)
    wrapped = budget.for_alert(second, alerts_left=2)
    assert _call(wrapped).status is PlanStatus.time_limit
    assert second.limits == [14.0]
    assert wrapped.stopped is not None and "stopped after 14.0 s" in wrapped.stopped
    assert "14.0 s) of the pass's re-plan budget (30 s" in wrapped.stopped
    # 14 s left for the last alert; a call made once its share is spent is not made at all.
    third = SpyReplanner(clock, took=14.0, status=PlanStatus.optimal)
    wrapped = budget.for_alert(third, alerts_left=1)
    _call(wrapped)
    assert third.limits == [14.0] and wrapped.stops == []
    assert _call(wrapped).status is PlanStatus.time_limit and third.limits == [14.0]
    (stop,) = wrapped.stops
    assert stop == f"0 shipments {wrapped.stopped}" and "not re-planned" in stop


def test_a_plan_that_fails_quickly_is_not_blamed_on_the_budget() -> None:
    clock = FakeClock()
    spy = SpyReplanner(clock, took=1.0, status=PlanStatus.infeasible)
    wrapped = ReplanBudget(60.0, clock).for_alert(spy, alerts_left=1)
    assert _call(wrapped).status is PlanStatus.infeasible and wrapped.stops == []


def _closure_incident(engine: Engine) -> TickReport:
    engine.ingest(ingest_signals(_closure_signals(NOW), engine.network).frame)
    for step in range(8):  # the alert rule's `for` needs consecutive passes above the threshold
        report = engine.tick(NOW + step * timedelta(hours=6))
        if report.incidents:
            return report
    raise AssertionError("a critical security alert on SUEZ must open an incident")


def test_a_spent_budget_leaves_the_shipments_on_their_routes_and_says_so() -> None:
    engine = _engine(replan_budget=timedelta(microseconds=1))
    before = dict(engine.routes)
    report = _closure_incident(engine)
    (incident,) = report.incidents
    assert incident.state.value == "proposed" and incident.diff.status == "time_limit"
    assert incident.diff.changes == () and report.rerouted == {}
    assert dict(engine.routes) == before
    (reason,) = [r for r in incident.needs_approval if "re-plan budget" in r]
    assert reason.startswith("replan: not re-planned: its share")
    assert reason.endswith("its 2 shipments keep their current routes until a person decides")
    assert list(report.stopped) == [incident.id]


def test_a_budget_that_suffices_changes_nothing() -> None:
    unbounded = _closure_incident(_engine()).incidents[0]
    budgeted_report = _closure_incident(_engine(replan_budget=timedelta(minutes=5)))
    budgeted = budgeted_report.incidents[0]
    assert budgeted_report.stopped == {}
    assert budgeted.diff == unbounded.diff and budgeted.needs_approval == unbounded.needs_approval
    assert budgeted.new_routes == unbounded.new_routes


def test_the_planner_gets_the_share_as_a_wall_clock_limit() -> None:
    seen: list[tuple[float | None, bool]] = []

    class Recording(OptimiseReplanner):
        def replan(self, view: NetworkView, shipments: Sequence[Shipment], **kw: Any) -> Plan:
            seen.append((kw.get("time_limit_s"), kw.get("clock") is not None))
            return super().replan(view, shipments, **kw)

    engine = _engine(replan_budget=timedelta(minutes=5))
    engine.replanner = Recording()
    _closure_incident(engine)
    assert seen and all(
        limit is not None and 0 < limit <= 300 and clocked for limit, clocked in seen
    )


def test_a_later_pass_replans_an_incident_the_budget_cut_short() -> None:
    engine = _engine(replan_budget=timedelta(microseconds=1))
    first = _closure_incident(engine)
    (cut,) = first.incidents
    assert cut.replan_stopped and cut.diff.changes == ()
    routes_before = dict(engine.routes)
    # The next pass has time: the incident's freight is re-planned and its plan replaced.
    engine.settings = replace(engine.settings, replan_budget=timedelta(minutes=5))
    later = first.at + timedelta(hours=6)
    report = engine.tick(later)
    (entry,) = [e for e in report.audit if e.action == "re-propose"]
    assert entry.incident_id == cut.id and entry.from_state is entry.to_state is S.proposed
    assert "cut short" in entry.why and "re-planned in full" in entry.why
    again = engine.incidents[cut.id]
    assert again.replan_stopped == () and again.created_at == cut.created_at
    assert not any("re-plan budget" in r for r in again.needs_approval)
    # The same plan as an engine whose budget never ran out (an independent run).
    unbounded = _closure_incident(_engine()).incidents[0]
    assert {c.shipment: c.new_path for c in again.diff.changes} == {
        c.shipment: c.new_path for c in unbounded.diff.changes
    }
    assert again.diff.changes and all("SUEZ" not in c.new_path for c in again.diff.changes)
    assert again.needs_approval == unbounded.needs_approval
    # It waits for a person as that one does (the Cape detour trips the cost guardrail).
    assert again.state is unbounded.state is S.proposed
    assert dict(engine.routes) == routes_before
    # Re-planned once: the pass after leaves it alone.
    assert not [
        e for e in engine.tick(later + timedelta(hours=6)).audit if e.action == "re-propose"
    ]


def test_an_incident_a_person_decided_on_is_not_replanned() -> None:
    engine = _engine(replan_budget=timedelta(microseconds=1))
    first = _closure_incident(engine)
    (cut,) = first.incidents
    rejected, _ = transition(cut, S.rejected, at=first.at, by="alice", why="handled by phone")
    engine._incidents[cut.id] = rejected  # as the store would load it
    engine.settings = replace(engine.settings, replan_budget=timedelta(minutes=5))
    report = engine.tick(first.at + timedelta(hours=6))
    assert not [e for e in report.audit if e.action == "re-propose"]
    assert engine.incidents[cut.id] == rejected and report.rerouted == {}


def test_an_incident_whose_alert_cleared_is_not_replanned() -> None:
    engine = _engine(replan_budget=timedelta(microseconds=1))
    (cut,) = _closure_incident(engine).incidents
    engine.settings = replace(engine.settings, replan_budget=timedelta(minutes=5))
    # Weeks later the signals have aged out: the alert clears and the incident expires.
    report = engine.tick(cut.created_at + timedelta(days=40))
    assert not [e for e in report.audit if e.action == "re-propose"]
    assert engine.incidents[cut.id].state is S.expired


def test_a_budget_that_cuts_a_plan_short_keeps_it_for_the_next_attempt() -> None:
    clock = FakeClock()
    stopped = Plan(
        status=PlanStatus.feasible,
        objective=1.0,
        cost=CostBreakdown(),
        assignments=(
            Assignment(shipment="S1", units=1, legs=(), eta=NOW, cost=1.0, late_days=0.0),
        ),
    )

    class Stopping(OptimiseReplanner):
        def replan(self, view: NetworkView, shipments: Sequence[Shipment], **kw: Any) -> Plan:
            clock.t += kw["time_limit_s"]
            return stopped

    wrapped = ReplanBudget(10.0, clock).for_alert(Stopping(), alerts_left=1)
    assert _call(wrapped) is stopped and wrapped.cut_short == [stopped]
    # A plan that finished in time, or one that stopped with nothing, is not kept.
    quick = ReplanBudget(10.0, clock).for_alert(
        SpyReplanner(clock, took=1.0, status=PlanStatus.feasible), alerts_left=1
    )
    _call(quick)
    spent = ReplanBudget(10.0, clock).for_alert(
        SpyReplanner(clock, took=10.0, status=PlanStatus.time_limit), alerts_left=1
    )
    _call(spent)
    assert quick.cut_short == [] and spent.cut_short == []


def test_a_reproposal_starts_from_the_plan_its_cut_short_attempt_stopped_with() -> None:
    """The first attempt runs out its share with a plan (`feasible`); the re-proposal's
    re-plan gets that plan's routes as start routes, besides the routes in force."""
    calls: list[dict[str, Any]] = []
    first_plan: list[Plan] = []

    class CutOnce(OptimiseReplanner):
        def replan(self, view: NetworkView, shipments: Sequence[Shipment], **kw: Any) -> Plan:
            calls.append(dict(kw.get("start_routes") or {}))
            made = super().replan(view, shipments, **kw)
            if len(calls) > 1:
                return made
            # Made to look cut short: it uses up its share and is not proven.
            time.sleep(kw["time_limit_s"])
            cut = made.model_copy(update={"status": PlanStatus.feasible})
            first_plan.append(cut)
            return cut

    engine = _engine(replan_budget=timedelta(seconds=2))
    engine.replanner = CutOnce()
    (cut,) = _closure_incident(engine).incidents
    assert cut.replan_stopped and first_plan and first_plan[0].assignments
    engine.settings = replace(engine.settings, replan_budget=timedelta(minutes=5))
    report = engine.tick(cut.created_at + timedelta(hours=6))
    assert [e for e in report.audit if e.action == "re-propose"]
    resumed = calls[-1]
    for a in first_plan[0].assignments:
        kept = tuple((leg.lane, leg.depart_at) for leg in a.legs)
        assert kept in resumed[a.shipment]
    # The routes in force are still there to start from too.
    assert all(len(routes) >= 2 for routes in resumed.values())
