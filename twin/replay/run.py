"""Replay a scenario three ways on a simulated clock: baseline, engine, foresight.

- baseline: the same world with no monitors and no re-planning; shipments keep the plan made
  when they were booked (at their ready time, knowing nothing of the risks).
- engine: the very engine the daemon runs (twin.engine), fed only the scenario's signals as
  they fall due, with its playbooks; re-routes it applies change the freight's path in the world.
- foresight: shipments are planned knowing the effects in advance (closures, queues and delays
  turned into the planner's what-if): an estimate of what any engine could at best achieve.

The effects act on the freight in all three; the engine never reads them. A replay is
deterministic for a given scenario and seed.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from twin.domain.durations import format_timestamp
from twin.domain.plans import Leg, Routes
from twin.domain.records import Network, Shipment
from twin.engine.engine import Engine, EngineSettings
from twin.engine.state import EngineState
from twin.feeds.ingest import ingest_signals
from twin.network.graph import WhatIf
from twin.network.timing import earliest_offsets
from twin.playbook.schema import Playbook
from twin.replay.scenario import LoadedScenario, Scenario
from twin.replay.world import CONGESTION_SCALE_DAYS, EffectBook, Outcome, World, outcomes
from twin.scoring.exposure import passage_time
from twin.shipments.generate import generate_shipments

DAY = timedelta(days=1)
# After the scenario's window the world runs on (effects over) until all freight has arrived,
# so lateness caused inside the window counts in full, even for freight due after it.
SETTLE = timedelta(days=400)
RunProgress = Callable[[str, int, int], None]  # (run name, step, steps)


@dataclass
class RunResult:
    name: str
    outcomes: list[Outcome]
    shipments: dict[str, Shipment]
    reroutes: int = 0
    alerts: list[dict[str, Any]] = field(default_factory=list)
    playbook_runs: list[dict[str, Any]] = field(default_factory=list)
    lead_hours: list[float] = field(default_factory=list)
    seconds: float = 0.0
    timeline: list[dict[str, Any]] = field(default_factory=list)
    # Each re-route the engine applied: {"at", "shipment", "old": [lanes per part], "new": [...]}.
    reroute_log: list[dict[str, Any]] = field(default_factory=list)
    # The same plans in a world without the scenario's effects (the baseline run only).
    undisturbed: RunResult | None = None
    # Seconds per stage of the engine run: score, alerts, respond (exposure, playbooks,
    # re-plans), plan (new bookings), world.
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def kpis(self) -> dict[str, Any]:
        late_by_shipment: dict[str, bool] = defaultdict(bool)
        late_units = transport = lateness = co2e = 0.0
        for outcome in self.outcomes:
            co2e += outcome.co2e_kg
            late = outcome.late_days > 1e-9
            late_by_shipment[outcome.shipment] |= late
            late_units += outcome.units if late else 0.0
            transport += outcome.transport_cost
            lateness += outcome.lateness_cost
        count = len(late_by_shipment) or 1
        return {
            "on_time_rate": round(sum(not v for v in late_by_shipment.values()) / count, 4),
            "late_units": round(late_units, 2),
            "transport_cost": round(transport, 2),
            "lateness_cost": round(lateness, 2),
            "total_cost": round(transport + lateness, 2),
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


def foresight_whatif(
    book: EffectBook, network: Network, booked: datetime, offsets: dict[str, float]
) -> WhatIf:
    """What the effects will do to freight booked at `booked`, lane by lane, as a planner
    what-if: each lane is checked when such freight would be on it (leaving its start, passing
    its `via`, reaching its end), by the world's own rules. A closure still in force at the
    world's end hides the lane; a shorter one is a wait of its remaining length; a capacity cut
    is the queue it causes; delays and clearance times as they are."""
    avoid: set[str] = set()
    delay: dict[str, float] = defaultdict(float)
    for lane in network.lanes:
        offset = offsets.get(lane.from_)
        if offset is None:
            continue
        leave = booked + DAY * offset
        arrive = leave + DAY * lane.transit_days
        checks = [((lane.id, lane.from_), leave), ((lane.to,), arrive)]
        # Each chokepoint or border when the freight reaches it, as the world times it.
        leg = Leg(
            lane=lane.id, from_node=lane.from_, to_node=lane.to, depart_at=leave, arrive_at=arrive
        )
        checks += [((member,), passage_time(leg, member, network)) for member in lane.via]
        for targets, when in checks:
            reopen = book.reopens_at(targets, when)
            if reopen is not None:
                if reopen >= book.end:
                    avoid.add(lane.id)
                    break
                delay[lane.id] += (reopen - when) / DAY
            delay[lane.id] += book.queue_days(targets, when, CONGESTION_SCALE_DAYS)
            delay[lane.id] += book.delay_days(targets, when)
            if targets == (lane.to,):
                delay[lane.id] += book.clearance_days(lane.to, when)
    return WhatIf(avoid=frozenset(avoid), delay_days={k: v for k, v in delay.items() if v > 0})


def _world(loaded: LoadedScenario, seed: int) -> tuple[World, EffectBook]:
    scenario = loaded.scenario
    book = EffectBook.of(scenario.effects, scenario.end)
    return World(loaded.network, book, seed=seed), book


def run_baseline(
    loaded: LoadedScenario,
    shipments: Sequence[Shipment],
    *,
    seed: int,
    foresight: bool = False,
    progress: RunProgress | None = None,
) -> RunResult:
    """Plan each booking as it comes (blind, or knowing the effects) and let the world play out."""
    scenario = loaded.scenario
    started = time.perf_counter()
    world, book = _world(loaded, seed)
    planner = Engine.from_state(loaded.network, [], EngineState(), EngineSettings())
    offsets = earliest_offsets(loaded.network)
    ticks = tick_times(scenario)
    name = "foresight" if foresight else "baseline"
    # The baseline's blind plans also run in a world where nothing happens: the difference is
    # what the disruption costs when nobody acts (same seed, so the same transit draws).
    calm = None if foresight else World(loaded.network, EffectBook.of((), scenario.end), seed=seed)
    for step, (tick, batch) in enumerate(zip(ticks, _batches(shipments, ticks))):
        if batch:
            extra = foresight_whatif(book, loaded.network, tick, offsets) if foresight else None
            planner.plan_shipments(batch, tick, use_risk=False, extra=extra)
            for shipment in batch:
                route = planner.routes.get(shipment.id, ())
                world.dispatch(shipment, route)
                if calm is not None:
                    calm.dispatch(shipment, route)
        if progress:
            progress(name, step + 1, len(ticks))
    world.advance(scenario.end + SETTLE)
    result = RunResult(
        name, outcomes(world), {s.id: s for s in shipments}, seconds=time.perf_counter() - started
    )
    if calm is not None:
        calm.advance(scenario.end + SETTLE)
        result.undisturbed = RunResult("undisturbed", outcomes(calm), result.shipments)
    return result


def run_engine(
    loaded: LoadedScenario,
    shipments: Sequence[Shipment],
    playbooks: Sequence[Playbook],
    *,
    seed: int,
    settings: EngineSettings | None = None,
    progress: RunProgress | None = None,
) -> RunResult:
    """The engine on the scenario's signals, re-routing freight in the world as it decides."""
    scenario = loaded.scenario
    started = time.perf_counter()
    world, book = _world(loaded, seed)

    def tracking(now: datetime) -> dict[str, Routes]:
        # What carriers' track-and-trace would tell the engine: where freight really is.
        return {
            sid: world.as_known(sid, now)
            for sid, parts in world.journeys.items()
            if any(p.delivered_at is None for p in parts)
        }

    engine = Engine.from_state(
        loaded.network,
        playbooks,
        EngineState(),
        settings or EngineSettings(approve_all=True, rescore_every=DAY),
        tracking=tracking,
    )
    signals = sorted(scenario.signal_records(), key=lambda s: s.ts)
    ticks = tick_times(scenario)
    result = RunResult("engine", [], {s.id: s for s in shipments})
    rerouted: set[str] = set()
    next_signal = 0
    world_s = 0.0
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
        for sid, routes in report.rerouted.items():
            if sid in world.journeys and routes:
                old = [
                    [*p.lanes_taken, *(leg.lane for leg in p.remaining)]
                    for p in world.journeys[sid]
                ]
                world.reroute(sid, routes, now=tick)
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
        for incident in report.incidents:
            if incident.state.value == "applied":
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
            engine.plan_shipments(batch, tick, use_risk=True)
            for shipment in batch:
                world.dispatch(shipment, engine.routes.get(shipment.id, ()))
        if not report.scores.empty:
            top = report.scores.sort_values("score", ascending=False).head(5)
            result.timeline.append(
                {
                    "at": format_timestamp(tick),
                    "top": [
                        {
                            "target": r.target,
                            "dimension": r.dimension,
                            "score": round(float(r.score), 3),
                        }
                        for r in top.itertuples()
                    ],
                    "max_by_dimension": {
                        str(k): round(float(v), 3)
                        for k, v in report.scores.groupby("dimension")["score"].max().items()
                    },
                }
            )
        if progress:
            progress("engine", step + 1, len(ticks))
    clock = time.perf_counter()
    world.advance(scenario.end + SETTLE)
    world_s += time.perf_counter() - clock
    result.outcomes = outcomes(world)
    result.reroutes = len(rerouted)
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


def replay(
    loaded: LoadedScenario,
    playbooks: Sequence[Playbook],
    *,
    approve: bool = True,
    seed: int | None = None,
    progress: RunProgress | None = None,
) -> dict[str, Any]:
    """Run baseline, engine and foresight on one scenario; the SPEC's `twin replay` document."""
    scenario = loaded.scenario
    seed = scenario.seed if seed is None else seed
    shipments = scenario_shipments(loaded)
    baseline = run_baseline(loaded, shipments, seed=seed, progress=progress)
    engine = run_engine(
        loaded,
        shipments,
        playbooks,
        seed=seed,
        progress=progress,
        settings=EngineSettings(approve_all=approve, rescore_every=DAY),
    )
    foresight = run_baseline(loaded, shipments, seed=seed, foresight=True, progress=progress)
    engine_kpis = engine.kpis()
    engine_kpis["reroutes"] = engine.reroutes
    leads = engine.lead_hours
    engine_kpis["mean_warning_lead_h"] = round(sum(leads) / len(leads), 1) if leads else None
    base_total = baseline.kpis()["total_cost"]
    best_total = foresight.kpis()["total_cost"]
    achievable = base_total - best_total
    return {
        "scenario": scenario.name,
        "seed": seed,
        "shipments": len(shipments),
        "baseline": baseline.kpis(),
        "engine": engine_kpis,
        "foresight": {k: v for k, v in foresight.kpis().items()},
        "saving": {
            "disruption_cost": round(base_total - baseline.undisturbed.kpis()["total_cost"], 2)
            if baseline.undisturbed
            else None,
            "engine_vs_baseline": round(base_total - engine_kpis["total_cost"], 2),
            "foresight_vs_baseline": round(achievable, 2),
            "captured_share": round((base_total - engine_kpis["total_cost"]) / achievable, 4)
            if achievable > 1e-9
            else None,
        },
        "alerts": [
            {k: v for k, v in a.items() if k != "muted"} for a in engine.alerts if not a["muted"]
        ],
        "muted_alerts": sum(1 for a in engine.alerts if a["muted"]),
        "playbook_runs": engine.playbook_runs,
        "timing": {
            "baseline_s": round(baseline.seconds, 2),
            "engine_s": round(engine.seconds, 2),
            "foresight_s": round(foresight.seconds, 2),
            "engine_stages_s": engine.stage_seconds,
        },
        "_runs": {"baseline": baseline, "engine": engine, "foresight": foresight},
    }
