"""The daemon's two passes over the store, each one transaction.

- `monitor_pass`: the engine built from the stored engine state at `now` → one
  `Engine.tick(now)` → what it did saved back (twin/engine/stored.py); then the outbox is
  delivered (twin/engine/outbox.py).
- `replan_pass`: shipments with no plan of record yet → planned under the constraints and
  risks in force → their routes; shipments moved along their routes (planned → in transit →
  delivered).

The approval contract: people approve in the store (`twin incidents approve`, the console:
state `approved`); the next monitor pass applies it (Engine._apply_decided) and records
`applied` with its audit entry and the new routes.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime

from sqlmodel import Session

from twin.domain.incidents import IncidentState
from twin.domain.plans import Routes
from twin.engine.context import Service, carbon_replanner, load_shipment_file, stock_monitor
from twin.engine.engine import Engine, TickReport
from twin.engine.outbox import deliver_pending, resend_firing_alerts
from twin.engine.stored import (
    ACTIVE,
    Loaded,
    load_engine_state,
    rollbacks_pending,
    routes_in_force,
    save_engine_state,
)
from twin.schedule import metrics
from twin.store.db import write_scope
from twin.store.routes import save_routes
from twin.store.shipments import (
    ShipmentState,
    ShipmentStatus,
    get_shipment_states,
    set_shipment_states,
)

log = logging.getLogger("twin.daemon")
S = IncidentState
# Shipments planned per replan pass: bounds one pass's solve time (the rest wait for the next).
REPLAN_BATCH = 400


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for one pass (reference counting still frees
    what a pass drops). A pass holds every shipment in flight and its route (hundreds of
    thousands of objects at 50,000 shipments) and makes tens of thousands more; each full
    collection walked them all, a third of a pass's time outside the planner at that size.

    After the pass, what it made and still holds (most of it the decoded shipments and routes
    kept for the next pass) goes straight to the oldest generation: `gc.freeze()` then
    `gc.unfreeze()` moves every tracked object there without walking it. Re-enabled as it was,
    the collector would first have walked all of it as its youngest generation (0.35 s at
    50,000 shipments, in the pass's time); in the oldest, a full collection finds any cycles it
    left later, between passes. The collector runs again after it (in every thread: the pause
    is process-wide)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        if was:
            gc.enable()


def _gauges(engine: Engine) -> None:
    open_alerts = [a for a in engine.alert_state.alerts.values() if a.cleared_at is None]
    for severity in ("warn", "critical"):
        metrics.ALERTS_OPEN.labels(severity).set(
            sum(1 for a in open_alerts if a.severity.value == severity)
        )
    counts = {s.value: 0 for s in S}
    for incident in engine.incidents.values():
        counts[incident.state.value] += 1
    for state, count in counts.items():
        metrics.INCIDENTS.labels(state).set(count)


def _stored_engine(service: Service, session: Session, now: datetime) -> tuple[Loaded, Engine]:
    """The engine as the store holds it at `now` (both passes start from it)."""
    loaded = load_engine_state(service, session, now)
    engine = Engine.from_state(
        service.network,
        service.playbooks,
        loaded.state,
        service.settings,
        replanner=carbon_replanner(service),
        stock=stock_monitor(service),
        capacity=service.capacity,
    )
    return loaded, engine


def monitor_pass(
    service: Service,
    now: datetime,
    *,
    deliver_notifications: bool = True,
    started: float | None = None,
) -> TickReport:
    """Build the engine from the store, tick once at `now`, write what it did: one transaction.
    Then deliver queued notifications. Raises PassConflict if people moved an incident meanwhile
    (nothing of the pass is kept; the next pass sees their decision).

    started: when the pass began (`time.perf_counter()`; default: now): `[monitor]
    replan_budget` runs from it (`run_once` starts it before polling the feeds)."""
    started = time.perf_counter() if started is None else started
    with collector_paused(), service.step, write_scope(service.db) as session:
        loaded, engine = _stored_engine(service, session, now)
        report = engine.tick(now, started=started)
        report.rerouted = {**loaded.restored, **report.rerouted}
        save_engine_state(service, session, loaded, engine.state(), report, now)
        if not report.rerouted:
            # A quiet pass keeps it current (only what changed is taken in), so a pass in which
            # alerts fire finds the plan of record's reserved capacity ready; one that re-routed
            # freight leaves taking its routes in to the next pass.
            service.capacity.sync(engine.routes)
    _gauges(engine)
    for event in report.events:
        log.info(
            "alert %s: %s %s %s (score %.2f)",
            event.kind,
            event.alert.severity.value,
            event.alert.dimension,
            event.alert.target,
            event.alert.score,
            extra={"alert": event.alert.id, "kind": event.kind},
        )
    for ident, stops in report.stopped.items():
        for stop in stops:
            log.warning(
                "incident %s: %s", ident, stop, extra={"incident": ident, "replan": "stopped"}
            )
    for incident in {i.id: i for i in report.incidents}.values():
        final = engine.incidents[incident.id]
        log.info(
            "incident %s (%s on %s): %s",
            final.id,
            final.playbook_id,
            final.alert.target,
            final.state.value,
            extra={"incident": final.id, "state": final.state.value},
        )
    if deliver_notifications:
        deliver_pending(service, now)
        resend_firing_alerts(service, engine.incidents.values(), now)
    return report


def replan_pass(service: Service, now: datetime, *, batch: int = REPLAN_BATCH) -> int:
    """Plan shipments that have no plan of record yet (under the constraints and risks in force)
    and move shipments along their routes (planned → in_transit → delivered); one transaction.
    Returns how many shipments got a plan."""
    load_shipment_file(service)
    with collector_paused(), service.step, write_scope(service.db) as session:
        states = get_shipment_states(session, network_name=service.network_name, status=ACTIVE)
        routes = routes_in_force(service, session, now)
        if all(sid in routes for sid in states) and not rollbacks_pending(session, now):
            # Nothing to plan: where the freight is follows from the routes alone (the engine
            # state, with its signals and incidents, is not needed).
            _advance(service, session, routes, states, now)
            return 0
        _, engine = _stored_engine(service, session, now)
        _advance(service, session, engine.routes, states, now)
        todo = sorted(
            (s for sid, s in engine.shipments.items() if sid not in engine.routes),
            key=lambda s: (s.ready_at, s.id),
        )[:batch]
        if not todo:
            return 0
        engine.score(now)
        started = time.perf_counter()
        plan = engine.plan_shipments(todo, now)
        metrics.SOLVER_SECONDS.observe(time.perf_counter() - started)
        if not plan.status.applicable:
            log.warning(
                "re-plan of %d shipments: plan %s, nothing recorded (retried next pass)",
                len(todo),
                plan.status.value,
            )
            return 0
        save_routes(
            session,
            network_name=service.network_name,
            routes={s.id: engine.routes.get(s.id, ()) for s in todo},
            at=now,
            by="planner",
        )
    log.info("planned %d new shipments", len(todo), extra={"planned": len(todo)})
    return len(todo)


def _advance(
    service: Service,
    session: Session,
    plan: Mapping[str, Routes],
    states: Mapping[str, ShipmentState],
    now: datetime,
) -> None:
    """Shipments whose routes say they left or arrived change state (as the plan of record has it)."""
    moved: list[ShipmentState] = []
    for sid, routes in plan.items():
        legs = [leg for a in routes for leg in a.legs]
        state = states.get(sid)
        if not legs or state is None:
            continue
        if max(leg.arrive_at for leg in legs) <= now:
            status, node, at = (
                ShipmentStatus.delivered,
                legs[-1].to_node,
                max(leg.arrive_at for leg in legs),
            )
        elif min(leg.depart_at for leg in legs) <= now:
            moving = [leg for leg in legs if leg.depart_at <= now < leg.arrive_at]
            if moving:  # on its way from the node it last left
                current = max(moving, key=lambda leg: leg.depart_at)
                node, at = current.from_node, current.depart_at
            else:  # waiting at the node it last reached
                current = max(
                    (leg for leg in legs if leg.arrive_at <= now), key=lambda leg: leg.arrive_at
                )
                node, at = current.to_node, current.arrive_at
            status = ShipmentStatus.in_transit
        else:
            continue
        if state.status is not status or state.at_node != node:
            moved.append(ShipmentState(sid, status, node, at))
    # One statement for all: at 50,000 shipments in flight, one UPDATE each took seconds.
    set_shipment_states(session, network_name=service.network_name, states=moved)
