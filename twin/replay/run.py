"""Replay a scenario on a simulated clock: blind, news, engine, forewarned and hindsight.

- blind (also `baseline`): no monitors and no re-planning; shipments keep the plan made when
  they were booked (at their ready time, knowing nothing of the risks).
- news: the engine's scorers and alert rules on the same signals, no playbooks; each booking
  avoids every node, lane or chokepoint with an open alert; booked freight is never re-planned.
- engine: the very engine the daemon runs (twin.engine), fed only the scenario's signals as
  they fall due, with its playbooks; re-routes, holds and expedites it applies act in the world.
- forewarned (an extension, docs/replay.md): each shipment's cheapest journey with every effect
  known in advance, each lane's transit at its mean, sailed in the same world with the same
  draws: what foreknowledge of the disruption alone is worth.
- hindsight (the SPEC's bound): the same search knowing each shipment's transit draws too, the
  least any policy in this world can cost (twin.replay.hindsight); no run can cost less.

The effects act on the freight in every run; the engine never reads them. A replay is
deterministic for a given scenario and seed.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from twin.domain.durations import format_timestamp
from twin.domain.plans import Assignment, Routes
from twin.domain.records import Network, Shipment
from twin.domain.signals import Signal
from twin.engine.engine import Engine, EngineSettings
from twin.engine.state import EngineState
from twin.feeds.ingest import ingest_signals
from twin.network.graph import WhatIf
from twin.playbook.actions import render_steps
from twin.playbook.schema import Playbook, step_name, step_params
from twin.replay.alongside import Post, Take, alongside, can_fork
from twin.replay.demand import (
    URGENT_SUFFIX,
    ScenarioStock,
    StockPricer,
    scenario_stock,
    stock_kpis,
)
from twin.replay.hindsight import Expedite, forewarned_world, hindsight_outcomes
from twin.replay.scenario import LoadedScenario, Scenario
from twin.replay.world import UNSERVED_PENALTY, EffectBook, Outcome, World, outcomes
from twin.shipments.generate import generate_shipments
from twin.stock.pricing import FLOOR_PER_CBM_DAY

DAY = timedelta(days=1)
# After the scenario's window the world runs on (effects over) until all freight has arrived,
# so lateness caused inside the window counts in full, even for freight due after it.
SETTLE = timedelta(days=400)
RunProgress = Callable[[str, int, int], None]  # (run name, step, steps)
# Re-prices a day's bookings before the engine plans them: (batch, now, world) -> batch.
Pricer = Callable[[Sequence[Shipment], datetime, World], list[Shipment]]


@dataclass
class RunResult:
    name: str
    outcomes: list[Outcome]
    shipments: dict[str, Shipment]
    reroutes: int = 0  # shipments whose path changed
    holds: int = 0  # shipments a playbook held
    expedites: int = 0  # shipments whose customs clearance was bought shorter
    diversions: int = 0  # shipments diverted under way
    event_leads: list[dict[str, Any]] = field(default_factory=list)
    # Targets of the open, unmuted alerts at each booking (the engine run): what `news` avoids.
    open_alerts: dict[datetime, frozenset[str]] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    playbook_runs: list[dict[str, Any]] = field(default_factory=list)
    lead_hours: list[float] = field(default_factory=list)
    seconds: float = 0.0
    timeline: list[dict[str, Any]] = field(default_factory=list)
    # Each re-route the engine applied: {"at", "shipment", "old": [lanes per part], "new": [...]}.
    reroute_log: list[dict[str, Any]] = field(default_factory=list)
    # The same policy in a world without the scenario's effects (blind and forewarned only).
    undisturbed: RunResult | None = None
    # Seconds per stage of the engine run: score, alerts, respond (exposure, playbooks,
    # re-plans), plan (new bookings), world.
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def kpis(self) -> dict[str, Any]:
        late_by_shipment: dict[str, bool] = defaultdict(bool)
        late_units = transport = lateness = unserved_units = unserved = co2e = 0.0
        for outcome in self.outcomes:
            co2e += outcome.co2e_kg
            # Unserved units never arrive: they count as late shipments, at the penalty.
            late = outcome.late_days > 1e-9 or outcome.unserved_cost > 0
            late_by_shipment[outcome.shipment] |= late
            if outcome.unserved_cost > 0:
                unserved_units += outcome.units
            else:
                late_units += outcome.units if late else 0.0
            transport += outcome.transport_cost
            lateness += outcome.lateness_cost
            unserved += outcome.unserved_cost
        count = len(late_by_shipment) or 1
        return {
            "on_time_rate": round(sum(not v for v in late_by_shipment.values()) / count, 4),
            "late_units": round(late_units, 2),
            "unserved_units": round(unserved_units, 2),
            "transport_cost": round(transport, 2),
            "lateness_cost": round(lateness, 2),
            "unserved_cost": round(unserved, 2),
            "total_cost": round(transport + lateness + unserved, 2),
            "co2e_kg": round(co2e, 2),
        }


def scenario_shipments(loaded: LoadedScenario) -> list[Shipment]:
    scenario = loaded.scenario
    if loaded.shipments_path is not None:
        from twin.files.shipments import load_shipments

        return load_shipments(loaded.shipments_path, loaded.network)[0]
    spec = scenario.shipments.generate
    assert spec is not None
    return generate_shipments(
        loaded.network,
        start=scenario.start,
        days=scenario.shipment_days,
        per_day=spec.per_day,
        seed=scenario.shipment_seed,
        markets=spec.markets,
    )


def tick_times(scenario: Scenario) -> list[datetime]:
    steps = math.ceil(scenario.window / scenario.tick)
    return [scenario.start + i * scenario.tick for i in range(steps + 1)]


def _batches(
    shipments: Sequence[Shipment], ticks: list[datetime], every: timedelta = DAY
) -> list[list[Shipment]]:
    """Shipments booked at each tick: once a day (`every`), those ready before the next
    booking; ticks in between book nothing."""
    out: list[list[Shipment]] = [[] for _ in ticks]
    index = 0
    ordered = sorted(shipments, key=lambda s: (s.ready_at, s.id))
    booking: datetime | None = None
    for i, tick in enumerate(ticks):
        if booking is not None and tick < booking + every and i + 1 < len(ticks):
            continue
        booking = tick
        upto = tick + every if i + 1 < len(ticks) else datetime.max.replace(tzinfo=tick.tzinfo)
        while index < len(ordered) and ordered[index].ready_at < upto:
            out[i].append(ordered[index])
            index += 1
    return out


def _world(loaded: LoadedScenario, seed: int) -> tuple[World, EffectBook]:
    scenario = loaded.scenario
    book = EffectBook.of(scenario.effects, scenario.end)
    return World(loaded.network, book, seed=seed), book


def _due_signals(signals: list[Signal], start: int, tick: datetime) -> tuple[list[Signal], int]:
    """The signals that fall due by `tick` from index `start`, and the next index."""
    end = start
    while end < len(signals) and signals[end].ts <= tick:
        end += 1
    return signals[start:end], end


def run_blind(
    loaded: LoadedScenario,
    shipments: Sequence[Shipment],
    *,
    seed: int,
    progress: RunProgress | None = None,
) -> RunResult:
    """Plan each booking as it comes, knowing nothing of the risks, and let the world play out;
    the same plans also run in a world without the effects (`undisturbed`)."""
    scenario = loaded.scenario
    started = time.perf_counter()
    world, _ = _world(loaded, seed)
    planner = Engine.from_state(loaded.network, [], EngineState(), EngineSettings())
    ticks = tick_times(scenario)
    # The blind plans also run in a world where nothing happens: the difference is what the
    # disruption costs when nobody acts (same seed, so the same transit draws).
    calm = World(loaded.network, EffectBook.of((), scenario.end), seed=seed)
    for step, (tick, batch) in enumerate(zip(ticks, _batches(shipments, ticks))):
        if batch:
            planner.plan_shipments(batch, tick, use_risk=False)
            for shipment in batch:
                route = planner.routes.get(shipment.id, ())
                world.dispatch(shipment, route)
                calm.dispatch(shipment, route)
        if progress:
            progress("blind", step + 1, len(ticks))
    world.advance(scenario.end + SETTLE)
    result = RunResult(
        "blind",
        outcomes(world),
        {s.id: s for s in shipments},
        seconds=time.perf_counter() - started,
    )
    calm.advance(scenario.end + SETTLE)
    result.undisturbed = RunResult("undisturbed", outcomes(calm), result.shipments)
    return result


run_baseline = run_blind  # the name `twin calibrate` and older callers use


def normal_flow(
    loaded: LoadedScenario, node: str, start: datetime, end: datetime, *, seed: int | None = None
) -> float:
    """Units a day arriving at `node` from `start` to `end` in the replay's normal routing: the
    blind plans (booked knowing nothing of the risks) in the world without the scenario's
    effects. A published throughput cut is a share of this (docs/scenarios.md, *Throughput*)."""
    scenario = loaded.scenario
    shipments = scenario_shipments(loaded)
    planner = Engine.from_state(loaded.network, [], EngineState(), EngineSettings())
    calm = World(
        loaded.network,
        EffectBook.of((), scenario.end),
        seed=scenario.seed if seed is None else seed,
    )
    ticks = tick_times(scenario)
    for tick, batch in zip(ticks, _batches(shipments, ticks)):
        if batch:
            planner.plan_shipments(batch, tick, use_risk=False)
            for shipment in batch:
                calm.dispatch(shipment, planner.routes.get(shipment.id, ()))
    calm.advance(scenario.end + SETTLE)
    units = sum(
        part.route.units
        for parts in calm.journeys.values()
        for part in parts
        for leg in part.legs_taken
        if leg.to_node == node and start <= leg.arrive_at < end
    )
    return units / ((end - start) / DAY)


def run_news(
    loaded: LoadedScenario,
    shipments: Sequence[Shipment],
    *,
    seed: int,
    settings: EngineSettings | None = None,
    alerts: Mapping[datetime, frozenset[str]] | None = None,
    progress: RunProgress | None = None,
) -> RunResult:
    """The planner who reads the news: the engine's scorers and alert rules on the same signals,
    no playbooks; each booking avoids every node, lane or chokepoint with an open (unmuted)
    alert, at warn or above; booked freight is never re-planned. Shipments the avoidance leaves
    with no route are booked as if there were no alert (a planner avoids where they can).

    `alerts`: the open alerts' targets at each booking tick, from an engine run on the same
    signals (scores and alerts depend on the signals alone, not on what the engine does), so a
    replay scores once; without it this run scores and alerts by itself."""
    scenario = loaded.scenario
    started = time.perf_counter()
    world, _ = _world(loaded, seed)
    engine = Engine.from_state(
        loaded.network, [], EngineState(), settings or EngineSettings(rescore_every=DAY)
    )
    signals = sorted(scenario.signal_records(), key=lambda s: s.ts)
    ticks = tick_times(scenario)
    result = RunResult("news", [], {s.id: s for s in shipments})
    next_signal = 0
    for step, (tick, batch) in enumerate(zip(ticks, _batches(shipments, ticks))):
        if alerts is None:
            due, next_signal = _due_signals(signals, next_signal, tick)
            if due:
                engine.ingest(ingest_signals(due, loaded.network, name="scenario").frame)
            engine.tick(tick)
        if batch:
            avoid = alerts.get(tick, frozenset()) if alerts is not None else None
            if avoid is None:
                avoid = _open_alert_targets(engine)
            engine.plan_shipments(
                batch, tick, use_risk=False, extra=WhatIf(avoid=avoid) if avoid else None
            )
            stranded = [s for s in batch if _routed_units(engine.routes, s) < s.units - 1e-9]
            if avoid and stranded:
                engine.plan_shipments(stranded, tick, use_risk=False)
                result.reroutes += len(stranded)  # here: bookings that could not avoid
            for shipment in batch:
                world.dispatch(shipment, engine.routes.get(shipment.id, ()))
        if progress:
            progress("news", step + 1, len(ticks))
    world.advance(scenario.end + SETTLE)
    result.outcomes = outcomes(world)
    result.seconds = time.perf_counter() - started
    return result


def _open_alert_targets(engine: Engine) -> frozenset[str]:
    return frozenset(a.target for a in engine.alert_state.open_alerts if not a.muted)


def _routed_units(routes: Mapping[str, Routes], shipment: Shipment) -> float:
    return sum(a.units for a in routes.get(shipment.id, ()))


def expedite_options(playbooks: Sequence[Playbook]) -> list[Expedite]:
    """Every customs expedite the playbooks can buy (days saved, fee per unit)."""
    found = set()
    for playbook in playbooks:
        for step in playbook.actions:
            if step_name(step) == "expedite_customs":
                params = step_params(step)
                found.add(Expedite(params.saves_days, params.cost_per_unit))  # type: ignore[attr-defined]
    return sorted(found, key=lambda e: (e.saves_days, e.cost_per_unit))


def run_hindsight(
    loaded: LoadedScenario,
    shipments: Sequence[Shipment],
    playbooks: Sequence[Playbook],
    *,
    seed: int,
    progress: RunProgress | None = None,
) -> RunResult:
    """Hindsight, the SPEC's bound: each shipment's cheapest journey knowing every effect and
    every transit draw of the world, which no policy in this world can beat
    (twin.replay.hindsight)."""
    started = time.perf_counter()
    world, _ = _world(loaded, seed)
    result = RunResult(
        "hindsight",
        hindsight_outcomes(world, shipments, UNSERVED_PENALTY, expedite_options(playbooks)),
        {s.id: s for s in shipments},
    )
    if progress:
        progress("hindsight", 1, 1)
    result.seconds = time.perf_counter() - started
    return result


def run_forewarned(
    loaded: LoadedScenario,
    shipments: Sequence[Shipment],
    playbooks: Sequence[Playbook],
    *,
    seed: int,
    progress: RunProgress | None = None,
    diagnostics: bool = True,
) -> RunResult:
    """Forewarned: each shipment's cheapest journey with every effect known in advance, planned
    on each lane's mean transit (no policy can know a shipment's transit draw), then sailed in
    the same world with the same draws as the other runs.

    `diagnostics` also sails the same planner in the world without the effects
    (`RunResult.undisturbed`): what planning on mean transit alone is worth against blind."""
    started = time.perf_counter()
    world, _ = _world(loaded, seed)
    options = expedite_options(playbooks)
    until = loaded.scenario.end + SETTLE
    sailed = forewarned_world(world, shipments, UNSERVED_PENALTY, options, until=until)
    result = RunResult("forewarned", outcomes(sailed), {s.id: s for s in shipments})
    if diagnostics:
        # The planner rounds transit up and ignores its tail: it saves (or costs) something
        # against blind's plans with no disruption at all.
        calm = World(loaded.network, EffectBook.of((), loaded.scenario.end), seed=seed)
        result.undisturbed = RunResult(
            "forewarned-undisturbed",
            outcomes(forewarned_world(calm, shipments, UNSERVED_PENALTY, options, until=until)),
            result.shipments,
        )
    if progress:
        progress("forewarned", 1, 1)
    result.seconds = time.perf_counter() - started
    return result


def _expedites(incident: Any, engine: Engine) -> list[tuple[str, str, float, float]]:
    """(shipment, node, days saved, fee per unit) for each expedite an applied incident bought."""
    playbook = engine.playbook_by_id.get(incident.playbook_id)
    if playbook is None:
        return []
    steps = [(step_name(s), step_params(s)) for s in playbook.actions]
    bought = []
    for name, params in render_steps(
        [s for s in steps if s[0] == "expedite_customs"], incident.alert
    ):
        for change in incident.diff.changes:
            if change.action == name:
                bought.append(
                    (change.shipment, params.target, params.saves_days, params.cost_per_unit)  # type: ignore[attr-defined]
                )
    return bought


def run_engine(
    loaded: LoadedScenario,
    shipments: Sequence[Shipment],
    playbooks: Sequence[Playbook],
    *,
    seed: int,
    settings: EngineSettings | None = None,
    progress: RunProgress | None = None,
    price: Pricer | None = None,
    name: str = "engine",
    booked: Callable[[datetime, frozenset[str]], None] | None = None,
) -> RunResult:
    """The engine on the scenario's signals, re-routing freight in the world as it decides.

    `price`, given, re-prices each day's bookings before the engine plans them (the stock-aware
    engine: twin.replay.demand.StockPricer); the world carries the shipments as they are, so
    every run's outcomes are costed alike. `booked`, given, is told the open alerts' targets at
    each booking as the run goes (what `news` avoids there)."""
    scenario = loaded.scenario
    started = time.perf_counter()
    world, book = _world(loaded, seed)

    parent: Callable[[str], str] = getattr(price, "parent", lambda booked: booked)

    def tracking(now: datetime) -> dict[str, Routes]:
        # What carriers' track-and-trace would tell the engine: where freight really is, under
        # the id each part was booked as (a shipment the planner booked in parts: its parts').
        known: dict[str, list[Assignment]] = defaultdict(list)
        for sid, parts in world.journeys.items():
            if any(p.delivered_at is None for p in parts):
                for route in world.as_known(sid, now):
                    known[route.shipment].append(route)
        return {sid: tuple(routes) for sid, routes in known.items()}

    engine = Engine.from_state(
        loaded.network,
        playbooks,
        EngineState(),
        settings or EngineSettings(approve_all=True, rescore_every=DAY),
        tracking=tracking,
    )
    signals = sorted(scenario.signal_records(), key=lambda s: s.ts)
    ticks = tick_times(scenario)
    result = RunResult(name, [], {s.id: s for s in shipments})
    rerouted: set[str] = set()
    held: set[str] = set()
    expedited: set[str] = set()
    open_at: dict[str, int] = {}  # alert id -> its entry in result.alerts while it is open
    next_signal = 0
    world_s = 0.0
    summary: tuple[Any, list[dict[str, Any]], dict[str, float]] | None = None
    for step, (tick, batch) in enumerate(zip(ticks, _batches(shipments, ticks))):
        due = []
        while next_signal < len(signals) and signals[next_signal].ts <= tick:
            due.append(signals[next_signal])
            next_signal += 1
        if due:
            engine.ingest(ingest_signals(due, loaded.network, name="scenario").frame)
        clock = time.perf_counter()
        world.advance(tick)
        world_s += time.perf_counter() - clock
        report = engine.tick(tick)
        for booked_as, routes in report.rerouted.items():
            sid = parent(booked_as)
            if sid in world.journeys and routes:
                old = [
                    [*p.lanes_taken, *(leg.lane for leg in p.remaining)]
                    for p in world.journeys[sid]
                ]
                world.reroute(sid, routes, now=tick)
                new = [
                    [*p.lanes_taken, *(leg.lane for leg in p.remaining)]
                    for p in world.journeys[sid]
                ]
                if sorted(old) == sorted(new):
                    continue  # the same path (an expedite, a hold): not a re-route
                result.reroute_log.append(
                    {
                        "at": format_timestamp(tick),
                        "shipment": sid,
                        "old": old,
                        "new": [list(r.path) for r in routes],
                    }
                )
                rerouted.add(sid)
        for event in report.events:
            if event.kind == "opened":
                alert = event.alert
                result.alerts.append(
                    {
                        "opened_at": format_timestamp(alert.opened_at),
                        "target": alert.target,
                        "dimension": alert.dimension,
                        "severity": alert.severity.value,
                        "score": round(alert.score, 4),
                        "muted": alert.muted,
                    }
                )
                open_at[event.alert.id] = len(result.alerts) - 1
            elif event.kind == "cleared" and event.alert.id in open_at:
                result.alerts[open_at.pop(event.alert.id)]["cleared_at"] = format_timestamp(
                    event.at
                )
        for sid in map(parent, list(engine.holds)):
            if sid in world.journeys:
                # Held a tick at a time, as long as the playbook's hold lasts.
                world.hold(sid, tick + scenario.tick)
                held.add(sid)
        for incident in report.incidents:
            if incident.state.value == "applied":
                for booked_as, node, days, fee in _expedites(incident, engine):
                    sid = parent(booked_as)
                    if sid in world.journeys and world.expedite(sid, node, days, fee):
                        expedited.add(sid)
                result.playbook_runs.append(
                    {
                        "at": format_timestamp(tick),
                        "playbook": incident.playbook_id,
                        "alert_target": incident.alert.target,
                        "shipments": len(incident.diff.changes),
                        "cost_delta": round(incident.diff.cost_delta, 2),
                        "approved_by": incident.decided_by or "system",
                    }
                )
        if batch:
            result.open_alerts[tick] = _open_alert_targets(engine)
            if booked is not None:
                booked(tick, result.open_alerts[tick])
            planned = price(batch, tick, world) if price else batch
            engine.plan_shipments(planned, tick, use_risk=True)
            by_shipment: dict[str, list[Assignment]] = defaultdict(list)
            for shipment in planned:
                by_shipment[parent(shipment.id)].extend(engine.routes.get(shipment.id, ()))
            # A planner may send freight to another warehouse of the market (the stock-aware
            # engine's redirect): the world carries it there.
            sent_to = {parent(s.id): s.destination for s in planned}
            for shipment in batch:
                destination = sent_to.get(shipment.id, shipment.destination)
                if destination != shipment.destination:
                    shipment = shipment.model_copy(update={"destination": destination})
                world.dispatch(shipment, by_shipment[shipment.id])
        if not report.scores.empty:
            # Scores change once a rescoring (a day), ticks come every few hours: summarise a
            # frame once and repeat it while the engine keeps it.
            if summary is None or summary[0] is not report.scores:
                top = report.scores.sort_values("score", ascending=False).head(5)
                summary = (
                    report.scores,
                    [
                        {
                            "target": r.target,
                            "dimension": r.dimension,
                            "score": round(float(r.score), 3),
                        }
                        for r in top.itertuples()
                    ],
                    {
                        str(k): round(float(v), 3)
                        for k, v in report.scores.groupby("dimension")["score"].max().items()
                    },
                )
            result.timeline.append(
                {
                    "at": format_timestamp(tick),
                    "top": [dict(entry) for entry in summary[1]],
                    "max_by_dimension": dict(summary[2]),
                }
            )
        if progress:
            progress(name, step + 1, len(ticks))
    clock = time.perf_counter()
    world.advance(scenario.end + SETTLE)
    world_s += time.perf_counter() - clock
    result.outcomes = outcomes(world)
    result.reroutes = len(rerouted)
    result.holds = len(held)
    result.expedites = len(expedited)
    result.diversions = len(world.diverted)
    result.event_leads = event_leads(result.alerts, book, loaded.network)
    result.stage_seconds = {
        **{k: round(v, 2) for k, v in engine.seconds.items()},
        "world": round(world_s, 2),
    }
    result.lead_hours = warning_leads(result.alerts, book, loaded.network)
    result.seconds = time.perf_counter() - started
    return result


def warning_leads(alerts: list[dict[str, Any]], book: EffectBook, network: Network) -> list[float]:
    """Hours between each unmuted alert's opening and the first effect on its target (or on a
    node its lane passes), for alerts whose target the scenario really hit."""
    first_hit: dict[str, datetime] = {}
    for effect in book.effects:
        if effect.target not in first_hit or effect.at < first_hit[effect.target]:
            first_hit[effect.target] = effect.at
    leads: list[float] = []
    for alert in alerts:
        if alert["muted"]:
            continue
        target = alert["target"]
        lane = network.lane_by_id.get(target)
        touched = [target] + ([lane.from_, lane.to, *lane.via] if lane else [])
        hits = [first_hit[t] for t in touched if t in first_hit]
        if hits:
            opened = datetime.fromisoformat(alert["opened_at"])
            leads.append((min(hits) - opened) / timedelta(hours=1))
    return leads


def effect_episodes(book: EffectBook) -> list[dict[str, Any]]:
    """Effects on the same target that touch or overlap in time, merged: one disruption each
    (a closure and the backlog after it are one event)."""
    episodes: list[dict[str, Any]] = []
    for target, effects in sorted(book.by_target.items()):
        for effect in sorted(effects, key=lambda e: e.at):
            until = effect.until or book.end
            last = episodes[-1] if episodes and episodes[-1]["target"] == target else None
            if last is not None and effect.at <= last["until"]:
                last["until"] = max(last["until"], until)
                continue
            episodes.append({"target": target, "at": effect.at, "until": until})
    return sorted(episodes, key=lambda e: (e["at"], e["target"]))


def event_leads(
    alerts: list[dict[str, Any]], book: EffectBook, network: Network
) -> list[dict[str, Any]]:
    """Per effect episode: the first unmuted (paging) alert on its target, or on a lane through
    it, that was open at the impact or opened during the episode, and its lead in hours
    (negative: it came after the impact; None: no alert). An alert that cleared before the
    impact (a false alarm, or a warning dropped too soon) does not count, however early."""
    out: list[dict[str, Any]] = []
    for episode in effect_episodes(book):
        target = episode["target"]
        opened = []
        for alert in alerts:
            if alert["muted"]:
                continue
            lane = network.lane_by_id.get(alert["target"])
            # The target itself, or a chokepoint or border the alerted lane passes through (a
            # lane's ends are ports with alerts of their own; an alert on the lane for trouble
            # at Suez is no warning for Rotterdam).
            touched = {alert["target"], *(lane.via if lane else ())}
            when = datetime.fromisoformat(alert["opened_at"])
            cleared = alert.get("cleared_at")
            still_open = cleared is None or datetime.fromisoformat(cleared) > episode["at"]
            if target in touched and when <= episode["until"] and still_open:
                opened.append(when)
        first = min(opened, default=None)
        out.append(
            {
                "target": target,
                "at": format_timestamp(episode["at"]),
                "until": format_timestamp(episode["until"]),
                "lead_h": round((episode["at"] - first) / timedelta(hours=1), 1)
                if first is not None
                else None,
            }
        )
    return out


def _share(saved: float, possible: float) -> float | None:
    return round(saved / possible, 4) if possible > 1e-9 else None


# The runs that need nothing from the engine's: with workers=2 they run in a second process.
_BESIDE = ("blind", "forewarned", "hindsight")


class _Posted(Mapping[datetime, frozenset[str]]):
    """The engine's open alerts at each booking, taken as the engine (in the other process)
    posts them: (tick, targets) in time order, then None. Looking up a tick not posted yet
    waits for it; one the engine has passed without a booking is not there."""

    def __init__(self, take: Take):
        self._take = take
        self._seen: dict[datetime, frozenset[str]] = {}
        self._done = False

    def __getitem__(self, tick: datetime) -> frozenset[str]:
        while tick not in self._seen and not self._done:
            posted = self._take()
            if posted is None:
                self._done = True
            else:
                self._seen[posted[0]] = posted[1]
        return self._seen[tick]

    def __iter__(self) -> Iterator[datetime]:
        return iter(self._seen)

    def __len__(self) -> int:
        return len(self._seen)


def _nothing() -> None:
    return None


def _drop(message: Any) -> None:
    """Post nowhere: in one process news reads the engine's alerts from its result."""


def _lean(done: Any) -> Any:
    """A run's result without its shipments (the parent has them): less to send back."""
    for run in done if isinstance(done, tuple) else (done,):
        if isinstance(run, RunResult):
            run.shipments = {}
            if run.undisturbed is not None:
                run.undisturbed.shipments = {}
    return done


def _warm_planner(loaded: LoadedScenario, shipments: Sequence[Shipment]) -> None:
    """Plan the first booking on a throwaway planner: the planner's compiled kernels load on
    first use (a third of a second to a second), and loaded before a fork they serve both
    processes rather than loading in each."""
    ticks = tick_times(loaded.scenario)
    first = next((batch for batch in _batches(shipments, ticks) if batch), None)
    if first is not None:
        planner = Engine.from_state(loaded.network, [], EngineState(), EngineSettings())
        planner.plan_shipments(first, ticks[0], use_risk=False)


def _restore(run: RunResult, by_id: dict[str, Shipment]) -> None:
    """Give a run sent back by `_lean` its shipments again (one dict, as a run made here)."""
    run.shipments = dict(by_id)
    if run.undisturbed is not None:
        run.undisturbed.shipments = run.shipments


def replay(
    loaded: LoadedScenario,
    playbooks: Sequence[Playbook],
    *,
    approve: bool = True,
    seed: int | None = None,
    progress: RunProgress | None = None,
    diagnostics: bool = True,
    stock: bool = True,
    workers: int = 1,
) -> dict[str, Any]:
    """Run blind, news, engine, forewarned and hindsight on one scenario; the SPEC's `twin
    replay` document. `diagnostics`: also forewarned in the calm world (the calm-world part of
    its saving); every run, hindsight (the bound) included, is in the document either way.
    `stock=False` leaves out a scenario's stock data (the stock-aware engine's run and every
    run's sales KPIs), which Monte Carlo does not report.

    `workers=2` runs the runs that need nothing from the engine's in a forked second process
    while the engine and news run in this one (twin.replay.alongside); the document is the
    same as with 1 (each run sails its own seeded world), only sooner where two cores are free.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1 (got {workers})")
    scenario = loaded.scenario
    seed = scenario.seed if seed is None else seed
    shipments = scenario_shipments(loaded)
    stock_data = (
        scenario_stock(
            loaded.network,
            scenario.stock,
            shipments,
            start=scenario.start,
            seed=scenario.seed,
            path=loaded.stock_path,
        )
        if stock
        else None
    )
    # With stock data the stock-aware engine's run (the longest) goes beside blind, and news,
    # forewarned and hindsight stay with the engine: the two processes' shares even. Without,
    # news follows blind, forewarned and hindsight there, taking the engine's alerts at each
    # booking as the engine posts them.
    beside = ("blind", "engine_stock") if stock_data is not None else (*_BESIDE, "news")

    def run_one(name: str, report: RunProgress | None) -> Any:
        if name == "blind":
            return run_blind(loaded, shipments, seed=seed, progress=report)
        if name == "forewarned":
            return run_forewarned(
                loaded, shipments, playbooks, seed=seed, progress=report, diagnostics=diagnostics
            )
        if name == "hindsight":
            return run_hindsight(loaded, shipments, playbooks, seed=seed, progress=report)
        assert name == "engine_stock" and stock_data is not None
        return _stock_run(
            stock_data, loaded, shipments, playbooks, seed=seed, approve=approve, progress=report
        )

    def news_after(engine: RunResult | None, report: RunProgress | None, take: Take) -> RunResult:
        alerts = engine.open_alerts if engine is not None else _Posted(take)
        return run_news(loaded, shipments, seed=seed, alerts=alerts, progress=report)

    def engine_and(here: Sequence[str]) -> Callable[[RunProgress | None, Post], dict[str, Any]]:
        """The engine's run, then those of `here` (news, forewarned, hindsight) that follow
        it in this process; the engine posts its alerts at each booking as it goes."""

        def run(report: RunProgress | None, post: Post) -> dict[str, Any]:
            engine = run_engine(
                loaded,
                shipments,
                playbooks,
                seed=seed,
                progress=report,
                settings=EngineSettings(approve_all=approve, rescore_every=DAY),
                booked=lambda tick, targets: post((tick, targets)),
            )
            return {
                "engine": engine,
                **{
                    n: news_after(engine, report, _nothing) if n == "news" else run_one(n, report)
                    for n in here
                },
            }

        return run

    def the_others(report: RunProgress | None, take: Take) -> dict[str, Any]:
        return {
            name: _lean(news_after(None, report, take) if name == "news" else run_one(name, report))
            for name in beside
        }

    if workers > 1 and can_fork():
        _warm_planner(loaded, shipments)
        here = [n for n in ("news", "forewarned", "hindsight") if n not in beside]
        mine, theirs = alongside(the_others, engine_and(here), progress)
        by_id = {s.id: s for s in shipments}
        for run in theirs.values():
            _restore(run[0] if isinstance(run, tuple) else run, by_id)
    else:
        theirs = {"blind": run_one("blind", progress)}
        mine = engine_and(("news", "forewarned", "hindsight"))(progress, _drop)
        if stock_data is not None:
            theirs["engine_stock"] = run_one("engine_stock", progress)
    done = {**mine, **theirs}
    blind, engine, news = done["blind"], done["engine"], done["news"]
    forewarned, hindsight = done["forewarned"], done["hindsight"]
    engine_kpis = _engine_kpis(engine)
    with_stock = _stock_figures(
        stock_data,
        done.get("engine_stock"),
        loaded,
        {
            "blind": blind,
            "news": news,
            "engine": engine,
            "forewarned": forewarned,
            "hindsight": hindsight,
        },
    )
    totals = {
        name: run.kpis()["total_cost"]
        for name, run in (
            ("blind", blind),
            ("news", news),
            ("engine", engine),
            ("forewarned", forewarned),
            ("hindsight", hindsight),
        )
    }
    base = totals["blind"]
    possible = base - totals["hindsight"]  # the most any policy could save: the bound's
    foreseen = base - totals["forewarned"]  # what foreknowledge of the effects alone saves
    engine_saves = base - totals["engine"]
    calm = blind.undisturbed.kpis()["total_cost"] if blind.undisturbed else None
    calm_forewarned = (
        forewarned.undisturbed.kpis()["total_cost"] if forewarned.undisturbed else None
    )
    # Planning on mean transit saves something with no disruption at all; the rest of
    # forewarned's saving is what foreknowledge of the disruption is worth.
    calm_part = calm - calm_forewarned if calm is not None and calm_forewarned is not None else None
    stock_part = with_stock["kpis"]
    doc: dict[str, Any] = {
        "scenario": scenario.name,
        "seed": seed,
        "shipments": len(shipments),
        "blind": {**blind.kpis(), **stock_part.get("blind", {})},
        "baseline": {**blind.kpis(), **stock_part.get("blind", {})},
        "news": {**news.kpis(), **stock_part.get("news", {})},
        "engine": {**engine_kpis, **stock_part.get("engine", {})},
        "forewarned": {**forewarned.kpis(), **stock_part.get("forewarned", {})},
        "hindsight": {**hindsight.kpis(), **stock_part.get("hindsight", {})},
        "events": engine.event_leads,
        "saving": {
            "disruption_cost": round(base - calm, 2) if calm is not None else None,
            "engine_vs_blind": round(engine_saves, 2),
            "engine_vs_news": round(totals["news"] - totals["engine"], 2),
            "news_vs_blind": round(base - totals["news"], 2),
            "hindsight_vs_blind": round(possible, 2),
            "captured_share": _share(engine_saves, possible),
            "news_captured_share": _share(base - totals["news"], possible),
            "forewarned_vs_blind": round(foreseen, 2),
            "captured_share_of_forewarned": _share(engine_saves, foreseen),
            # What knowing each shipment's transit draws adds to forewarned: no policy's.
            "draws_part": round(totals["forewarned"] - totals["hindsight"], 2),
            "forewarned_vs_blind_undisturbed": round(calm_part, 2)
            if calm_part is not None
            else None,
            "captured_share_of_forewarned_disruption_part": _share(
                engine_saves, foreseen - calm_part
            )
            if calm_part is not None
            else None,
        },
        "bar": {
            # SPEC/issue bar: the engine costs no more than news + 0.1% of blind, and where
            # hindsight (the bound) saves at least 0.5% of blind it captures at least 80% of
            # that saving. Beside it, the same 80% of forewarned's saving.
            "engine_within_news": totals["engine"] <= totals["news"] + 0.001 * base,
            "hindsight_saving_pct": round(100 * possible / base, 3) if base > 0 else None,
            "captures_80pct": engine_saves >= 0.8 * possible if possible >= 0.005 * base else None,
            "forewarned_saving_pct": round(100 * foreseen / base, 3) if base > 0 else None,
            "captures_80pct_of_forewarned": engine_saves >= 0.8 * foreseen
            if foreseen >= 0.005 * base
            else None,
        },
        "alerts": [
            {k: v for k, v in a.items() if k not in ("muted", "cleared_at")}
            for a in engine.alerts
            if not a["muted"]
        ],
        "muted_alerts": sum(1 for a in engine.alerts if a["muted"]),
        "playbook_runs": engine.playbook_runs,
        "timing": {
            "blind_s": round(blind.seconds, 2),
            "news_s": round(news.seconds, 2),
            "engine_s": round(engine.seconds, 2),
            "forewarned_s": round(forewarned.seconds, 2),
            "hindsight_s": round(hindsight.seconds, 2),
            "engine_stages_s": engine.stage_seconds,
        },
        "_runs": {
            "blind": blind,
            "baseline": blind,
            "news": news,
            "engine": engine,
            "forewarned": forewarned,
            "hindsight": hindsight,
        },
    }
    if "engine_stock" in with_stock["runs"]:
        stock_engine = with_stock["runs"]["engine_stock"]
        doc["engine_stock"] = {**_engine_kpis(stock_engine), **stock_part["engine_stock"]}
        doc["stock_saving"] = with_stock["saving"]
        doc["stock_prices"] = with_stock["prices"]
        doc["timing"]["engine_stock_s"] = round(stock_engine.seconds, 2)
        doc["_runs"]["engine_stock"] = stock_engine
    return doc


def _engine_kpis(engine: RunResult) -> dict[str, Any]:
    kpis = engine.kpis()
    leads = engine.lead_hours
    per_event = [e["lead_h"] for e in engine.event_leads]
    warned = [v for v in per_event if v is not None]
    kpis.update(
        {
            "reroutes": engine.reroutes,
            "holds": engine.holds,
            "expedites": engine.expedites,
            "diversions": engine.diversions,
            "warning_lead_h_per_event": per_event,
            "mean_event_lead_h": round(sum(warned) / len(warned), 1) if warned else None,
            "mean_alert_lead_h": round(sum(leads) / len(leads), 1) if leads else None,
        }
    )
    return kpis


def _stock_run(
    stock: ScenarioStock,
    loaded: LoadedScenario,
    shipments: Sequence[Shipment],
    playbooks: Sequence[Playbook],
    *,
    seed: int,
    approve: bool,
    progress: RunProgress | None,
) -> tuple[RunResult, StockPricer]:
    """The stock-aware engine's run, and the pricer that priced its bookings."""
    pricer = StockPricer(stock, network=loaded.network)
    aware = run_engine(
        loaded,
        shipments,
        playbooks,
        seed=seed,
        progress=progress,
        settings=EngineSettings(approve_all=approve, rescore_every=DAY),
        price=pricer,
        name="engine_stock",
    )
    return aware, pricer


def _stock_figures(
    stock: ScenarioStock | None,
    stock_run: tuple[RunResult, StockPricer] | None,
    loaded: LoadedScenario,
    runs: dict[str, RunResult],
) -> dict[str, Any]:
    """With stock data: every run's sales KPIs (under `stock`), the stock-aware engine's run
    and its saving over the lateness-priced one; empty without."""
    if stock is None or stock_run is None:
        return {"kpis": {}, "runs": {}, "saving": {}, "prices": {}}
    aware, pricer = stock_run
    runs = {**runs, "engine_stock": aware}
    kpis = {
        name: {
            "stock": stock_kpis(
                stock,
                run.outcomes,
                run.shipments,
                pricer.part_lines if name == "engine_stock" else None,
            )
        }
        for name, run in runs.items()
    }
    network = loaded.network
    urgent_by_air = {
        o.shipment
        for o in aware.outcomes
        if o.part.endswith(URGENT_SUFFIX)
        and any(network.lane_by_id[lane].mode.value == "air" for lane in o.lanes)
    }
    total = {name: k["stock"]["stock_total_cost"] for name, k in kpis.items()}
    lost = {name: k["stock"]["lost_margin"] for name, k in kpis.items()}
    priced = sorted(pricer.prices.values())
    return {
        "kpis": kpis,
        "runs": {"engine_stock": aware},
        "saving": {
            "stock_total_cost": total,
            "engine_stock_vs_engine": round(total["engine"] - total["engine_stock"], 2),
            "engine_stock_vs_blind": round(total["blind"] - total["engine_stock"], 2),
            "engine_vs_blind": round(total["blind"] - total["engine"], 2),
            "lost_margin_engine_stock_vs_engine": round(lost["engine"] - lost["engine_stock"], 2),
        },
        "prices": {
            "shipments": len(priced),
            "at_floor": sum(1 for p in priced if p <= FLOOR_PER_CBM_DAY + 1e-9),
            "median_per_cbm_day": round(priced[len(priced) // 2], 2) if priced else None,
            "max_per_cbm_day": round(priced[-1], 2) if priced else None,
            "split_shipments": pricer.splits,
            "redirected_shipments": pricer.redirects,
            "urgent_parts_by_air": len(urgent_by_air),
        },
    }
