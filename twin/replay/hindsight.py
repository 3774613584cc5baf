"""Hindsight in the replay's world: the cheapest journey per shipment, every effect known ahead.

Two uses of one search. `hindsight_outcomes` is the replay's `hindsight`, the SPEC's bound:
the search knowing every effect and every transit draw, the least any policy in the world can
cost, by the argument below. `forewarned_world` is the replay's `forewarned` (an extension):
journeys chosen with every effect known but each leg at its mean transit (no one can know a
shipment's own draw), then sailed with the world's draws like every other run: what
foreknowledge of the disruption is worth.

A replay's world is separable by shipment but for one thing: what happens to one shipment's
freight (its transit draws, the effects it meets, its costs) never depends on another's, except
that at a node a `throughput_units_per_day` effect throttles, freight waits behind the freight
that arrived before it. That wait only makes the freight ready later at the node, which is a
hold there (waiting is free, so the shipment alone, ready earlier, can do all it can). Its cost
is linear in units (transport and fees per unit, lateness per unit-day). So the least total
cost any policy can reach is at least the sum over shipments of the least cost per unit of one
journey alone, times the units, or the planner's unserved penalty where that is lower. Every decision a policy can make in the
world is one of the journeys searched here:

- a route at booking, and any re-plan at a node: any lane out of the node the freight is at;
- a hold, or a planned departure later than the freight is ready: any departure time (searched
  at the times waiting can change anything: when an effect on the lane ends, shifted by when
  the freight would meet it);
- a diversion under way: the sister service from the same departure, with the same transit
  draw, plus a fee, which sailing the sister from the start reaches for less;
- expediting customs: clearance shortened at the playbooks' fees.

Each leg is sailed by the world's own `World.sail` (carriers' detours, queues, waits at
chokepoints, stops), so the costs and timings are the world's by construction. The search is
A* over (node, legs done, time ready, cost), with lower bounds from the network alone (cheapest
lanes, fastest lanes: effects only add time, and a transit draw is never below a lane's
`transit_days`), and drops a label another at the same node and leg beats on time and cost
(waiting is free, so the earlier, cheaper label can do all the later one can).
"""

from __future__ import annotations

import heapq
import itertools
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from twin.domain.plans import Assignment, Leg
from twin.domain.records import Lane, Network, Shipment
from twin.replay.world import DAY, Outcome, Queues, World

MAX_LEGS = 8
# How far ahead of the freight's ready time waiting is searched.
WAIT_HORIZON = timedelta(days=120)
# Far enough past a scenario's end for a planned journey to have met every queue it will.
QUEUE_HORIZON = timedelta(days=1000)


@dataclass(frozen=True)
class Expedite:
    """A customs expedite a policy may buy: days of clearance saved at a fee per unit."""

    saves_days: float
    cost_per_unit: float


def _bounds(network: Network, destination: str) -> tuple[dict[str, float], dict[str, float]]:
    """Least transport cost per unit and least days from each node's ready time to delivery."""
    into: dict[str, list[Lane]] = defaultdict(list)
    for lane in network.lanes:
        into[lane.to].append(lane)
    nodes = network.node_by_id

    def dijkstra(weight: str) -> dict[str, float]:
        best: dict[str, float] = {}
        queue = [(0.0, destination)]
        while queue:
            value, node = heapq.heappop(queue)
            if node in best:
                continue
            best[node] = value
            for lane in into[node]:
                if lane.from_ in best:
                    continue
                step = (
                    lane.cost_per_unit
                    if weight == "cost"
                    else lane.transit_days + nodes[lane.to].handling_days
                )
                heapq.heappush(queue, (value + step, lane.from_))
        return best

    return dijkstra("cost"), dijkstra("days")


def _departures(world: World, lane: Lane, transit: float, ready: datetime) -> list[datetime]:
    """When leaving on `lane` may be worth it: at once, or when an effect on the lane, its
    ends or its via stops acting on freight that leaves then (the planned offsets of each
    point along the leg)."""
    book = world.effects
    times = {ready}
    depart = ready
    arrive = depart + DAY * transit
    # `twin.network.timing.lane_points`, the via's shares worked out once by the world.
    offsets = dict([(lane.from_, depart), (lane.id, depart), *world.passings(lane, depart, arrive)])
    offsets[lane.to] = arrive
    limit = ready + WAIT_HORIZON
    for target, when in offsets.items():
        offset = when - depart
        for effect in book.by_target.get(target, ()):
            ends = (effect.until or book.end) - offset
            if ready < ends <= limit:
                times.add(ends)
    return sorted(times)


# One leg as a policy would book it: the lane booked (the world may sail a carriers' detour
# instead), the departure waited for (None: as soon as the freight is ready), the expedite bought.
Step = tuple[str, datetime | None, "Expedite"]
# node, legs done, ready, cost, lanes sailed, steps booked
Label = tuple[str, int, datetime, float, tuple[str, ...], tuple[Step, ...]]


def _hops(network: Network) -> dict[tuple[str, str], tuple[float, float]]:
    """Per pair of nodes a lane joins: the cheapest price and the fewest days (transit and the
    stop's handling) over the lanes between them."""
    nodes = network.node_by_id
    found: dict[tuple[str, str], tuple[float, float]] = {}
    for lane in network.lanes:
        days = lane.transit_days + nodes[lane.to].handling_days
        key = (lane.from_, lane.to)
        cost, fast = found.get(key, (lane.cost_per_unit, days))
        found[key] = (min(cost, lane.cost_per_unit), min(fast, days))
    return found


@dataclass(frozen=True)
class Best:
    lanes: tuple[str, ...]
    delivered_at: datetime
    per_unit: float  # transport and fees
    late_days: float
    steps: tuple[Step, ...] = ()  # the journey as booked, to play it in another world


def best_journey(
    world: World,
    shipment: Shipment,
    penalty_per_unit: float,
    expedites: Sequence[Expedite] = (),
    bounds: tuple[Mapping[str, float], Mapping[str, float]] | None = None,
    hops: Mapping[tuple[str, str], tuple[float, float]] | None = None,
    expedite_at: Collection[str] | None = None,
    queues: Queues | None = None,
) -> Best | None:
    """The cheapest journey per unit for `shipment` in `world` (None: leaving it unserved at
    `penalty_per_unit` is cheaper, or it cannot be delivered). `expedite_at`: the nodes where
    expedites may be bought (None: every customs entry). `queues`: the lines at throttled nodes
    as earlier bookings left them, waited in (None: the shipment alone, as hindsight's bound
    takes it: a queue only adds to a journey's time)."""
    network = world.network
    nodes = network.node_by_id
    cost_lb, days_lb = bounds or _bounds(network, shipment.destination)
    hop = hops if hops is not None else _hops(network)
    if shipment.origin not in cost_lb:
        return None
    country = network.node_by_id[shipment.origin].country
    late_rate = shipment.penalty_per_unit_day
    options = [Expedite(0.0, 0.0), *expedites]

    def estimate(node: str, ready: datetime, cost: float) -> float:
        late = (ready + DAY * days_lb[node] - shipment.due_at) / DAY
        return cost + cost_lb[node] + late_rate * max(0.0, late)

    # Entries are labels (freight ready at a node) or lanes not yet sailed from a label: a lane
    # is sailed only when its optimistic estimate comes up, so most never are.
    order = itertools.count()
    queue: list[tuple[float, int, Label, Lane | None]] = [
        (
            estimate(shipment.origin, shipment.ready_at, 0.0),
            next(order),
            (shipment.origin, 0, shipment.ready_at, 0.0, (), ()),
            None,
        )
    ]
    settled: dict[tuple[str, int], list[tuple[datetime, float]]] = defaultdict(list)
    while queue:
        f, _, (node, legs, ready, cost, path, steps), lane = heapq.heappop(queue)
        if f >= penalty_per_unit:
            return None
        if lane is not None:
            transit = world.transit_days(shipment.id, legs, lane)
            expedites_here = nodes[lane.to].is_customs_entry_for(country) and (
                expedite_at is None or lane.to in expedite_at
            )
            for leave in _departures(world, lane, transit, ready):
                held = world.held_until(lane, leave)
                depart = held if held is not None else leave
                # One sailing; each expedite only shortens the stop at its end.
                passage = world.sail(shipment.id, legs, lane, depart, country)
                for option in options:
                    if option.saves_days and not expedites_here:
                        continue
                    spent = cost + passage.lane.cost_per_unit + option.cost_per_unit
                    step = (lane.id, leave if leave > ready else None, option)
                    then = passage.ready_after(option.saves_days)
                    if queues is not None:
                        then += queues.wait(lane.to, passage.arrive)
                    label = (
                        lane.to,
                        legs + 1,
                        then,
                        spent,
                        (*path, passage.lane.id),
                        (*steps, step),
                    )
                    heapq.heappush(
                        queue, (estimate(lane.to, then, spent), next(order), label, None)
                    )
            continue
        if node == shipment.destination:
            late = max(0.0, (ready - shipment.due_at) / DAY)
            return Best(path, ready, cost, late, steps)
        seen = settled[(node, legs)]
        if any(t <= ready and c <= cost + 1e-12 for t, c in seen):
            continue
        seen.append((ready, cost))
        if legs >= MAX_LEGS:
            continue
        for out in network.lanes_from.get(node, ()):
            if out.to not in cost_lb:
                continue
            # Optimistic over the services between the same ends (a carriers' detour sails
            # one of them): the cheapest price and the fastest time.
            cheapest, fastest = hop[(out.from_, out.to)]
            reach = ready + DAY * (fastest + days_lb[out.to])
            bound = cost + cheapest + cost_lb[out.to]
            bound += late_rate * max(0.0, (reach - shipment.due_at) / DAY)
            label = (node, legs, ready, cost, path, steps)
            heapq.heappush(queue, (bound, next(order), label, out))
    return None


def hindsight_outcomes(
    world: World,
    shipments: Sequence[Shipment],
    penalty_per_unit: float,
    expedites: Sequence[Expedite] = (),
) -> list[Outcome]:
    """Each shipment on its best journey in `world` (or unserved at the penalty), as outcomes,
    with the CO2e of the journey as the world's outcomes count it."""
    from twin.emissions import Emissions
    from twin.files.emissions import load_emission_table

    emissions = Emissions(world.network, load_emission_table())
    found: list[Outcome] = []
    bounds: dict[str, tuple[dict[str, float], dict[str, float]]] = {}
    hops = _hops(world.network)
    for shipment in shipments:
        if shipment.destination not in bounds:
            bounds[shipment.destination] = _bounds(world.network, shipment.destination)
        # No queues: each shipment alone (waits behind other freight only add to its cost).
        journey = best_journey(
            world, shipment, penalty_per_unit, expedites, bounds[shipment.destination], hops
        )
        if journey is None:
            found.append(
                Outcome.unserved(shipment.id, shipment.units, shipment.due_at, penalty_per_unit)
            )
            continue
        found.append(
            Outcome(
                shipment=shipment.id,
                units=shipment.units,
                delivered_at=journey.delivered_at,
                late_days=journey.late_days,
                transport_cost=journey.per_unit * shipment.units,
                lateness_cost=journey.late_days * shipment.units * shipment.penalty_per_unit_day,
                lanes=journey.lanes,
                due_at=shipment.due_at,
                co2e_kg=sum(
                    leg.co2e_kg or 0.0
                    for leg in emissions.path(journey.lanes, shipment.units, shipment)
                ),
            )
        )
    return found


def booked_route(shipment: Shipment, best: Best, network: Network) -> Assignment:
    """`best`'s journey as a booking: its lanes, each leaving when the freight is ready there
    or at the departure the search waited for (the world holds freight for a leg's
    `depart_at`, and sails any carriers' detour itself)."""
    legs: list[Leg] = []
    clock = shipment.ready_at
    for lane_id, leave, _ in best.steps:
        lane = network.lane_by_id[lane_id]
        # An early planned departure lets the world send the freight on as soon as it is there.
        depart = leave if leave is not None else shipment.ready_at
        clock = max(clock, depart)
        legs.append(
            Leg(
                lane=lane.id,
                from_node=lane.from_,
                to_node=lane.to,
                depart_at=depart,
                arrive_at=clock + DAY * lane.transit_days,
            )
        )
        clock = legs[-1].arrive_at
    return Assignment(
        shipment=shipment.id,
        units=shipment.units,
        legs=tuple(legs),
        eta=best.delivered_at,
        cost=best.per_unit * shipment.units,
        late_days=best.late_days,
    )


def forewarned_world(
    world: World,
    shipments: Sequence[Shipment],
    penalty_per_unit: float,
    expedites: Sequence[Expedite] = (),
    until: datetime | None = None,
) -> World:
    """Forewarned: every effect known in advance but not the transit draws. Each shipment's
    journey (lanes, waits, expedites) is the cheapest in `world`'s effects with every leg at
    its mean transit — what a planner expects —, then sails a copy of `world` with
    the same draws as every other run. The returned world holds the journeys, advanced to
    `until` (the caller's end); a shipment no journey beats the penalty for is left unbooked
    (charged the penalty by `outcomes`). Where a throughput effect throttles a node, shipments
    are planned one at a time in the order they are ready, each against the queues the
    journeys booked before it leave there (as it expects them: mean transit)."""
    network = world.network
    planned = World(network, world.effects, world.seed, world.scale, draws=False)
    # A disruption's answer: expedites where an effect lengthens clearance, not everywhere.
    slowed = {e.target for e in world.effects.effects if e.clearance_days}
    real = World(network, world.effects, world.seed, world.scale, draws=world.draws)
    bounds: dict[str, tuple[dict[str, float], dict[str, float]]] = {}
    hops = _hops(network)
    if planned.throttled:
        shipments = sorted(shipments, key=lambda s: (s.ready_at, s.id))
    for shipment in shipments:
        if shipment.destination not in bounds:
            bounds[shipment.destination] = _bounds(network, shipment.destination)
        best = best_journey(
            planned,
            shipment,
            penalty_per_unit,
            expedites,
            bounds[shipment.destination],
            hops,
            expedite_at=slowed,
            queues=planned.queues if planned.throttled else None,
        )
        if best is None:
            real.dispatch(shipment, ())
            continue
        booked = (booked_route(shipment, best, network),)
        worlds = (real, planned) if planned.throttled else (real,)
        for booking in worlds:
            booking.dispatch(shipment, booked)
            for lane_id, _, option in best.steps:
                if option.saves_days:
                    node = network.lane_by_id[lane_id].to
                    booking.expedite(shipment.id, node, option.saves_days, option.cost_per_unit)
        if planned.throttled:
            # The journey joins the lines it meets, as the next shipment's plan will find them.
            planned.advance(world.effects.end + QUEUE_HORIZON)
    if until is not None:
        real.advance(until)
    return real
