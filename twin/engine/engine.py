"""The engine: the live twin's plan of record and one tick of signal → score → alert →
playbook → plan. The daemon runs it on the wall clock with the store; replays run the very same
code on a simulated clock in memory.

`now` is always passed in. The engine never reads scenario effects: it sees signals, and the
positions its caller reports.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd

from twin.alerting.episodes import AlertEvent, AlertState, evaluate
from twin.alerting.rules import AlertRules
from twin.domain.alerts import Alert, Exposure
from twin.domain.incidents import AuditEntry, Incident, IncidentState, Notification
from twin.domain.plans import Plan, Routes
from twin.domain.records import Network, Shipment
from twin.emissions import Emissions
from twin.files.emissions import load_emission_table
from twin.network.graph import NetworkView, WhatIf
from twin.network.timing import booked_lane_points, earliest_offsets
from twin.optimise import PlanRequest, Position, SolveOptions, plan
from twin.playbook.actions import ActionContext, OptimiseReplanner, Replanner
from twin.playbook.incidents import transition
from twin.playbook.match import match_alert
from twin.playbook.runner import after_clear, apply, opening_moves, propose, stale
from twin.playbook.schema import Playbook
from twin.scoring.config import ScoringConfig
from twin.scoring.exposure import delay_days, exposure
from twin.scoring.propagate import assess
from twin.scoring.scorers import empty_scores, signals_frame

S = IncidentState


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


class Engine:
    """The live twin and its judgement. Also the Effector through which playbooks act.

    Parameters
    ----------
    network : the twin's network.
    playbooks : the validated playbook library.
    settings : EngineSettings.
    replanner : what re-plans exposed shipments (default: twin.optimise with HiGHS).
    """

    def __init__(
        self,
        network: Network,
        playbooks: Sequence[Playbook],
        settings: EngineSettings | None = None,
        replanner: Replanner | None = None,
    ):
        self.network = network
        self.playbooks = list(playbooks)
        self.playbook_by_id = {p.id: p for p in self.playbooks}
        self.settings = settings or EngineSettings()
        self.replanner = replanner or OptimiseReplanner()
        self.emissions = Emissions(network, load_emission_table())  # CO2e in incident diffs
        self.shipments: dict[str, Shipment] = {}
        self.routes: dict[str, Routes] = {}
        self.constraints: dict[str, WhatIf] = {}
        self.holds: dict[str, str] = {}
        self.incidents: dict[str, Incident] = {}
        self.alert_state = AlertState()
        self.history = empty_signal_frame()
        self.scores = empty_scores()
        self.sent: list[tuple[str, Notification]] = []
        self.fired_at: dict[tuple[str, str], datetime] = {}  # (playbook, target) -> applied at
        self._rerouted: dict[str, Routes] = {}
        self._applying: str | None = None
        self._scored_at: datetime | None = None
        self._offsets = earliest_offsets(network)
        self._fresh_signals = False
        # Seconds spent per stage (score, alerts, respond, plan): where a replay's time goes.
        self.seconds: dict[str, float] = defaultdict(float)
        self._delay_cache: tuple[datetime | None, dict[str, float]] | None = None
        # Called with `now` before the engine acts on routes, so a caller (a replay's world, a
        # feed of carrier events) can bring the plan of record up to date first.
        self.refresh_routes: Callable[[datetime], None] | None = None

    # --- the Effector playbooks act through -------------------------------------------------

    def constrain(self, incident_id: str, whatif: WhatIf, until: str) -> None:
        self.constraints[incident_id] = self.constraints.get(incident_id, WhatIf()).merged(whatif)

    def release(self, incident_id: str) -> None:
        self.constraints.pop(incident_id, None)
        for sid in [s for s, owner in self.holds.items() if owner == incident_id]:
            del self.holds[sid]

    def set_routes(self, shipment: str, routes: Routes) -> None:
        self.routes[shipment] = tuple(routes)
        self._rerouted[shipment] = tuple(routes)

    def hold(self, shipment: str, until: str) -> None:
        # Keyed to the incident being applied, so releasing that incident lifts its holds.
        self.holds[shipment] = self._applying or until

    def notify(self, incident_id: str, notification: Notification) -> None:
        self.sent.append((incident_id, notification))

    # --- planning ----------------------------------------------------------------------------

    def active_constraints(self) -> WhatIf:
        merged = WhatIf()
        for whatif in self.constraints.values():
            merged = merged.merged(whatif)
        return merged

    def risk_days(self, now: datetime) -> dict[str, float]:
        """Expected delay days per lane for freight booked at `now`: a lane's risk counts when
        its time window (starts_at..until) overlaps when such freight would be on the lane.

        Lane scores already carry the risk of their ends and `via` (twin.scoring.propagate);
        pricing nodes too would count it twice.
        """
        if self.scores.empty:
            return {}
        lanes = self.network.lane_by_id
        rows = self.scores[self.scores["target"].isin(lanes.keys())]
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
        batch = tuple(shipments)
        for shipment in batch:
            self.shipments[shipment.id] = shipment
        whatif = self.active_constraints()
        if extra is not None:
            whatif = whatif.merged(extra)
        request = PlanRequest(
            now=now,
            shipments=batch,
            positions=dict(positions or {}),
            risk_days=self.risk_days(now) if use_risk else {},
            reserved_lane=reserved_lane_capacity(self.routes, now, exclude={s.id for s in batch}),
        )
        made = plan(NetworkView(self.network, whatif), request, self.settings.solve)
        if made.status.applicable:
            for shipment in batch:
                self.routes[shipment.id] = tuple(made.for_shipment(shipment.id))
            # Freight the constraints leave with no route is still booked, as if they were
            # not there: an avoided place is a preference, and unbooked freight is lost.
            stranded = {u.shipment for u in made.unserved}
            if stranded and (whatif.avoid or whatif.capacity_pct):
                again = PlanRequest(
                    now=now,
                    shipments=tuple(s for s in batch if s.id in stranded),
                    positions=request.positions,
                    risk_days=request.risk_days,
                    reserved_lane=reserved_lane_capacity(self.routes, now, exclude=stranded),
                )
                rescue = plan(NetworkView(self.network), again, self.settings.solve)
                if rescue.status.applicable:
                    for sid in stranded:
                        self.routes[sid] = tuple(rescue.for_shipment(sid))
        self.seconds["plan"] += time.perf_counter() - started
        return made

    # --- one tick ----------------------------------------------------------------------------

    def ingest(self, frame: pd.DataFrame) -> None:
        """Add newly ingested signal rows (the feeds' frame) to the history the scorer reads."""
        if frame is None or frame.empty:
            return
        self._fresh_signals = True
        parts = [f for f in (self.history, frame) if not f.empty]
        self.history = pd.concat(parts, ignore_index=True) if len(parts) > 1 else frame.copy()

    def tick(self, now: datetime) -> TickReport:
        """Score, alert, and respond: match playbooks, propose, apply what may be applied,
        roll back what cleared, expire what nobody decided. Returns what happened."""
        self._rerouted = {}
        clock = time.perf_counter()
        if (
            self._fresh_signals
            or self._scored_at is None
            or now - self._scored_at >= self.settings.rescore_every
        ):
            self._trim_history(now)
            self.scores = assess(self.history, self.network, now, self.settings.scoring).frame
            self._scored_at, self._fresh_signals = now, False
        clock = self._lap("score", clock)
        self.alert_state, events = evaluate(
            self.alert_state, self.scores, now, self.settings.alerts
        )
        clock = self._lap("alerts", clock)
        report = TickReport(at=now, scores=self.scores, events=events)
        paging = [e for e in events if e.pages]
        if paging and self.refresh_routes is not None:
            self.refresh_routes(now)
        if paging:
            report.exposures = exposure(
                self.scores,
                [a for routes in self.routes.values() for a in routes],
                self.network,
                now,
                self.settings.exposure_horizon,
                self.settings.scoring,
            )
        for event in events:
            if event.kind == "cleared":
                self._on_clear(event.alert, now, report)
            elif event.pages:
                self._respond(event.alert, now, report)
        self._apply_decided(now, report)
        self._expire_stale(now, report)
        report.rerouted = dict(self._rerouted)
        self._lap("respond", clock)
        return report

    def _delays(self) -> dict[str, float]:
        """Expected delay days per target under the scores in force (the worst dimension)."""
        if self._delay_cache is None or self._delay_cache[0] != self._scored_at:
            self._delay_cache = (self._scored_at, self._worst_delays(self.scores))
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

    def _lap(self, stage: str, since: float) -> float:
        now = time.perf_counter()
        self.seconds[stage] += now - since
        return now

    def _respond(self, alert: Alert, now: datetime, report: TickReport) -> None:
        matched = match_alert(alert, self.playbooks)
        if matched is None:
            report.unmatched.append(alert)
            return
        playbook = matched.playbook
        # One incident per (alert episode, playbook, severity), however often it re-fires: an
        # escalation is answered again, since it can expose freight the warning did not.
        if any(
            i.alert_id == alert.id
            and i.playbook_id == playbook.id
            and i.alert.severity.rank >= alert.severity.rank
            for i in self.incidents.values()
        ):
            return
        last = self.fired_at.get((playbook.id, alert.target))
        if last is not None and now - last < playbook.cooldown_td:
            return
        ctx = ActionContext(
            alert=alert,
            network=self.network,
            shipments=self.shipments,
            current={sid: routes for sid, routes in self.routes.items() if sid not in self.holds},
            now=now,
            exposures=tuple(report.exposures),
            replanner=self.replanner,
            constraints=self.active_constraints(),
            risk_days=self._delays(),
            emissions=self.emissions,
        )
        incident = propose(matched, ctx, shadow=self.settings.shadow)
        incident, log = opening_moves(incident, at=now)
        if incident.state is S.proposed and self.settings.approve_all and incident.diff.applicable:
            incident, entry = transition(
                incident,
                S.approved,
                at=now,
                by=self.settings.approver,
                why="approved by the replay's approval policy",
            )
            log.append(entry)
        self.incidents[incident.id] = incident
        report.incidents.append(incident)
        report.audit.extend(log)

    def _apply_decided(self, now: datetime, report: TickReport) -> None:
        for incident in list(self.incidents.values()):
            if incident.state in (S.approved, S.auto_approved):
                self._applying = incident.id
                try:
                    moved, entry = apply(incident, self, at=now)
                finally:
                    self._applying = None
                self.incidents[moved.id] = moved
                self.fired_at[(moved.playbook_id, moved.alert.target)] = now
                report.incidents.append(moved)
                report.audit.append(entry)

    def _on_clear(self, alert: Alert, now: datetime, report: TickReport) -> None:
        for incident in list(self.incidents.values()):
            if incident.alert_id != alert.id:
                continue
            moved, log = after_clear(incident, self, at=now)
            if log:
                self.incidents[moved.id] = moved
                report.incidents.append(moved)
                report.audit.extend(log)

    def _expire_stale(self, now: datetime, report: TickReport) -> None:
        for incident in list(self.incidents.values()):
            playbook = self.playbook_by_id.get(incident.playbook_id)
            if playbook is not None and stale(incident, now=now, playbook=playbook):
                moved, entry = transition(
                    incident,
                    S.expired,
                    at=now,
                    why=f"nobody decided within {playbook.expire_after}",
                )
                self.incidents[moved.id] = moved
                report.incidents.append(moved)
                report.audit.append(entry)

    def _trim_history(self, now: datetime) -> None:
        if self.history.empty:
            return
        cutoff = pd.Timestamp(now - self.settings.history)
        keep = self.history["ts"] >= cutoff
        # Announced changes and readings that still run keep their rows beyond the window.
        if "expected_until" in self.history:
            keep |= self.history["expected_until"].fillna(cutoff) > cutoff
        if not keep.all():
            self.history = self.history[keep].reset_index(drop=True)


def empty_signal_frame() -> pd.DataFrame:
    return signals_frame([])


def reserved_lane_capacity(
    routes: Mapping[str, Routes], now: datetime, exclude: set[str] | frozenset[str] = frozenset()
) -> dict[tuple[str, int], float]:
    """Units each (lane, departure day) already carries in the plan of record, in the planner's
    day buckets from `now` (departures before `now` no longer take capacity)."""
    taken: dict[tuple[str, int], float] = {}
    for sid, assignments in routes.items():
        if sid in exclude:
            continue
        for assignment in assignments:
            if assignment.legs and assignment.legs[-1].depart_at < now:
                continue  # every leg has left: it no longer takes capacity ahead
            for leg in assignment.legs:
                offset = (leg.depart_at - now) / timedelta(days=1)
                if offset < 0:
                    continue
                key = (leg.lane, math.floor(offset + 1e-9))
                taken[key] = taken.get(key, 0.0) + assignment.units
    return taken
