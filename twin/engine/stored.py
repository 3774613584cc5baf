"""The engine state in the store: loaded at a pass's `now` and saved back, in the pass's one
transaction.

Loading gathers the EngineState (twin/engine/state.py) from the store's tables: the active
shipments and their plan of record (re-timed by carriers' actual events), the alert state with
people's silences and acks, the incidents the engine still acts on or remembers for cooldowns,
what applied incidents keep in force (asked of the action registry, as apply would set it), and
the signal history. Saving writes the difference a tick made: scores (when they moved), alert
episodes and state, new incidents and transitions with their audit entries, changed routes,
and the pages the incidents' states call for (twin.notify.paging), queued in the outbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from twin.domain.incidents import IncidentState
from twin.domain.plans import Routes
from twin.domain.records import Shipment
from twin.engine.context import Service
from twin.engine.engine import TickReport
from twin.engine.state import EngineState
from twin.notify.paging import incident_pages
from twin.playbook.actions import in_force
from twin.playbook.incidents import REPROPOSE
from twin.playbook.runner import plan_rollback
from twin.scoring.scorers import to_risk_scores
from twin.shipments.tracking import follow_events
from twin.store.alerts import (
    latest_scores,
    list_acks,
    list_silences,
    load_state,
    save_alerts,
    save_scores,
    save_state,
)
from twin.store.incidents import (
    INCIDENTS,
    StaleState,
    list_incidents,
    save_incident,
    save_reproposal,
    save_transition,
)
from twin.store.routes import enqueue_notifications, get_routes, route_times, save_routes
from twin.store.shipments import (
    ShipmentStatus,
    delete_shipments,
    get_shipments,
    save_shipments,
)
from twin.store.signals import signals_between
from twin.store.stock import save_stock_position
from twin.store.tracking import shipment_events_since

S = IncidentState
ACTIVE = (ShipmentStatus.planned, ShipmentStatus.in_transit)
# How far back incidents count for playbook cooldowns after a restart.
COOLDOWN_MEMORY = timedelta(days=14)
# Incidents that changed this recently are paged (each event once): wider than any pass, so
# none is missed, and bounded, so the first pass after an upgrade does not page old history.
PAGE_WINDOW = timedelta(days=1)


class PassConflict(RuntimeError):
    """The store changed under a pass (e.g. a person moved an incident meanwhile); the pass is
    rolled back whole and the next one starts from what is stored."""


@dataclass
class Loaded:
    """The engine state as the store has it, and what is needed to write back the difference."""

    state: EngineState
    states: dict[str, IncidentState]  # each loaded incident's stored state
    # Routes given back to shipments whose incident a person rolled back in the store.
    restored: dict[str, Routes] = field(default_factory=dict)
    # Routes that carriers' actual events re-timed since they were stored.
    followed: dict[str, Routes] = field(default_factory=dict)
    # Stock moves a person rolled back in the store: records restored, shipments removed.
    booked: dict[str, Shipment] = field(default_factory=dict)
    unbooked: set[str] = field(default_factory=set)


def load_engine_state(service: Service, session: Session, now: datetime) -> Loaded:
    """The engine state as the store has it at `now` (see the module docstring)."""
    name = service.network_name
    active = get_shipments(
        session, network_name=name, status=ACTIVE, memo=service.decoded_shipments
    )
    shipments = {s.id: s for s in active}
    routes, followed = _routes_and_followed(service, session, now, shipments)
    stored = load_state(session)
    silences = tuple(s for s in list_silences(session) if s.ends_at > now)
    alert_state = stored.model_copy(
        update={"silences": silences, "acks": tuple(list_acks(session))}
    )
    open_ids = set(alert_state.alerts)
    state = EngineState(shipments=shipments, routes=routes, alert_state=alert_state)
    states: dict[str, IncidentState] = {}
    for incident in list_incidents(session, memo=service.decoded_incidents):
        keep = (
            not incident.state.terminal
            or incident.alert_id in open_ids
            or incident.updated_at >= now - COOLDOWN_MEMORY
        )
        if not keep:
            continue
        state.incidents[incident.id] = incident
        states[incident.id] = incident.state
        if incident.state in (S.applied, S.rolled_back):
            key = (incident.playbook_id, incident.alert.target)
            # Applied at or after its creation: the creation time is a safe lower bound.
            at = incident.updated_at if incident.state is S.applied else incident.created_at
            state.cooldowns[key] = max(state.cooldowns.get(key, at), at)
    # An applied incident keeps in force what its actions left in force when it was applied
    # (its last move, so its `updated_at`), as far as their `until` allows.
    state.in_force = tuple(
        item
        for incident in state.incidents.values()
        if incident.state is S.applied
        for item in in_force(incident, incident.updated_at)
        if not item.lifted(now)
    )
    loaded = Loaded(state, states, followed=followed)
    _restore_rolled_back(service, session, loaded)
    state.history = signals_between(
        session, start=now - service.settings.history, end=now + timedelta(seconds=1)
    )
    return loaded


def _routes_and_followed(
    service: Service, session: Session, now: datetime, active: Mapping[str, object] | None
) -> tuple[dict[str, Routes], dict[str, Routes]]:
    """The plan of record of the shipments in flight (of `active`, when given) re-timed by
    carriers' actual events of the `history` window, and the routes those events moved."""
    stored_routes = get_routes(
        session, network_name=service.network_name, status=ACTIVE, memo=service.decoded_routes
    )
    routes = (
        {sid: r for sid, r in stored_routes.items() if sid in active}
        if active is not None
        else dict(stored_routes)
    )
    followed = follow_events(
        routes, shipment_events_since(session, since=now - service.settings.history), now
    )
    routes.update(followed)
    return routes, followed


def routes_in_force(service: Service, session: Session, now: datetime) -> dict[str, Routes]:
    """The plan of record of the shipments in flight as a pass sees it (re-timed by carriers'
    events), without the rest of the engine state: the replan job's view when it has
    nothing to plan."""
    return _routes_and_followed(service, session, now, None)[0]


def rollbacks_pending(session: Session, now: datetime) -> bool:
    """Whether a rolled-back incident is among those loading the engine state considers (its
    alert open, or moved within COOLDOWN_MEMORY): the load may give its shipments their
    earlier routes (and undo its stock moves), so only the full load sees the plan of record
    as a pass will have it."""
    rows = session.execute(
        select(INCIDENTS.c.alert_id, INCIDENTS.c.updated_at).where(
            INCIDENTS.c.state == S.rolled_back.value
        )
    ).all()
    if not rows:
        return False
    open_ids = set(load_state(session).alerts)
    return any(
        alert_id in open_ids or updated_at >= now - COOLDOWN_MEMORY for alert_id, updated_at in rows
    )


def _restore_rolled_back(service: Service, session: Session, loaded: Loaded) -> None:
    """A person rolled an incident back in the store (`twin incidents rollback`): give its
    shipments their earlier routes, as far as the point of no return allows, once."""
    state = loaded.state
    rolled = [i for i in state.incidents.values() if i.state is S.rolled_back]
    if not rolled:
        return
    written = route_times(session, network_name=service.network_name)
    for incident in rolled:
        new: dict[str, list[Any]] = {}
        for assignment in incident.new_routes:
            new.setdefault(assignment.shipment, []).append(assignment)
        for sid, old in plan_rollback(incident, incident.updated_at).restore.items():
            current = state.routes.get(sid)
            if current is None or sid not in new or tuple(new[sid]) != tuple(current):
                continue  # already restored, or moved on since
            if written.get(sid) is not None and written[sid] >= incident.updated_at:
                continue
            state.routes[sid] = tuple(old)
            loaded.restored[sid] = tuple(old)
        for move in incident.moves:
            # As runner.rollback does: before its freight left, a created shipment goes and a
            # changed one gets its old record back (once: while the stored record is the new).
            if move.no_return_at is not None and incident.updated_at >= move.no_return_at:
                continue
            if state.shipments.get(move.shipment) != move.booked:
                continue
            if move.replaced is None:
                state.shipments.pop(move.shipment, None)
                state.routes.pop(move.shipment, None)
                loaded.restored.pop(move.shipment, None)
                loaded.unbooked.add(move.shipment)
            else:
                state.shipments[move.shipment] = move.replaced
                loaded.booked[move.shipment] = move.replaced
            if move.parent is not None and move.parent_replaced is not None:
                state.shipments[move.parent] = move.parent_replaced
                loaded.booked[move.parent] = move.parent_replaced


def save_engine_state(
    service: Service,
    session: Session,
    loaded: Loaded,
    after: EngineState,
    report: TickReport,
    now: datetime,
) -> None:
    """Write what one tick did (from `loaded` to `after`), in the caller's transaction.

    Raises PassConflict when an incident moved in the store since it was loaded."""
    scores = to_risk_scores(report.scores, now) if not report.scores.empty else []
    stored = {(s.target, s.dimension): round(s.score, 4) for s in latest_scores(session)}
    fresh = {(s.target, s.dimension): round(s.score, 4) for s in scores}
    if any(stored.get(key) != value for key, value in fresh.items()):
        save_scores(session, scores=scores)  # only when they moved: a quiet pass writes nothing
    alerts = {e.alert.id: e.alert for e in report.events}
    alerts.update({a.id: a for a in after.alert_state.alerts.values() if a.id not in alerts})
    save_alerts(session, alerts=list(alerts.values()))
    save_state(
        session, state=after.alert_state.model_copy(update={"silences": (), "acks": ()}), at=now
    )
    if report.stock is not None:
        save_stock_position(
            session,
            warehouses=list(report.stock.warehouses.values()),
            at=now,
            currency=service.network.currency,
        )
    order: list[str] = []
    for incident in report.incidents:
        if incident.id not in order:
            order.append(incident.id)
    for ident in order:
        final = after.incidents[ident]
        entries = [a for a in report.audit if a.incident_id == ident]
        if ident not in loaded.states:
            _, created = save_incident(session, incident=final, audit=entries)
            if not created:
                raise PassConflict(f"incident {ident} is already stored: the pass starts again")
            continue
        for entry in entries:
            try:
                if entry.action == REPROPOSE:  # a cut-short re-plan made again: its new plan
                    save_reproposal(
                        session,
                        incident=final.model_copy(
                            update={"state": entry.to_state, "updated_at": entry.at}
                        ),
                        entry=entry,
                    )
                    continue
                save_transition(
                    session,
                    incident=final.model_copy(update={"state": entry.to_state}),
                    entry=entry,
                )
            except StaleState as exc:
                raise PassConflict(str(exc)) from exc
    changed = {**loaded.restored, **report.rerouted}
    # Stock moves: the records they create or change first (their routes refer to them), and
    # those rolled back before they left removed.
    booked = {**loaded.booked, **report.booked}
    if booked:
        save_shipments(session, network_name=service.network_name, shipments=list(booked.values()))
    gone = (loaded.unbooked | report.unbooked) - set(booked)
    if gone:
        delete_shipments(session, network_name=service.network_name, ids=sorted(gone))
        changed = {sid: r for sid, r in changed.items() if sid not in gone}
    if loaded.followed:
        followed = {sid: routes for sid, routes in loaded.followed.items() if sid not in changed}
        save_routes(
            session, network_name=service.network_name, routes=followed, at=now, by="carrier events"
        )
    if changed:
        save_routes(session, network_name=service.network_name, routes=changed, at=now)
    # Paging follows the incidents' states (twin.notify.paging): each event once per incident.
    kinds = {name: channel.format for name, channel in service.channels.items()}
    for item in incident_pages(after.incidents.values(), kinds, since=now - PAGE_WINDOW):
        enqueue_notifications(session, items=[item], at=now)
