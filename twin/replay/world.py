"""The simulated world of a replay: freight moving on its routes while ground-truth effects act.

The engine never reads this module's effects; it only sees signals. The world answers two
questions on the simulated clock: where is each shipment now (so the engine can re-plan from
there), and when does it really arrive (so replays can count lateness and cost).

Rules (documented in docs/replay.md):
- freight leaves a node on its route's planned departure, or as soon as it is there if later;
- a closed lane or a closed node at either end holds the departure until the closure ends;
- a chokepoint or border in the lane's `via` acts when the freight reaches it (along the leg
  in proportion of distance): closed, the freight waits there until it reopens;
- `capacity_pct: p` on a lane, its via, or a node adds a queue of
  `congestion_scale_days * (100 / p - 1)` days (Yantian 2021: ~30% capacity, a 16-day wait to
  berth against 0.5 normally, gives a scale of ~7 days);
- `delay_days` adds to the lane's transit (or the node's stop), `clearance_days` to customs
  clearance where the node is a customs entry for the shipment;
- `throughput_units_per_day: r` on a node makes it a first-in-first-out server for freight
  arriving there: a part arriving at `a` waits until the server is free (the parts that arrived
  before it served, each `units / r` days at the rate in force when its service starts), so the
  world moves freight in time order across shipments wherever a node is throttled (`Queues`);
- transit varies between `transit_days` and `transit_days_p90`, seeded per shipment and leg;
- freight under way can be diverted to a sister service from the same departure until the
  courses part (twin.shipments.diversion): the leg is sailed again on the sister lane, with the
  same transit draw, and the diversion fee is charged.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from twin.domain.plans import Assignment, Leg
from twin.domain.records import Lane, Network, Shipment
from twin.network.timing import via_shares
from twin.optimise.request import PlanRequest
from twin.shipments import diversion

DAY = timedelta(days=1)
NEVER = datetime.max.replace(tzinfo=UTC)  # a part that will not move again
CONGESTION_SCALE_DAYS = 7.0


class Effect(Protocol):
    """Ground truth acting on a node or lane (SPEC 1.5): exactly one of the five kinds."""

    at: datetime
    until: datetime | None
    target: str
    close: bool | None
    capacity_pct: float | None
    delay_days: float | None
    clearance_days: float | None
    carriers_divert: str | None
    throughput_units_per_day: float | None


def detour_lane(lane: Lane, target: str, detour: str, network: Network) -> Lane | None:
    """The service carriers sail instead of `lane` when they divert round `target` by `detour`:
    the fastest lane of the same mode between the same ports passing `detour` and not `target`
    (None: `lane` does not pass `target`, or no such sister service exists)."""
    if target not in lane.via:
        return None
    options = [
        other
        for other in network.lanes_from.get(lane.from_, ())
        if other.to == lane.to
        and other.mode == lane.mode
        and detour in other.via
        and target not in other.via
    ]
    return min(options, key=lambda o: (o.transit_days, o.id), default=None)


@dataclass(frozen=True)
class Passage:
    """One leg as the world sails it: the service taken (a carriers' detour may replace the one
    booked), when it left (after any queue to board) and arrived before waits on the way
    (`sailing`), the arrival after them, and when the freight can leave the node reached (its
    stop done)."""

    lane: Lane
    depart: datetime
    sailed: datetime  # the arrival before waits at chokepoints and borders on the way
    arrive: datetime
    ready: datetime
    # The stop's days but customs clearance, and the clearance where the node is a customs
    # entry for the freight (None: not one): `ready_after` prices another expedite from them.
    stop: float = 0.0
    clearance: float | None = None

    def ready_after(self, expedite_days: float) -> datetime:
        """When the freight could leave had customs been bought `expedite_days` shorter (the
        same sum `World.sail` makes)."""
        stop = self.stop
        if self.clearance is not None:
            stop += max(0.0, self.clearance - expedite_days)
        return self.arrive + DAY * stop

    @property
    def sailing(self) -> Leg:
        """The leg as sailed, before waits on the way (built when asked: hindsight's search
        sails far more legs than it keeps)."""
        lane = self.lane
        return Leg(
            lane=lane.id,
            from_node=lane.from_,
            to_node=lane.to,
            depart_at=self.depart,
            arrive_at=self.sailed,
        )


@dataclass(frozen=True)
class EffectBook:
    """Effects indexed by target, with queries at a time."""

    effects: tuple[Effect, ...]
    end: datetime
    by_target: dict[str, list[Effect]] = field(default_factory=dict)

    @classmethod
    def of(cls, effects: Iterable[Effect], end: datetime) -> EffectBook:
        book = cls(tuple(effects), end, {})
        for effect in book.effects:
            book.by_target.setdefault(effect.target, []).append(effect)
        return book

    def _active(self, targets: Sequence[str], at: datetime) -> list[Effect]:
        found = []
        for target in targets:
            for effect in self.by_target.get(target, ()):
                if effect.at <= at < (effect.until or self.end):
                    found.append(effect)
        return found

    def reopens_at(self, targets: Sequence[str], at: datetime) -> datetime | None:
        """When every closure over `targets` active at `at` has ended (None: not closed)."""
        when = at
        for _ in range(64):  # closures may chain; bounded so bad data cannot loop forever
            closing = [e for e in self._active(targets, when) if e.close]
            if not closing:
                return None if when == at else when
            when = max(e.until or self.end for e in closing)
            if when >= self.end:
                return self.end
        return when

    def queue_days(self, targets: Sequence[str], at: datetime, scale: float) -> float:
        cuts = [e.capacity_pct for e in self._active(targets, at) if e.capacity_pct is not None]
        if not cuts:
            return 0.0
        pct = max(1.0, min(cuts))
        return 0.0 if pct >= 100 else scale * (100.0 / pct - 1.0)

    def delay_days(self, targets: Sequence[str], at: datetime) -> float:
        return sum(e.delay_days or 0.0 for e in self._active(targets, at))

    def throttled(self) -> frozenset[str]:
        """The nodes some `throughput_units_per_day` effect acts on, at any time."""
        return frozenset(e.target for e in self.effects if e.throughput_units_per_day is not None)

    def throughput(self, node: str, at: datetime) -> float | None:
        """Units a day `node` can serve at `at` (the least of the throughput effects in force;
        None: no limit then)."""
        rates = [
            e.throughput_units_per_day
            for e in self._active((node,), at)
            if e.throughput_units_per_day is not None
        ]
        return min(rates) if rates else None

    def clearance_days(self, target: str, at: datetime) -> float:
        return sum(e.clearance_days or 0.0 for e in self._active((target,), at))


@dataclass
class Queues:
    """First-in-first-out servers at the nodes a `throughput_units_per_day` effect throttles:
    when each is next free. A part joining at `arrive` starts when the server is free (or at
    once), waits that long, and keeps the server `units / rate` days, at the rate in force when
    its service starts; with no throughput effect in force then it takes no time (normal
    operations clear what is left at once). Its own handling is the node's usual stop."""

    book: EffectBook
    free_at: dict[str, datetime] = field(default_factory=dict)

    def wait(self, node: str, arrive: datetime) -> timedelta:
        """How long freight arriving at `node` at `arrive` would wait, the server as it is."""
        free = self.free_at.get(node)
        return free - arrive if free is not None and free > arrive else timedelta(0)

    def join(self, node: str, arrive: datetime, units: float) -> timedelta:
        """Queue `units` arriving at `arrive`; how long they wait for the freight ahead."""
        wait = self.wait(node, arrive)
        start = arrive + wait
        rate = self.book.throughput(node, start)
        self.free_at[node] = start + DAY * (units / rate) if rate else start
        return wait


@dataclass
class Journey:
    """One shipment's journey so far: legs done, where it is, and when it can move on."""

    shipment: Shipment
    route: Assignment
    node: str
    available_at: datetime
    legs_done: int = 0
    lanes_taken: list[str] = field(default_factory=list)
    legs_taken: list[Leg] = field(default_factory=list)  # as they really happened
    departed: bool = False
    delivered_at: datetime | None = None
    # The last leg as sailed, before waits at chokepoints and at its end: where a diversion's
    # courses part is judged on it.
    sailing: Leg | None = None
    fees: float = 0.0  # diversion and expedite fees paid, in money
    held_until: datetime | None = None  # a playbook's hold: no departure before
    # Customs clearance bought shorter at a node ahead (days saved), and its fee, paid there.
    expedite: dict[str, float] = field(default_factory=dict)
    expedite_fees: dict[str, float] = field(default_factory=dict)
    # Arrived at a throttled node at this time, its turn in the queue not yet come (`World`).
    queued_at: datetime | None = None

    @property
    def remaining(self) -> tuple:
        return self.route.legs[self.legs_done :]


class World:
    """Shipments on their routes under ground-truth effects, advanced on a simulated clock."""

    def __init__(
        self,
        network: Network,
        effects: EffectBook,
        seed: int,
        congestion_scale_days: float = CONGESTION_SCALE_DAYS,
        *,
        draws: bool = True,
    ):
        self.network = network
        self.effects = effects
        self.seed = seed
        # Without draws every leg takes its mean transit (`transit_days_p90` says how the tail
        # runs): the world as anyone can expect it, which the forewarned run plans in.
        self.draws = draws
        self.scale = congestion_scale_days
        self.journeys: dict[str, list[Journey]] = {}
        self.shipments: dict[str, Shipment] = {}
        self.diverted: set[str] = set()  # shipments a re-plan diverted under way
        # Shipments with every part delivered: `advance` passes them by (most of a long
        # replay's freight, every tick).
        self._settled: set[str] = set()
        # Per shipment, a time before which none of its parts can move (nothing queued):
        # `advance` passes it by until then. Only a re-route or a new dispatch moves it
        # earlier, and both forget it; a hold only moves departures later.
        self._wake: dict[str, datetime] = {}
        self._draws: dict[tuple[str, int], float] = {}  # the uniform draw per (shipment, leg)
        # Nodes a throughput effect throttles, and their servers: freight arriving there is
        # served in the order it arrives, across shipments (`advance`).
        self.throttled = effects.throttled()
        self.queues = Queues(effects)
        # Per lane, how far along it each via point lies (twin.network.timing's rule), and the
        # carriers' detours that may turn it: fixed for a replay, asked for on every leg sailed.
        self._shares: dict[str, list[tuple[str, float]]] = {}
        self._detours: dict[str, list[tuple[str, Effect, Lane]]] = {}
        # Without draws a leg sails alike for every shipment leaving on the same lane at the
        # same time from the same country: the forewarned planner's search asks again and
        # again (forty shipments a day share their departures).
        self._sailed: dict[tuple[str, datetime, str | None, float], Passage] = {}

    def dispatch(self, shipment: Shipment, routes: Sequence[Assignment]) -> None:
        """Start a shipment on its routes (one journey per split part)."""
        self.shipments[shipment.id] = shipment
        self._settled.discard(shipment.id)
        self._wake.pop(shipment.id, None)
        self.journeys[shipment.id] = [
            Journey(shipment, route, shipment.origin, shipment.ready_at) for route in routes
        ]

    def reroute(
        self, shipment_id: str, routes: Sequence[Assignment], now: datetime | None = None
    ) -> int:
        """Send a shipment's parts on new routes from where each part really is.

        A new route goes to the part whose travelled legs it starts with (the engine re-plans
        from the true position). Given `now`, a route that changes the leg a part is sailing
        diverts it, if a diversion is still possible (twin.shipments.diversion). A part no new
        route fits keeps its route; a new route that fits no part is not taken. Returns how
        many new routes were not taken.
        """
        parts = self.journeys[shipment_id]
        free = list(range(len(parts)))
        moved: dict[int, Journey] = {}
        refused = 0
        for route in routes:
            lanes = [leg.lane for leg in route.legs]
            fits = [i for i in free if lanes[: len(parts[i].lanes_taken)] == parts[i].lanes_taken]
            # A shipment booked in parts (twin.replay.demand): a part's new route goes to it.
            fits = [i for i in fits if parts[i].route.shipment == route.shipment] or fits
            if not fits:
                turning = [i for i in free if self._can_divert(parts[i], lanes, now)] if now else []
                if not turning:
                    refused += 1
                    continue
                free.remove(turning[0])
                self.diverted.add(shipment_id)
                moved[turning[0]] = self._divert(parts[turning[0]], route, now)  # type: ignore[arg-type]
                continue
            index = max(fits, key=lambda i: len(parts[i].lanes_taken))
            free.remove(index)
            base = parts[index]
            # Units stay with the freight that is really there, whatever the plan split; what
            # the part has paid, and any hold or expedite on it, stay too.
            moved[index] = replace(
                base,
                route=route.model_copy(update={"units": base.route.units}),
                legs_done=len(base.lanes_taken),
                lanes_taken=list(base.lanes_taken),
                legs_taken=list(base.legs_taken),
                expedite=dict(base.expedite),
                expedite_fees=dict(base.expedite_fees),
            )
        self.journeys[shipment_id] = [moved.get(i, part) for i, part in enumerate(parts)]
        self._settled.discard(shipment_id)
        self._wake.pop(shipment_id, None)
        return refused

    def hold(self, shipment_id: str, until: datetime) -> None:
        """Keep the shipment's freight where it is (not yet left, or at a node) until `until`."""
        for part in self.journeys.get(shipment_id, ()):
            if part.delivered_at is None:
                part.held_until = max(part.held_until or until, until)

    def expedite(self, shipment_id: str, node: str, saves_days: float, fee_per_unit: float) -> bool:
        """Buy customs clearance `saves_days` shorter for the shipment's parts still to reach
        `node` on their routes, at `fee_per_unit` (paid on arrival there). Whether any part was."""
        bought = False
        for part in self.journeys.get(shipment_id, ()):
            ahead = {leg.to_node for leg in part.remaining}
            if node in ahead and node not in part.expedite:
                part.expedite[node] = saves_days
                part.expedite_fees[node] = fee_per_unit * part.route.units
                bought = True
        return bought

    def _can_divert(self, part: Journey, lanes: list[str], now: datetime) -> bool:
        """Whether `lanes` keeps the part's travelled legs but the one it is sailing, changed
        for a sister service it can still switch to, open at the departure."""
        if part.sailing is None or not part.legs_taken or part.legs_taken[-1].arrive_at <= now:
            return False
        done = len(part.lanes_taken) - 1
        if len(lanes) <= done or lanes[:done] != part.lanes_taken[:done]:
            return False
        other = self.network.lane_by_id.get(lanes[done])
        if other is None:
            return False
        deadline = diversion.divert_by(part.sailing, other, self.network)
        if deadline is None or now >= deadline:
            return False
        return (
            self.effects.reopens_at((other.id, other.from_, other.to), part.sailing.depart_at)
            is None
        )

    def _divert(self, part: Journey, route: Assignment, now: datetime) -> Journey:
        """The part sent back to the start of the leg it is sailing, on `route` (whose leg there
        keeps the real departure), then moved on to `now` again."""
        done = len(part.lanes_taken) - 1
        left = part.legs_taken[-1].depart_at
        legs = list(route.legs)
        shift = left - legs[done].depart_at
        legs[done] = legs[done].model_copy(
            update={"depart_at": left, "arrive_at": legs[done].arrive_at + shift}
        )
        units = part.route.units
        diverted = Journey(
            part.shipment,
            route.model_copy(update={"units": units, "legs": tuple(legs)}),
            part.legs_taken[-1].from_node,
            left,
            legs_done=done,
            lanes_taken=part.lanes_taken[:done],
            legs_taken=part.legs_taken[:done],
            departed=True,
            fees=part.fees + diversion.FEE_PER_UNIT * units,
        )
        self._advance(diverted, now)
        return diverted

    def as_known(self, shipment_id: str, now: datetime) -> tuple[Assignment, ...]:
        """The routes as an operator would know them at `now` (carriers report actual
        departures and arrivals, nothing more): travelled legs with their real times, the rest
        shifted to leave no earlier than the freight usually could (`_reported_ready`: an
        effect's extra dwell is not foretold). A leg still under way shows the carrier's
        schedule (its real departure plus its planned duration): its real arrival is to come."""
        known: list[Assignment] = []
        for progress in self.journeys[shipment_id]:
            ahead = progress.route.legs[progress.legs_done :]
            taken = list(progress.legs_taken)
            ready = max(self._reported_ready(progress), now + timedelta(minutes=1))
            if taken and taken[-1].arrive_at > now:
                planned = progress.route.legs[progress.legs_done - 1]
                late = taken[-1].depart_at - planned.depart_at
                taken[-1] = taken[-1].model_copy(
                    update={
                        "arrive_at": taken[-1].depart_at + (planned.arrive_at - planned.depart_at)
                    }
                )
                ready = max(
                    now + timedelta(minutes=1),
                    (ahead[0].depart_at if ahead else taken[-1].arrive_at) + late,
                )
            shift = max(timedelta(0), ready - ahead[0].depart_at) if ahead else timedelta(0)
            legs = tuple(taken) + tuple(
                leg.model_copy(
                    update={"depart_at": leg.depart_at + shift, "arrive_at": leg.arrive_at + shift}
                )
                for leg in ahead
            )
            eta = legs[-1].arrive_at if legs else progress.available_at
            known.append(
                progress.route.model_copy(
                    update={"legs": legs, "eta": max(eta, progress.route.eta + shift)}
                )
            )
        return tuple(known)

    def _reported_ready(self, journey: Journey) -> datetime:
        """When freight at a node can leave as track and trace tells it: its real arrival plus
        the node's usual stop (handling, and clearance where it enters customs). A wait the
        scenario's effects add there (a berth queue, a customs backlog) shows only as the
        freight not having left yet, never as a departure time known in advance."""
        if not journey.legs_taken:
            return journey.available_at  # at its origin: ready when the shipment is
        node = self.network.node_by_id[journey.node]
        origin = self.network.node_by_id[journey.shipment.origin].country
        stop = node.handling_days + (
            node.clearance_days if node.is_customs_entry_for(origin) else 0.0
        )
        return journey.legs_taken[-1].arrive_at + DAY * stop

    def advance(self, until: datetime) -> None:
        """Move every journey through the legs it starts before `until`; at throttled nodes,
        serve the freight that arrives before `until` in the order it arrives."""
        settled, wakes = self._settled, self._wake
        queued: list[Journey] = []
        for sid, parts in self.journeys.items():
            if sid in settled:
                continue
            wake = wakes.get(sid)
            if wake is not None and wake >= until:
                continue
            soonest: datetime | None = NEVER
            for progress in parts:
                blocked = self._advance(progress, until)
                if progress.queued_at is not None:
                    queued.append(progress)
                    soonest = None  # its turn comes in `_serve`
                elif soonest is not None and blocked is not None:
                    soonest = min(soonest, blocked)
            if all(p.delivered_at is not None for p in parts):
                settled.add(sid)
            elif soonest is not None:
                wakes[sid] = soonest
            else:
                wakes.pop(sid, None)
        if queued:
            self._serve(queued, until)

    def _serve(self, queued: list[Journey], until: datetime) -> None:
        """Serve arrivals at throttled nodes in time order: each part's turn, then its journey
        on to its next arrival at a throttled node (which joins the line) or to `until`. Every
        arrival before `until` is known by then: freight still to leave arrives later."""
        order = itertools.count()
        line = [(part.queued_at, next(order), part) for part in queued]
        heapq.heapify(line)
        while line and line[0][0] < until:  # type: ignore[operator]
            arrive, _, part = heapq.heappop(line)
            assert arrive is not None
            part.available_at += self.queues.join(part.node, arrive, part.route.units)
            part.queued_at = None
            if part.node == part.shipment.destination:
                part.delivered_at = part.available_at
            self._advance(part, until)
            if part.queued_at is not None:
                heapq.heappush(line, (part.queued_at, next(order), part))

    def _advance(self, progress: Journey, until: datetime) -> datetime | None:
        """Sail the part's legs that leave before `until`. Returns when its next departure
        can come at the earliest (it cannot move before then), or None: delivered, queued or
        at its route's end."""
        while (
            progress.delivered_at is None
            and progress.queued_at is None
            and progress.legs_done < len(progress.route.legs)
        ):
            leg = progress.route.legs[progress.legs_done]
            lane = self.network.lane_by_id[leg.lane]
            depart = max(progress.available_at, leg.depart_at)
            if progress.held_until is not None:
                depart = max(depart, progress.held_until)
            if depart >= until:
                return depart
            reopen = self.held_until(lane, depart)
            if reopen is not None:
                # Held at the node; `available_at` keeps when it got there, so a re-plan can
                # still send it another way.
                if reopen >= until:
                    return reopen
                depart = reopen
            passage = self.sail(
                progress.shipment.id,
                progress.legs_done,
                lane,
                depart,
                self.network.node_by_id[progress.shipment.origin].country,
                progress.expedite.get(lane.to, 0.0),
            )
            progress.fees += progress.expedite_fees.pop(lane.to, 0.0)
            progress.available_at = passage.ready
            progress.node = lane.to
            progress.legs_done += 1
            progress.departed = True
            progress.sailing = passage.sailing
            progress.lanes_taken.append(passage.lane.id)
            progress.legs_taken.append(
                passage.sailing.model_copy(update={"arrive_at": passage.arrive})
            )
            if lane.to in self.throttled:
                progress.queued_at = passage.arrive  # served in turn by `advance`
                return None
            if lane.to == progress.shipment.destination:
                progress.delivered_at = progress.available_at
        return None

    def held_until(self, lane: Lane, depart: datetime) -> datetime | None:
        """When freight ready to leave on `lane` at `depart` may leave, if a closure of the lane
        or of a node at either end holds it (None: it leaves at once)."""
        return self.effects.reopens_at((lane.id, lane.from_, lane.to), depart)

    def sail(
        self,
        shipment_id: str,
        index: int,
        lane: Lane,
        depart: datetime,
        origin_country: str | None,
        expedite_days: float = 0.0,
    ) -> Passage:
        """Leg `index` of a shipment's journey, leaving on `lane` at `depart` (after any hold):
        the carriers' course, queues, the transit draw, waits at chokepoints and borders when
        the freight reaches them, and the stop at the lane's end. The one function the world
        moves freight with and the replay's hindsight searches over."""
        if self.draws:
            return self._sail(shipment_id, index, lane, depart, origin_country, expedite_days)
        key = (lane.id, depart, origin_country, expedite_days)
        passage = self._sailed.get(key)
        if passage is None:
            passage = self._sailed[key] = self._sail(
                shipment_id, index, lane, depart, origin_country, expedite_days
            )
        return passage

    def _sail(
        self,
        shipment_id: str,
        index: int,
        lane: Lane,
        depart: datetime,
        origin_country: str | None,
        expedite_days: float,
    ) -> Passage:
        lane = self.carriers_course(shipment_id, index, lane, depart)
        effects = self.effects
        # Targets no effect ever names are passed by (most of a network, on most legs).
        hit = effects.by_target
        if lane.id in hit:
            depart += DAY * effects.queue_days((lane.id,), depart, self.scale)
        transit = self.transit_days(shipment_id, index, lane)
        if lane.id in hit:
            transit += effects.delay_days((lane.id,), depart)
        arrive = depart + DAY * transit
        sailed = arrive
        # Chokepoints and borders act when the freight reaches them, not when it leaves.
        for member, passing in self.passings(lane, depart, arrive):
            if member not in hit:
                continue
            passing += arrive - depart - DAY * transit  # waits earlier on this leg
            reopen = effects.reopens_at((member,), passing)
            if reopen is not None:
                arrive += min(reopen, effects.end) - passing
                passing = min(reopen, effects.end)
            wait = effects.queue_days((member,), passing, self.scale)
            arrive += DAY * (wait + effects.delay_days((member,), passing))
        node = self.network.node_by_id[lane.to]
        stop = node.handling_days
        if node.id in hit:
            reopen = effects.reopens_at((node.id,), arrive)
            if reopen is not None:
                arrive = min(reopen, effects.end)
            stop += effects.delay_days((node.id,), arrive)
            stop += effects.queue_days((node.id,), arrive, self.scale)
        base = stop
        clearance: float | None = None
        if node.is_customs_entry_for(origin_country):
            clearance = node.clearance_days
            if node.id in hit:
                clearance += effects.clearance_days(node.id, arrive)
            stop += max(0.0, clearance - expedite_days)
        return Passage(lane, depart, sailed, arrive, arrive + DAY * stop, base, clearance)

    def passings(
        self, lane: Lane, depart: datetime, arrive: datetime
    ) -> list[tuple[str, datetime]]:
        """When freight sailing `lane` from `depart` to `arrive` passes each of its via points,
        in sailing order: `twin.network.timing.lane_points` without its ends, the lane's shares
        worked out once."""
        shares = self._shares.get(lane.id)
        if shares is None:
            shares = self._shares[lane.id] = via_shares(lane, self.network)
        if not shares:
            return []
        span = arrive - depart
        passing = [(member, depart + span * share) for member, share in shares]
        passing.sort(key=lambda p: p[1])
        return passing

    def carriers_course(self, shipment_id: str, index: int, lane: Lane, depart: datetime) -> Lane:
        """The service the carrier really sails for freight booked on `lane` leaving at
        `depart`. Under a `carriers_divert` effect on a chokepoint of its course, in force when
        the freight would pass it, that is the detour (`detour_lane`) if the freight leaves
        after the carriers' decision or the decision comes before the courses part
        (twin.shipments.diversion); freight past that point keeps its course."""
        detours = self._detours.get(lane.id)
        if detours is None:
            detours = self._detours[lane.id] = [
                (member, effect, other)
                for member in lane.via
                for effect in self.effects.by_target.get(member, ())
                if effect.carriers_divert is not None
                and (other := detour_lane(lane, member, effect.carriers_divert, self.network))
                is not None
            ]
        for member, effect, other in detours:
            transit = self.transit_days(shipment_id, index, lane)
            arrive = depart + DAY * transit
            until = effect.until or self.effects.end
            # The freight passes the point between its departure and its arrival: where the
            # whole leg falls on one side of the effect's window, where exactly is no matter.
            if arrive < effect.at or depart >= until:
                continue
            if effect.at <= depart and arrive < until:
                return other
            passing = dict(self.passings(lane, depart, arrive))
            if not effect.at <= passing[member] < until:
                continue
            if effect.at <= depart:
                return other
            leg = Leg(
                lane=lane.id,
                from_node=lane.from_,
                to_node=lane.to,
                depart_at=depart,
                arrive_at=arrive,
            )
            deadline = diversion.divert_by(leg, other, self.network)
            if deadline is not None and effect.at < deadline:
                return other
        return lane

    def transit_days(self, shipment_id: str, leg: int, lane: Lane) -> float:
        p90 = lane.transit_days_p90
        if p90 is None or p90 <= lane.transit_days:
            return lane.transit_days
        # Exponential tail fitted so that 90% of draws fall within transit_days_p90.
        spread = (p90 - lane.transit_days) / math.log(10.0)
        if not self.draws:
            # The tail's mean (capped below at 10^4 times the p90 odds): what the lane takes on
            # average, known from the network file; no shipment's own draw.
            return lane.transit_days + spread * (1.0 - 1e-4)
        # A seeded draw per (seed, shipment, leg): the same replay gives the same world.
        key = (shipment_id, leg)
        u = self._draws.get(key)
        if u is None:
            digest = hashlib.blake2b(
                f"{self.seed}|{shipment_id}|{leg}".encode(), digest_size=8
            ).digest()
            u = self._draws[key] = int.from_bytes(digest, "big") / 2**64
        return lane.transit_days + min(-spread * math.log(1.0 - u), 4 * spread * math.log(10.0))


@dataclass(frozen=True)
class Outcome:
    shipment: str
    units: float
    delivered_at: datetime | None
    late_days: float
    transport_cost: float
    lateness_cost: float
    lanes: tuple[str, ...]
    due_at: datetime | None = None
    # Units no route carries, charged at the planner's unserved penalty (never dropped).
    unserved_cost: float = 0.0
    co2e_kg: float = 0.0  # known CO2e of the part's whole route (docs/emissions.md)
    # The planned shipment the part's route was made for: the shipment itself, or the part a
    # planner booked apart (the stock-aware engine's urgent SKU lines, twin.replay.demand).
    part: str = ""

    @classmethod
    def unserved(
        cls, shipment: str, units: float, due_at: datetime | None, penalty_per_unit: float
    ) -> Outcome:
        """Units no route carries: never delivered, charged the planner's unserved penalty."""
        return cls(
            shipment=shipment,
            units=units,
            delivered_at=None,
            late_days=0.0,
            transport_cost=0.0,
            lateness_cost=0.0,
            lanes=(),
            due_at=due_at,
            unserved_cost=penalty_per_unit * units,
        )


# The planner's price of a unit left unrouted (twin.optimise.request).
UNSERVED_PENALTY = float(
    next(f.default for f in fields(PlanRequest) if f.name == "unserved_penalty_per_unit")  # type: ignore[arg-type]
)


def outcomes(world: World, unserved_penalty: float = UNSERVED_PENALTY) -> list[Outcome]:
    """What really happened to each shipment part: arrival, lateness, what it cost and emitted.

    Freight not delivered by the world's end is counted late until the end. Units no route
    carries (a shipment dispatched with no route, or a split short of its units) are an outcome
    of their own, charged `unserved_penalty` per unit (the planner's).
    """
    from twin.emissions import Emissions
    from twin.files.emissions import load_emission_table

    emissions = Emissions(world.network, load_emission_table())
    found: list[Outcome] = []
    for sid, parts in world.journeys.items():
        shipment = world.shipments[sid]
        left = shipment.units - sum(p.route.units for p in parts)
        if left > 1e-9:
            found.append(Outcome.unserved(sid, left, shipment.due_at, unserved_penalty))
        for progress in parts:
            shipment = progress.shipment
            arrived = progress.delivered_at
            finish = arrived or world.effects.end
            late = max(0.0, (finish - shipment.due_at) / DAY)
            # Freight still on its way will travel the rest of its route: charge it too.
            lanes = [*progress.lanes_taken, *(leg.lane for leg in progress.remaining)]
            transport = sum(world.network.lane_by_id[l].cost_per_unit for l in lanes)
            found.append(
                Outcome(
                    shipment=shipment.id,
                    units=progress.route.units,
                    delivered_at=arrived,
                    late_days=late,
                    transport_cost=transport * progress.route.units + progress.fees,
                    lateness_cost=late * progress.route.units * shipment.penalty_per_unit_day,
                    lanes=tuple(progress.lanes_taken),
                    due_at=shipment.due_at,
                    co2e_kg=sum(
                        leg.co2e_kg or 0.0
                        for leg in emissions.path(lanes, progress.route.units, shipment)
                    ),
                    part=progress.route.shipment,
                )
            )
    return found
