"""The engine: the live twin's plan of record and one tick of signal → score → alert →
playbook → plan. The daemon runs it on the wall clock with the store; replays run the very same
code on a simulated clock in memory.

`now` is always passed in. The engine never reads scenario effects: it sees signals, and the
positions its caller reports. Everything it keeps between ticks is one EngineState
(twin/engine/state.py): `Engine.from_state(...)` builds it, `engine.state()` reads it back.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import NamedTuple

import pandas as pd

from twin.alerting.episodes import AlertEvent, AlertState, evaluate
from twin.alerting.rules import AlertRules
from twin.domain.alerts import Alert, Exposure, RiskScore
from twin.domain.incidents import AuditEntry, Incident, IncidentState, Notification
from twin.domain.plans import Assignment, Plan, Routes, StartRoute, start_routes_by_shipment
from twin.domain.records import Network, Shipment
from twin.domain.stock import StockMove
from twin.emissions import Emissions
from twin.engine.state import EngineState, empty_signal_frame
from twin.files.emissions import load_emission_table
from twin.network.graph import NetworkView, WhatIf
from twin.network.timing import booked_lane_points, earliest_offsets
from twin.optimise import PlanRequest, Position, SolveOptions, plan
from twin.playbook.actions import (
    ActionContext,
    BudgetedReplanner,
    InForce,
    OptimiseReplanner,
    ReplanBudget,
    Replanner,
    lanes_meeting_in_window,
)
from twin.playbook.actions import in_force as kept_in_force
from twin.playbook.incidents import reproposed, transition
from twin.playbook.match import Matched, match_alert
from twin.playbook.runner import after_clear, apply, auto_approval, opening_moves, propose, stale
from twin.playbook.schema import Playbook
from twin.scoring.config import ScoringConfig
from twin.scoring.exposure import delay_days, exposure
from twin.scoring.propagate import assess
from twin.scoring.scorers import to_risk_scores
from twin.shipments.capacity import (
    CapacityLedger,
    ReservedAt,
    ReservedLedger,
    reserved_lane_capacity,
)
from twin.stock.monitor import StockAssessment, StockMonitor
from twin.stock.moves import Situation

S = IncidentState
# With a re-plan budget: the part of what is left of it shared equally among the answers still
# to make (the rest goes by what each has at stake), and the seconds kept back for the work
# after the re-plans — building the incidents' diffs, applying them, writing routes and plan
# changes back: a fixed part, and a part per shipment still to re-plan or already changed.
# Measured on the daemon bench (docs/daemon.md, *The re-plan budget*: 1.8-2.7 s after the last
# re-plan of 29,500 shipments, 2.0-2.5 s after one of 14,000).
EQUAL_PART = 0.2
TAIL_SECONDS = 0.5
TAIL_SECONDS_PER_SHIPMENT = 0.0001


class _Share(NamedTuple):
    """An answer's part of the re-plan budget: the fraction of what is left, less `reserve`."""

    fraction: float
    reserve: float


# Where freight really is, as carriers report it: the plan of record's routes re-timed at `now`.
Tracking = Callable[[datetime], Mapping[str, Routes]]


@dataclass(frozen=True)
class EngineSettings:
    """How the engine behaves; every field has a documented default (docs/engine.md).

    shadow: record incidents and plan diffs, apply nothing (how a team earns trust in it).
    approve_all: treat approval-required incidents as approved by `approver` (replays).
    exposure_horizon: how far ahead a shipment's route is checked against risks.
    history: how long signals are kept for scoring (baselines, decay, trends).
    """

    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    alerts: AlertRules = field(default_factory=AlertRules)
    shadow: bool = False
    approve_all: bool = False
    approver: str = "replay"
    exposure_horizon: timedelta = timedelta(days=45)
    history: timedelta = timedelta(days=30)
    solve: SolveOptions = field(default_factory=SolveOptions)
    rescore_every: timedelta = timedelta(0)
    replan_budget: timedelta | None = None


# replan_budget: wall-clock time one tick gives its playbooks' re-plans in all, shared out
# alert by alert (twin.playbook.actions.ReplanBudget); None: each re-plan has the planner's own
# limit. The daemon sets `[monitor] replan_budget`; replays leave it unset.


# rescore_every: with no new signal, scores are recomputed only this often (0 = every tick);
# replays on a coarse clock use a day, since decay and ramps move slowly.


@dataclass
class TickReport:
    """What one tick saw and did."""

    at: datetime
    scores: pd.DataFrame
    events: list[AlertEvent] = field(default_factory=list)
    exposures: list[Exposure] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)  # created or moved this tick
    audit: list[AuditEntry] = field(default_factory=list)
    rerouted: dict[str, Routes] = field(default_factory=dict)
    unmatched: list[Alert] = field(default_factory=list)  # paged alerts no playbook answers
    stock: StockAssessment | None = None  # the stock dimension's positions, when monitored
    # Shipment records stock moves created or changed (a transfer, a redirect), and removed.
    booked: dict[str, Shipment] = field(default_factory=dict)
    unbooked: set[str] = field(default_factory=set)
    # Incidents whose re-plans ran out of the tick's re-plan budget -> how (each re-plan).
    stopped: dict[str, tuple[str, ...]] = field(default_factory=dict)


class Engine:
    """The live twin and its judgement. Also the Effector through which playbooks act.

    Parameters
    ----------
    network : the twin's network.
    playbooks : the validated playbook library.
    settings : EngineSettings.
    replanner : what re-plans exposed shipments (default: twin.optimise with HiGHS).
    state : what it starts from (default: nothing known, nothing decided); see `from_state`.
    tracking : asked with `now` before the engine acts on routes, so a caller (a replay's
        world, a feed of carrier events) can bring the plan of record up to date first.
    stock : scores the `stock` dimension each tick and prices incidents' stock impact
        (twin.stock.monitor); None: no stock monitoring.
    capacity : the ledger of the capacity the plan of record reserves (default: a new one);
        the daemon keeps one from pass to pass.
    """

    def __init__(
        self,
        network: Network,
        playbooks: Sequence[Playbook],
        settings: EngineSettings | None = None,
        replanner: Replanner | None = None,
        *,
        state: EngineState | None = None,
        tracking: Tracking | None = None,
        stock: StockMonitor | None = None,
        capacity: CapacityLedger | None = None,
    ):
        self.network = network
        self.playbooks = list(playbooks)
        self.playbook_by_id = {p.id: p for p in self.playbooks}
        self.settings = settings or EngineSettings()
        self.replanner = replanner or OptimiseReplanner()
        self.emissions = Emissions(network, load_emission_table())  # CO2e in incident diffs
        self._tracking = tracking
        self._stock = stock
        given = state or EngineState()
        self._shipments = dict(given.shipments)
        self._routes = dict(given.routes)
        self._alert_state = given.alert_state
        self._incidents = dict(given.incidents)
        self._cooldowns = dict(given.cooldowns)
        self._in_force = list(given.in_force)
        self._history = given.history
        self._scores = given.scores
        self._scored_at = given.scored_at
        self._outbox = list(given.outbox)
        self._rerouted: dict[str, Routes] = {}
        self._booked: dict[str, Shipment] = {}
        self._unbooked: set[str] = set()
        self._offsets = earliest_offsets(network)
        self._fresh_signals = given.fresh_signals
        # Seconds spent per stage (score, alerts, respond, plan): where a replay's time goes.
        self.seconds: dict[str, float] = defaultdict(float)
        self._delay_cache: tuple[datetime | None, dict[str, float]] | None = None
        self._records_cache: tuple[pd.DataFrame, list[RiskScore]] | None = None
        # Bumped whenever the plan of record changes (the reserved-capacity index follows it).
        # The capacity the plan of record reserves, per (lane, departure): kept up to date with
        # the plan (and, given by the daemon, from pass to pass), so the playbooks' re-plans
        # read it rather than summing every route again.
        self._capacity = capacity or CapacityLedger()
        # Per incident a pass applies: its routes and their exposures, as laid over the plan.
        self._laid: dict[
            str, tuple[Incident, datetime, dict[str, Routes], dict[str, list[Exposure]]]
        ] = {}
        # Bookings come one batch at a time: the plan's reserved capacity is kept up to date
        # rather than re-summed over every route at each one.
        self._reserved_ledger = ReservedLedger()
        self._budget: ReplanBudget | None = None  # this tick's re-plan budget, while it runs
        # Per incident whose re-plan a budget cut short: the routes of the plan it stopped
        # with, where its re-proposal's re-plan starts (kept in memory: after a restart the
        # re-proposal starts from the routes in force, as the first attempt did).
        self._resume: dict[str, dict[str, tuple[StartRoute, ...]]] = {}

    @classmethod
    def from_state(
        cls,
        network: Network,
        playbooks: Sequence[Playbook],
        state: EngineState,
        settings: EngineSettings | None = None,
        *,
        replanner: Replanner | None = None,
        tracking: Tracking | None = None,
        stock: StockMonitor | None = None,
        capacity: CapacityLedger | None = None,
    ) -> Engine:
        """The engine as `state` has it (the daemon: as the store has it at the pass's `now`;
        `capacity`: its ledger of reserved capacity, kept from pass to pass)."""
        return cls(
            network,
            playbooks,
            settings,
            replanner,
            state=state,
            tracking=tracking,
            stock=stock,
            capacity=capacity,
        )

    def state(self) -> EngineState:
        """What the engine knows and has decided now (a copy: changing it changes nothing)."""
        return EngineState(
            shipments=dict(self._shipments),
            routes=dict(self._routes),
            alert_state=self._alert_state,
            incidents=dict(self._incidents),
            cooldowns=dict(self._cooldowns),
            in_force=tuple(self._in_force),
            history=self._history,
            scores=self._scores,
            scored_at=self._scored_at,
            fresh_signals=self._fresh_signals,
            outbox=tuple(self._outbox),
        )

    # --- read-only views of the state -------------------------------------------------------

    @property
    def shipments(self) -> Mapping[str, Shipment]:
        return MappingProxyType(self._shipments)

    @property
    def routes(self) -> Mapping[str, Routes]:
        """The plan of record."""
        return MappingProxyType(self._routes)

    @property
    def incidents(self) -> Mapping[str, Incident]:
        return MappingProxyType(self._incidents)

    @property
    def alert_state(self) -> AlertState:
        return self._alert_state

    @property
    def scores(self) -> pd.DataFrame:
        return self._scores

    @property
    def history(self) -> pd.DataFrame:
        return self._history

    @property
    def in_force(self) -> tuple[InForce, ...]:
        return tuple(self._in_force)

    @property
    def holds(self) -> dict[str, str]:
        """Held shipments -> the incident that holds them."""
        return {item.target: item.incident for item in self._in_force if item.holds}

    @property
    def sent(self) -> tuple[tuple[str, Notification], ...]:
        """The outbox: (incident id, notification) the playbooks sent, in order."""
        return tuple(self._outbox)

    # --- the Effector playbooks act through -------------------------------------------------

    def keep(self, item: InForce) -> None:
        self._in_force.append(item)

    def release(self, incident_id: str) -> None:
        self._in_force = [item for item in self._in_force if item.incident != incident_id]

    def set_routes(self, shipment: str, routes: Routes) -> None:
        self._routes[shipment] = tuple(routes)
        self._rerouted[shipment] = tuple(routes)

    def notify(self, incident_id: str, notification: Notification) -> None:
        self._outbox.append((incident_id, notification))

    def book(self, shipment: Shipment) -> None:
        self._shipments[shipment.id] = shipment
        self._booked[shipment.id] = shipment
        self._unbooked.discard(shipment.id)

    def unbook(self, shipment: str) -> None:
        self._shipments.pop(shipment, None)
        self._routes.pop(shipment, None)
        self._rerouted.pop(shipment, None)
        self._booked.pop(shipment, None)
        self._unbooked.add(shipment)

    # --- planning ----------------------------------------------------------------------------

    def active_constraints(
        self, now: datetime | None = None, *, also: Sequence[InForce] = ()
    ) -> WhatIf:
        """The constraints in force (and `also`), merged: what every plan and re-plan is made
        under. Given `now`, an avoid with a window (`InForce.window`: an announced change not
        yet biting) keeps off only the lanes that would bring freight booked now to its target
        inside the window; without `now` it avoids the target outright."""
        merged = WhatIf()
        for item in (*self._in_force, *also):
            window = item.window
            if now is not None and window is not None and item.kind == "avoid":
                lanes = lanes_meeting_in_window(
                    item.target, window, now, self._offsets, self.network
                )
                merged = merged.merged(WhatIf(avoid=lanes))
                continue
            merged = merged.merged(item.whatif)
        return merged

    def _lift_expired(self, now: datetime) -> None:
        """Drop what was kept in force for a duration (`until: 12h`) that has run out."""
        if any(item.lifted(now) for item in self._in_force):
            self._in_force = [item for item in self._in_force if not item.lifted(now)]

    def risk_days(self, now: datetime) -> dict[str, float]:
        """Expected delay days per lane for freight booked at `now`: a lane's risk counts when
        its time window (starts_at..until) overlaps when such freight would be on the lane.

        Lane scores already carry the risk of their ends and `via` (twin.scoring.propagate);
        pricing nodes too would count it twice.
        """
        if self._scores.empty:
            return {}
        lanes = self.network.lane_by_id
        rows = self._scores[self._scores["target"].isin(lanes.keys())]
        if rows.empty:
            return {}
        keep = []
        for target, sources, starts, until in zip(
            rows["target"], rows["sources"], rows["starts_at"], rows["until"]
        ):
            # When freight booked now meets each source of the lane's risk: leaving (the lane,
            # its start), passing (a chokepoint or border of its `via`), arriving (its end).
            points = booked_lane_points(lanes[target], now, self._offsets, self.network)
            if points is None:
                keep.append(True)
                continue
            meets = dict(points)
            wanted = sources if isinstance(sources, tuple) and sources else (target,)
            times = [meets.get(source, meets[target]) for source in wanted]
            lo = None if pd.isna(starts) else starts.to_pydatetime()
            hi = None if pd.isna(until) else until.to_pydatetime()
            keep.append(any((lo is None or lo <= t) and (hi is None or t <= hi) for t in times))
        return self._worst_delays(rows[keep])

    def plan_shipments(
        self,
        shipments: Iterable[Shipment],
        now: datetime,
        *,
        positions: Mapping[str, Position] | None = None,
        use_risk: bool = True,
        extra: WhatIf | None = None,
    ) -> Plan:
        """Plan new shipments under the constraints in force (and the risk, unless told not
        to), against the capacity the plan of record already uses; record their routes."""
        started = time.perf_counter()
        self._lift_expired(now)
        batch = tuple(shipments)
        for shipment in batch:
            self._shipments[shipment.id] = shipment
        whatif = self.active_constraints(now)
        if extra is not None:
            whatif = whatif.merged(extra)
        request = PlanRequest(
            now=now,
            shipments=batch,
            positions=dict(positions or {}),
            risk_days=self.risk_days(now) if use_risk else {},
            reserved_lane=self._reserved_ledger.reserved(
                self._routes, now, exclude={s.id for s in batch}
            ),
        )
        made = plan(NetworkView(self.network, whatif), request, self.settings.solve)
        if made.status.applicable:
            for shipment in batch:
                self._routes[shipment.id] = tuple(made.for_shipment(shipment.id))
            # Freight the constraints leave with no route is still booked, as if they were
            # not there: an avoided place is a preference, and unbooked freight is lost.
            stranded = {u.shipment for u in made.unserved}
            if stranded and (whatif.avoid or whatif.capacity_pct):
                again = PlanRequest(
                    now=now,
                    shipments=tuple(s for s in batch if s.id in stranded),
                    positions=request.positions,
                    risk_days=request.risk_days,
                    reserved_lane=self._reserved_ledger.reserved(self._routes, now, stranded),
                )
                rescue = plan(NetworkView(self.network), again, self.settings.solve)
                if rescue.status.applicable:
                    for sid in stranded:
                        self._routes[sid] = tuple(rescue.for_shipment(sid))
        self.seconds["plan"] += time.perf_counter() - started
        return made

    # --- one tick ----------------------------------------------------------------------------

    def ingest(self, frame: pd.DataFrame) -> None:
        """Add newly ingested signal rows (the feeds' frame) to the history the scorer reads."""
        if frame is None or frame.empty:
            return
        self._fresh_signals = True
        parts = [f for f in (self._history, frame) if not f.empty]
        self._history = pd.concat(parts, ignore_index=True) if len(parts) > 1 else frame.copy()

    def score(self, now: datetime) -> pd.DataFrame:
        """Score the signal history at `now` (the risk new plans are priced with)."""
        self._trim_history(now)
        self._scores = assess(self._history, self.network, now, self.settings.scoring).frame
        self._scored_at, self._fresh_signals = now, False
        return self._scores

    def tick(self, now: datetime, *, started: float | None = None) -> TickReport:
        """Score, alert, and respond: match playbooks, propose, apply what may be applied,
        roll back what cleared, expire what nobody decided. Returns what happened.

        started: when the pass this tick is part of began (`time.perf_counter()`; default:
        now). The re-plan budget (`EngineSettings.replan_budget`) runs from it, so the pass
        as a whole ends near the budget (the daemon's pass also reads and writes the store)."""
        self._rerouted, self._booked, self._unbooked = {}, {}, set()
        self._lift_expired(now)
        clock = time.perf_counter()
        started = clock if started is None else started
        if (
            self._fresh_signals
            or self._scored_at is None
            or now - self._scored_at >= self.settings.rescore_every
        ):
            self.score(now)
        clock = self._lap("score", clock)
        # Stock scores are alerted on like the others but kept out of self._scores: they are
        # no transit risk, and pricing or exposure must not see them.
        scores, records, stock = self._scores, self._score_records(), self.assess_stock(now)
        if stock is not None:
            scores = pd.concat(
                [f for f in (scores, stock.scores) if not f.empty], ignore_index=True
            )
            records = [*records, *to_risk_scores(stock.scores, now)]
            clock = self._lap("stock", clock)
        self._alert_state, events = evaluate(self._alert_state, records, now, self.settings.alerts)
        clock = self._lap("alerts", clock)
        report = TickReport(at=now, scores=scores, events=events, stock=stock)
        paging = [e for e in events if e.pages]
        # Incidents an earlier pass's budget cut short, still awaiting a person while their
        # alert fires: re-planned first (they have waited longest), with this pass's budget.
        waiting = self._cut_short(now)
        acting = bool(paging or waiting)
        if acting and self._tracking is not None:
            self._routes.update(self._tracking(now))
        if acting:
            report.exposures = exposure(
                self._scores,
                [a for routes in self._routes.values() for a in routes],
                self.network,
                now,
                self.settings.exposure_horizon,
                self.settings.scoring,
            )
        budget = self.settings.replan_budget
        self._budget = (
            ReplanBudget(budget.total_seconds(), time.perf_counter, started=started)
            if budget and acting
            else None
        )
        if self._budget is not None:
            self._answer_by_value(waiting, events, now, report)
        else:
            for incident, matched in waiting:
                self._repropose(incident, matched, now, report)
            for event in events:
                if event.kind == "cleared":
                    self._on_clear(event.alert, now, report)
                elif event.pages:
                    self._respond(event.alert, now, report)
        self._budget = None
        self._apply_decided(now, report)
        self._expire_stale(now, report)
        report.rerouted = dict(self._rerouted)
        report.booked, report.unbooked = dict(self._booked), set(self._unbooked)
        self._lap("respond", clock)
        return report

    def _score_records(self) -> list[RiskScore]:
        """The scores in force as records, converted once per scoring (alerting passes run
        every tick, scoring every `rescore_every`)."""
        if self._records_cache is None or self._records_cache[0] is not self._scores:
            at = self._scored_at or datetime.min.replace(tzinfo=UTC)
            self._records_cache = (self._scores, to_risk_scores(self._scores, at))
        return self._records_cache[1]

    def assess_stock(self, now: datetime) -> StockAssessment | None:
        """The stock dimension at `now`: the plan of record's ETAs under the expected delays
        of the risks its routes meet (None without a stock monitor)."""
        if self._stock is None:
            return None
        self._stock.use_moves(self._moves_in_force())
        feeding = [r for sid, r in self._routes.items() if self._stock.carries(sid)]
        return self._stock.assess(self._shipments, self._routes, self._exposures(feeding, now), now)

    def _moves_in_force(self) -> list[StockMove]:
        """The stock moves of applied incidents, for the monitor to count their lines."""
        return [
            move
            for incident in self._incidents.values()
            if incident.state is S.applied
            for move in incident.moves
            if move.shipment in self._shipments
        ]

    def priced_shipments(self, now: datetime) -> Mapping[str, Shipment]:
        """The shipments as re-plans price them: with a stock monitor, those with SKU lines
        late by the stock they feed (StockMonitor.prices; twin.stock.pricing), so a re-plan
        speeds freight into a warehouse about to run out before freight into one with weeks
        of cover. The rest, and every shipment without a stock monitor, as booked."""
        if self._stock is None:
            return self.shipments
        prices = self._stock.prices(self._shipments, now)
        if not prices:
            return self.shipments
        return MappingProxyType(
            {
                sid: s.model_copy(update={"late_penalty_per_unit_day": prices[sid].per_cbm_day})
                if sid in prices
                else s
                for sid, s in self._shipments.items()
            }
        )

    def _exposures(self, routes: Iterable[Routes], now: datetime) -> list[Exposure]:
        """Exposures of the parts of `routes` still to arrive (arrived freight is not delayed)."""
        return exposure(
            self._scores,
            [a for parts in routes for a in parts if a.eta >= now],
            self.network,
            now,
            self.settings.exposure_horizon,
            self.settings.scoring,
        )

    def _stock_impact(self, incident: Incident, now: datetime, report: TickReport) -> Incident:
        """The incident with what its plan does to the warehouses its shipments feed."""
        if self._stock is None or not incident.new_routes:
            return incident
        after = dict(self._routes)
        moved: dict[str, list[Assignment]] = {}
        # A stock move's shipments carry their impact already (twin.stock.moves).
        by_moves = {m.shipment for m in incident.moves} | {
            m.parent for m in incident.moves if m.parent
        }
        for assignment in incident.new_routes:
            if assignment.shipment in by_moves:
                continue
            moved.setdefault(assignment.shipment, []).append(assignment)
        if not moved:
            return incident
        after.update({sid: tuple(parts) for sid, parts in moved.items()})
        kept = [e for e in report.exposures if e.shipment not in moved]
        impact = self._stock.impact(
            self._shipments,
            self._routes,
            after,
            report.exposures,
            kept + self._exposures([tuple(p) for p in moved.values()], now),
            moved,
            now,
            {c.shipment: c.cost_delta for c in incident.diff.changes},
        )
        return (
            incident.model_copy(update={"stock": incident.stock + impact}) if impact else incident
        )

    def _situation(self, alert: Alert, now: datetime, report: TickReport) -> Situation | None:
        """For a stock alert, the stock of its warehouse's market (warehouses of its country)
        as stock moves weigh it; None otherwise."""
        if self._stock is None or alert.stock is None:
            return None
        nodes = self.network.node_by_id
        country = nodes[alert.target].country if alert.target in nodes else None
        market = [
            n.id for n in self.network.nodes if n.kind.value == "warehouse" and n.country == country
        ] or [alert.target]
        return self._stock.situation(self._shipments, self._routes, report.exposures, now, market)

    def _delays(self) -> dict[str, float]:
        """Expected delay days per target under the scores in force (the worst dimension)."""
        if self._delay_cache is None or self._delay_cache[0] != self._scored_at:
            self._delay_cache = (self._scored_at, self._worst_delays(self._scores))
        return self._delay_cache[1]

    def _worst_delays(self, rows: pd.DataFrame) -> dict[str, float]:
        """Expected delay days per target of score rows, where above zero. One event shows in
        several dimensions (a closed strait: security and capacity); the largest expected delay
        stands for it rather than their sum."""
        worst: dict[str, float] = {}
        for target, dimension, score in zip(rows["target"], rows["dimension"], rows["score"]):
            days = delay_days(dimension, float(score), self.settings.scoring)
            if days > worst.get(target, 0.0):
                worst[target] = days
        return worst

    def _reserved_index(
        self, now: datetime, routes: Mapping[str, Routes] | None = None
    ) -> ReservedAt:
        """The reserved capacity at `now` of the plan of record, or of `routes` (the plan of
        record with the incidents this pass applies laid over it): the ledger takes in only
        the routes that differ from what it last saw."""
        return self._capacity.sync(self._routes if routes is None else routes).at(now)

    def _lap(self, stage: str, since: float) -> float:
        now = time.perf_counter()
        self.seconds[stage] += now - since
        return now

    def _answers(self, matched: Matched, alert: Alert, now: datetime) -> bool:
        """Whether `matched`'s playbook answers `alert` now: one incident per (alert episode,
        playbook, severity), however often it re-fires (an escalation is answered again, since
        it can expose freight the warning did not), and none while the playbook cools down on
        the alert's target."""
        playbook = matched.playbook
        if any(
            i.alert_id == alert.id
            and i.playbook_id == playbook.id
            and i.alert.severity.rank >= alert.severity.rank
            for i in self._incidents.values()
        ):
            return False
        last = self._cooldowns.get((playbook.id, alert.target))
        return last is None or now - last >= playbook.cooldown_td

    def _respond(self, alert: Alert, now: datetime, report: TickReport) -> None:
        matched = match_alert(alert, self.playbooks)
        if matched is None:
            report.unmatched.append(alert)
        elif self._answers(matched, alert, now):
            self._answer(matched, alert, now, report)

    def _answer(
        self,
        matched: Matched,
        alert: Alert,
        now: datetime,
        report: TickReport,
        share: _Share | None = None,
    ) -> None:
        incident = self._propose(matched, alert, now, report, share)
        incident, log = opening_moves(incident, at=now)
        incident, log = self._replay_approval(incident, now, log)
        self._incidents[incident.id] = incident
        report.incidents.append(incident)
        report.audit.extend(log)

    def _answer_by_value(
        self,
        waiting: list[tuple[Incident, Matched]],
        events: list[AlertEvent],
        now: datetime,
        report: TickReport,
    ) -> None:
        """A tick with a re-plan budget: clears first (their rollbacks are the plan the
        answers are made on), then each answer — an incident an earlier budget cut short, or
        a paged alert a playbook answers — the one with the most at stake first (the lateness
        its exposed freight is expected to cost). Each gets a share of what is left of the
        pass's deadline: a fifth of it split equally among the answers still to make, the rest
        by what they have at stake; less the time kept for the work after the re-plans
        (`TAIL_SECONDS`, and `TAIL_SECONDS_PER_SHIPMENT` for each shipment still to re-plan or
        already changed by an incident this tick applies)."""
        for event in events:
            if event.kind == "cleared":
                self._on_clear(event.alert, now, report)
        stakes = self._at_stake(report.exposures)
        queue: list[tuple[float, int, Alert, Incident | None, Matched]] = []
        for cut, playbook in waiting:
            alert = self._alert_state.alerts[cut.alert_id]
            value, count = stakes.get(alert.target, (0.0, 0))
            queue.append((value, count, alert, cut, playbook))
        for event in events:
            if event.kind == "cleared" or not event.pages:
                continue
            matched = match_alert(event.alert, self.playbooks)
            if matched is None:
                report.unmatched.append(event.alert)
            elif self._answers(matched, event.alert, now):
                value, count = stakes.get(event.alert.target, (0.0, 0))
                queue.append((value, count, event.alert, None, matched))
        queue.sort(key=lambda item: -item[0])  # stable: ties keep their order
        for position, (value, _, alert, incident, matched) in enumerate(queue):
            rest = queue[position:]
            total = sum(item[0] for item in rest)
            fraction = (
                EQUAL_PART / len(rest) + (1 - EQUAL_PART) * value / total
                if total > 0
                else 1 / len(rest)
            )
            pending = sum(
                len(i.diff.changes)
                for i in self._incidents.values()
                if i.state in (S.approved, S.auto_approved)
            )
            shipments = pending + sum(item[1] for item in rest)
            share = _Share(fraction, TAIL_SECONDS + TAIL_SECONDS_PER_SHIPMENT * shipments)
            if incident is not None:
                self._repropose(incident, matched, now, report, share)
            else:
                self._answer(matched, alert, now, report, share)

    def _at_stake(self, exposures: Sequence[Exposure]) -> dict[str, tuple[float, int]]:
        """Per exposure target: the lateness its exposed freight is expected to cost (each
        shipment's largest expected delay there x its units x its penalty per unit-day), and
        how many shipments it exposes."""
        worst: dict[str, dict[str, float]] = {}
        for e in exposures:
            days = worst.setdefault(e.target, {})
            if e.expected_delay_days >= days.get(e.shipment, 0.0):
                days[e.shipment] = e.expected_delay_days
        stakes: dict[str, tuple[float, int]] = {}
        for target, days in worst.items():
            value = 0.0
            for sid, delay in days.items():
                shipment = self._shipments.get(sid)
                if shipment is not None:
                    value += delay * shipment.units * shipment.penalty_per_unit_day
            stakes[target] = (value, len(days))
        return stakes

    def _cut_short(self, now: datetime) -> list[tuple[Incident, Matched]]:
        """Incidents whose re-plan an earlier pass's budget cut short that a pass re-plans:
        still proposed (nobody decided), their alert episode still open at their severity,
        and their playbook still the one that answers it."""
        found = []
        for incident in self._incidents.values():
            if incident.state is not S.proposed or not incident.replan_stopped:
                continue
            if incident.shadow:
                continue
            alert = self._alert_state.alerts.get(incident.alert_id)
            if alert is None or alert.cleared_at is not None:
                continue
            if alert.severity is not incident.alert.severity:
                continue  # escalated: the escalation has an incident of its own
            matched = match_alert(alert, self.playbooks)
            if matched is None or matched.playbook.id != incident.playbook_id:
                continue
            found.append((incident, matched))
        return sorted(found, key=lambda pair: (pair[0].created_at, pair[0].id))

    def _repropose(
        self,
        incident: Incident,
        matched: Matched,
        now: datetime,
        report: TickReport,
        share: _Share | None = None,
    ) -> None:
        """Re-plan a cut-short incident's playbook on the alert as it is now, and replace its
        proposed plan (it stays proposed, or is auto-approved as a new one would be); the audit
        entry says it was re-proposed and why."""
        alert = self._alert_state.alerts[incident.alert_id]
        made = self._propose(matched, alert, now, report, share, self._resume.pop(incident.id, {}))
        again = made.model_copy(update={"created_at": incident.created_at, "updated_at": now})
        before = "; ".join(incident.replan_stopped)
        if again.replan_stopped:
            outcome = "cut short again: " + "; ".join(again.replan_stopped)
        else:
            outcome = (
                f"re-planned in full: {len(again.diff.changes):,} shipments change, "
                f"plan {again.diff.status}"
            )
        why = (
            f"re-planned while its alert still fires, since the re-plan of "
            f"{incident.updated_at:%Y-%m-%d %H:%M} UTC was cut short ({before}); {outcome}"
        )
        log = [reproposed(again, at=now, why=why)]
        if again.diff.applicable:
            again, decided = auto_approval(again, at=now)
            log += decided
        again, log = self._replay_approval(again, now, log)
        # Last in line: a pass applies incidents in the order they were made, so each is
        # applied over those it was made on top of.
        self._incidents.pop(again.id, None)
        self._incidents[again.id] = again
        report.incidents.append(again)
        report.audit.extend(log)

    def _replay_approval(
        self, incident: Incident, now: datetime, log: list[AuditEntry]
    ) -> tuple[Incident, list[AuditEntry]]:
        """A replay's approval policy (`approve_all`): a proposed, applicable incident is
        approved by its approver."""
        if incident.state is S.proposed and self.settings.approve_all and incident.diff.applicable:
            incident, entry = transition(
                incident,
                S.approved,
                at=now,
                by=self.settings.approver,
                why="approved by the replay's approval policy",
            )
            log.append(entry)
        return incident, log

    def _propose(
        self,
        matched: Matched,
        alert: Alert,
        now: datetime,
        report: TickReport,
        share: _Share | None = None,
        resume: Mapping[str, tuple[StartRoute, ...]] | None = None,
    ) -> Incident:
        """The playbook's preview on `alert` against the live twin, as an incident (not yet
        stored in the engine), made on top of what this tick applies. `resume`: routes its
        re-plans may start from (a cut-short earlier attempt's)."""
        # Incidents this tick applies at its end (answered earlier in it, or approved before):
        # this one is made on top of them, as if they were applied already, so freight two of a
        # pass's alerts expose ends up clear of both (not on whichever re-plan applies last).
        routes, exposures, also, held = self._after_pending(now, report)
        holds = {**self.holds, **held}
        replanner: Replanner = self.replanner
        if self._budget is not None:
            fraction, reserve = share or _Share(1.0, 0.0)
            replanner = self._budget.for_alert(
                self.replanner, 1, fraction=fraction, reserve=reserve
            )
        ctx = ActionContext(
            alert=alert,
            network=self.network,
            shipments=self.priced_shipments(now),
            current={sid: parts for sid, parts in routes.items() if sid not in holds},
            now=now,
            exposures=tuple(exposures),
            replanner=replanner,
            constraints=self.active_constraints(now, also=also),
            risk_days=self._delays(),
            plan_of_record=routes,
            emissions=self.emissions,
            stock=self._situation(alert, now, report),
            booked=self.shipments,
            reserved_index=self._reserved_index(now, routes),
            start_routes=resume or {},
        )
        incident = self._stock_impact(
            propose(matched, ctx, shadow=self.settings.shadow), now, report
        )
        if isinstance(replanner, BudgetedReplanner) and replanner.stops:
            report.stopped[incident.id] = tuple(replanner.stops)
            if replanner.cut_short:
                self._resume[incident.id] = start_routes_by_shipment(
                    a for made in replanner.cut_short for a in made.assignments
                )
        return incident

    def _after_pending(
        self, now: datetime, report: TickReport
    ) -> tuple[Mapping[str, Routes], list[Exposure], list[InForce], dict[str, str]]:
        """The plan of record, the exposures, the constraints and the holds as they will be
        once the incidents this tick applies (approved or auto-approved) are applied: their
        routes and holds over the plan of record, what they keep in force, and the exposures
        of the shipments they move worked out again on their new routes."""
        pending = [i for i in self._incidents.values() if i.state in (S.approved, S.auto_approved)]
        if not pending:
            return self._routes, report.exposures, [], {}
        overlay: dict[str, Routes] = {}
        laid: dict[str, list[Exposure]] = {}
        held: dict[str, str] = {}
        also: list[InForce] = []
        for incident in pending:
            also.extend(kept_in_force(incident, now))
            routes, exposures = self._laid_over(incident, now)
            for change in incident.diff.changes:
                if change.held:
                    held[change.shipment] = incident.id
                else:
                    overlay[change.shipment] = routes[change.shipment]
                    laid[change.shipment] = exposures.get(change.shipment, [])
        if not overlay:
            return self._routes, report.exposures, also, held
        kept = [e for e in report.exposures if e.shipment not in overlay]
        moved = sorted(
            (e for found in laid.values() for e in found),
            key=lambda e: (e.at, e.shipment, e.target, e.dimension),
        )
        return {**self._routes, **overlay}, kept + moved, also, held

    def _laid_over(
        self, incident: Incident, now: datetime
    ) -> tuple[dict[str, Routes], dict[str, list[Exposure]]]:
        """An incident's new routes per shipment and their exposures at `now`, worked out once
        per incident and pass (each later answer of the pass lays it over the plan again: the
        same route objects keep the capacity ledger from taking them in again)."""
        cached = self._laid.get(incident.id)
        if cached is not None and cached[0] is incident and cached[1] == now:
            return cached[2], cached[3]
        new: dict[str, list[Assignment]] = {}
        for assignment in incident.new_routes:
            new.setdefault(assignment.shipment, []).append(assignment)
        routes = {
            c.shipment: tuple(new.get(c.shipment, ())) for c in incident.diff.changes if not c.held
        }
        exposures: dict[str, list[Exposure]] = {}
        for found in self._exposures(routes.values(), now):
            exposures.setdefault(found.shipment, []).append(found)
        self._laid[incident.id] = (incident, now, routes, exposures)
        return routes, exposures

    def _apply_decided(self, now: datetime, report: TickReport) -> None:
        for incident in list(self._incidents.values()):
            if incident.state in (S.approved, S.auto_approved):
                moved, entry = apply(incident, self, at=now)
                self._incidents[moved.id] = moved
                self._cooldowns[(moved.playbook_id, moved.alert.target)] = now
                report.incidents.append(moved)
                report.audit.append(entry)

    def _on_clear(self, alert: Alert, now: datetime, report: TickReport) -> None:
        for incident in list(self._incidents.values()):
            if incident.alert_id != alert.id:
                continue
            moved, log = after_clear(incident, self, at=now)
            if log:
                self._incidents[moved.id] = moved
                report.incidents.append(moved)
                report.audit.extend(log)

    def _expire_stale(self, now: datetime, report: TickReport) -> None:
        for incident in list(self._incidents.values()):
            playbook = self.playbook_by_id.get(incident.playbook_id)
            if playbook is not None and stale(incident, now=now, playbook=playbook):
                moved, entry = transition(
                    incident,
                    S.expired,
                    at=now,
                    why=f"nobody decided within {playbook.expire_after}",
                )
                self._incidents[moved.id] = moved
                report.incidents.append(moved)
                report.audit.append(entry)

    def _trim_history(self, now: datetime) -> None:
        if self._history.empty:
            return
        cutoff = pd.Timestamp(now - self.settings.history)
        keep = self._history["ts"] >= cutoff
        # Announced changes and readings that still run keep their rows beyond the window.
        if "expected_until" in self._history:
            keep |= self._history["expected_until"].fillna(cutoff) > cutoff
        if not keep.all():
            self._history = self._history[keep].reset_index(drop=True)


__all__ = [
    "Engine",
    "EngineSettings",
    "EngineState",
    "Routes",
    "TickReport",
    "Tracking",
    "empty_signal_frame",
    "reserved_lane_capacity",
]
