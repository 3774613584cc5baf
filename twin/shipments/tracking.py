"""Carriers' actual events move the plan of record: a shipment's routes re-timed by where its
freight really was (DCSA Track & Trace ACT events, docs/signals.md). Pure: no clock, no I/O.

Rules:
- an arrival-like event (ARRI, DISC, GTIN) at node X at time t sets the arrival of the leg
  ending at X to t; a departure-like one (DEPA, LOAD, GTOT) sets the departure of the leg
  leaving X to t, its arrival keeping the planned transit;
- legs before it that would end later than that are cut back to it (they are done);
- each later leg leaves no earlier than planned, and no earlier than the freight can: the
  planned gap after the previous arrival (handling, clearance, waiting) is kept. Late freight
  pushes the rest of the route back; early freight waits for its planned departures;
- where a node appears on several legs, the leg whose planned time is nearest the event counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from twin.domain.plans import Assignment, Leg
from twin.domain.signals import ShipmentPosition

ARRIVAL_EVENTS = frozenset({"ARRI", "DISC", "GTIN"})
DEPARTURE_EVENTS = frozenset({"DEPA", "LOAD", "GTOT"})


def _pick(legs: Sequence[Leg], node: str, event: str, at: datetime) -> int | None:
    if event in ARRIVAL_EVENTS:
        found = [
            (abs((leg.arrive_at - at).total_seconds()), i)
            for i, leg in enumerate(legs)
            if leg.to_node == node
        ]
    elif event in DEPARTURE_EVENTS:
        found = [
            (abs((leg.depart_at - at).total_seconds()), i)
            for i, leg in enumerate(legs)
            if leg.from_node == node
        ]
    else:
        return None
    return min(found)[1] if found else None


def _retimed(route: Assignment, k: int, event: str, at: datetime) -> Assignment:
    legs = list(route.legs)
    leg = legs[k]
    if event in ARRIVAL_EVENTS:
        legs[k] = leg.model_copy(update={"arrive_at": at, "depart_at": min(leg.depart_at, at)})
    else:
        legs[k] = leg.model_copy(
            update={"depart_at": at, "arrive_at": at + (leg.arrive_at - leg.depart_at)}
        )
    for j in range(k - 1, -1, -1):
        later = legs[j + 1].depart_at
        if legs[j].arrive_at > later:
            legs[j] = legs[j].model_copy(
                update={"arrive_at": later, "depart_at": min(legs[j].depart_at, later)}
            )
    for j in range(k + 1, len(legs)):
        planned, before = route.legs[j], route.legs[j - 1]
        depart = max(
            planned.depart_at, legs[j - 1].arrive_at + (planned.depart_at - before.arrive_at)
        )
        legs[j] = planned.model_copy(
            update={
                "depart_at": depart,
                "arrive_at": depart + (planned.arrive_at - planned.depart_at),
            }
        )
    shift = legs[-1].arrive_at - route.legs[-1].arrive_at
    return route.model_copy(update={"legs": tuple(legs), "eta": route.eta + shift})


def follow_event(
    routes: Sequence[Assignment], node: str, event: str, at: datetime
) -> tuple[Assignment, ...] | None:
    """`routes` re-timed by one actual event at `node`; None when no route passes there that
    way (the freight is off its plan, or the event is not a movement)."""
    out: list[Assignment] = []
    moved = False
    for route in routes:
        k = _pick(route.legs, node, event, at)
        if k is None:
            out.append(route)
            continue
        out.append(_retimed(route, k, event, at))
        moved = True
    return tuple(out) if moved else None


def follow_events(
    routes: Mapping[str, Sequence[Assignment]], events: Iterable[ShipmentPosition], now: datetime
) -> dict[str, tuple[Assignment, ...]]:
    """The routes that events moved, by shipment id. Events (oldest first) name a shipment by
    their primary document reference or any other they carry; events after `now`, at a place
    that is no node of the network, or off every route of the shipment move nothing."""
    moved: dict[str, tuple[Assignment, ...]] = {}
    for event in events:
        if event.node is None or event.at > now:
            continue
        for sid in dict.fromkeys(
            r for r in (event.shipment, *event.references) if r is not None and r in routes
        ):
            current = moved.get(sid, tuple(routes[sid]))
            followed = follow_event(current, event.node, event.event, event.at)
            if followed is not None and followed != current:
                moved[sid] = followed
    return moved


__all__ = ["ARRIVAL_EVENTS", "DEPARTURE_EVENTS", "follow_event", "follow_events"]
