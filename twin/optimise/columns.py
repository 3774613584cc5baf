"""Route columns and their pricing: shortest paths over the time-expanded network (a DAG).

A column is one timed route for one commodity: a tuple of (lane, departure day) legs. Pricing
runs one dynamic programme per batch over days 0..H for many start points at once (numpy,
vectorised over start points); the time-expanded graph is acyclic because every arc takes at
least one day, so one sweep over the days is exact. Dual prices of capacity rows enter as
extra arc costs on the (lane, day) they belong to.
"""

from __future__ import annotations

import math
import os
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from twin.optimise.instance import ArcBatch, Commodity, Instance
from twin.optimise.kernels import reset_nodes, time_expanded_dp, trace
from twin.optimise.timeline import day_of, late_days

INF = np.inf
# Stand-ins for the DP kernel's optional arrays (flags say they are absent).
_NO_ADJUST = np.zeros((0, 0))
_NO_ROOM = np.zeros((1, 0))
_NO_BOUND = np.zeros((0, 0))


@dataclass(frozen=True)
class Column:
    """One timed route of one commodity, with its per-unit costs split by kind."""

    commodity: int
    legs: tuple[tuple[int, int], ...]  # (lane index, departure day)
    arrival: int  # day the freight is available at the destination
    transport_pu: float
    risk_pu: float
    lateness_pu: float
    late_days: int

    @property
    def cost_pu(self) -> float:
        return self.transport_pu + self.risk_pu + self.lateness_pu


def make_column(
    instance: Instance, commodity: Commodity, legs: tuple[tuple[int, int], ...]
) -> Column:
    """A column with its costs computed from the instance (never from DP values)."""
    batch = instance.batches[commodity.batch]
    if legs:
        last_lane, last_day = legs[-1]
        arrival = last_day + int(batch.dur[last_lane])
    else:
        arrival = commodity.ready
    lanes = [lane for lane, _ in legs]
    transport = float(sum(instance.transport[lanes].tolist())) if lanes else 0.0
    risk = commodity.penalty * float(sum(instance.risk_days[lanes].tolist())) if lanes else 0.0
    late = late_days(arrival, commodity.due)
    return Column(commodity.index, legs, arrival, transport, risk, commodity.penalty * late, late)


def column_rows(
    instance: Instance, commodity: Commodity, column: Column
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The capacity rows a column uses: (lane, day) for bounded lanes, (node, day) for
    bounded nodes (the day the freight is available at the node it enters)."""
    lane_bounded, node_bounded, to = instance.bounded_lists()
    dur = instance.batches[commodity.batch].dur_list()
    lanes, nodes = [], []
    for lane, day in column.legs:
        if lane_bounded[lane]:
            lanes.append((lane, day))
        v = to[lane]
        if node_bounded[v]:
            nodes.append((v, day + dur[lane]))
    return lanes, nodes


def time_expanded_costs(
    instance: Instance,
    batch: ArcBatch,
    sources: np.ndarray,
    starts: np.ndarray,
    adjust: np.ndarray | None = None,
    need: np.ndarray | None = None,
    static: bool = False,
    buffer: DPBuffer | None = None,
    bound: np.ndarray | None = None,
    active: tuple[np.ndarray, np.ndarray] | None = None,
    last_day: np.ndarray | None = None,
) -> np.ndarray:
    """Least cost to be at each node by each day, from each (source, start day).

    Parameters
    ----------
    sources, starts : arrays of K node indices and K start days.
    adjust : optional (lanes, H+1) extra cost per unit for departing lane l on day t (the
        negated duals of its capacity row and of the far node's row).
    need : optional K units per start point: an unsplittable shipment never takes an arc
        with less room than its units (so its routes are ones it can really use).
    static : judge room by capacities instead of what is left each day (for lower bounds).
    buffer : optional `DPBuffer` to hold the result, reused between runs (allocating a fresh
        array each run cost its page faults, and filling one most of a run).
    bound : optional (nodes, K): a (node, start point) pair whose value is not below its
        bound is not expanded. With bound[v, k] = (what a route may cost) - (a lower bound
        on the cost from v to where it goes), as `price` sets it, the values of every pair
        on a route within that cost stay exact (A*: any prefix of such a route is itself
        within its bound, the lower bound being consistent along arcs); others may be
        left higher, or inf.
    active : optional `changed_lanes(instance, batch, adjust)`, computed once for many runs
        with the same adjust (else computed here).
    last_day : optional K days: start point k is followed to that day only (later days stay
        inf). `_bound` gives the day after which no route of a member can stay within what
        it may cost, lateness included.

    Returns
    -------
    dist : array (H+1, nodes, K); ``dist[t, v, k]`` is the least cost of reaching v by day t
        (waiting allowed) from source k, inf when it cannot.
    """
    horizon = instance.horizon
    n_nodes = len(instance.node_ids)
    k = len(sources)
    shape = (horizon + 1, n_nodes, k)
    if buffer is not None and buffer.fits(shape):
        dist, reached = buffer.take(shape)
    else:
        dist, reached = np.full(shape, INF), np.zeros(n_nodes, dtype=bool)
    if k == 0:
        return dist
    out_lanes, out_start = instance.out_lanes()
    has_room = need is not None and float(need.max()) > 0.0
    room = _room(instance, batch, static) if has_room else _NO_ROOM
    if active is None:
        active = changed_lanes(instance, batch, adjust, daily_room=not static and has_room)
    time_expanded_dp(
        dist,
        reached,
        np.ascontiguousarray(sources, dtype=np.int64),
        np.ascontiguousarray(starts, dtype=np.int64),
        instance.frm,
        instance.to,
        batch.dur,
        np.ascontiguousarray(batch.cost, dtype=float),
        out_start,
        out_lanes,
        adjust if adjust is not None else _NO_ADJUST,
        adjust is not None,
        room,
        not static,
        has_room,
        need.astype(float) if need is not None else np.zeros(k),
        bound if bound is not None else _NO_BOUND,
        bound is not None,
        *active,
        np.full(k, horizon, dtype=np.int64) if last_day is None else last_day.astype(np.int64),
    )
    return dist


def _room(instance: Instance, batch: ArcBatch, static: bool) -> np.ndarray:
    """Room the DP and its trace judge unsplittable units by: capacities (static, one row for
    every day) or what is left each day."""
    return instance.static_room()[None, :] if static else instance.room_by_day(batch)


def changed_lanes(
    instance: Instance, batch: ArcBatch, adjust: np.ndarray | None, daily_room: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The lanes the pricing DP relaxes from every pair on day t (their step cost fell, or
    their room grew, from day t - 1), by day: (start of each day's group, H + 2; lanes)."""
    return _active_by_day(instance, _active_codes(instance, batch, adjust, daily_room))


def _active_codes(
    instance: Instance, batch: ArcBatch, adjust: np.ndarray | None, daily_room: bool
) -> list[np.ndarray]:
    """`changed_lanes` as (day x lanes + lane) codes, in parts: cost that fell, room that grew."""
    n_lanes = len(instance.lane_ids)
    codes = [np.zeros(0, dtype=np.int64)]
    if adjust is not None:
        lane, before = np.nonzero(adjust[:, 1:] < adjust[:, :-1])
        codes.append((before + 1) * n_lanes + lane)
    if daily_room:
        if batch.room_changes is None:
            room = instance.room_by_day(batch)
            # Only room that grew can open an arc to a start point; room that fell closes
            # some, which can make nothing cheaper.
            before, lane = np.nonzero(room[1:] > room[:-1])
            batch.room_changes = (before + 1) * n_lanes + lane
        codes.append(batch.room_changes)
    return codes


def _active_by_day(instance: Instance, codes: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    n_lanes = len(instance.lane_ids)
    code = np.unique(np.concatenate(codes))
    day, lane = np.divmod(code, max(n_lanes, 1))
    start = np.searchsorted(day, np.arange(instance.horizon + 2)).astype(np.int64)
    return start, lane.astype(np.int64)


def trace_route(
    instance: Instance,
    batch: ArcBatch,
    dist: np.ndarray,
    key: int,
    source: int,
    dest: int,
    arrival: int,
    adjust: np.ndarray | None = None,
    need: float = 0.0,
    static: bool = False,
) -> tuple[tuple[int, int], ...]:
    """Walk back from (dest, arrival) to the source along arcs whose costs explain `dist`
    (`kernels.trace`): waiting first, else the first lane into the node, in `in_lanes`
    order, that explains its value."""
    in_lanes, in_start = instance.in_lanes_flat()
    room = _room(instance, batch, static) if need > 0.0 else _NO_ROOM
    legs = trace(
        dist,
        key,
        source,
        dest,
        arrival,
        instance.frm,
        batch.dur,
        np.ascontiguousarray(batch.cost, dtype=float),
        in_start,
        in_lanes,
        adjust if adjust is not None else _NO_ADJUST,
        adjust is not None,
        room,
        not static,
        float(need),
    )
    if not len(legs) and not (source == dest and dist[arrival, dest, key] == 0.0):
        raise RuntimeError("route trace lost its way")  # pragma: no cover - float drift
    return tuple((int(lane), int(day)) for lane, day in legs.tolist())


def best_arrival(
    dist_k: np.ndarray, commodity: Commodity, offset: int, horizon: int
) -> tuple[float, int]:
    """(least cost incl. lateness per unit, arrival day) over arrivals on days offset..horizon,
    reading `dist_k[t - offset]` (offset shifts a DP run from day 0 to the ready day)."""
    last = horizon - offset
    if last < 0:
        return INF, -1
    column = dist_k[: last + 1]
    days = np.arange(offset, horizon + 1)
    total = column + commodity.penalty * np.maximum(0, days - commodity.due)
    j = int(np.argmin(total))
    return float(total[j]), int(days[j])


def shifted_routes(
    instance: Instance,
    batch: ArcBatch,
    commodity: Commodity,
    legs: tuple[tuple[int, int], ...],
    adjust: np.ndarray,
    need: float,
    most: float,
    count: int,
) -> list[tuple[tuple[int, int], ...]]:
    """The route `legs` leaving 1..count days later, each kept when every leg runs (inside
    the horizon, not closed, room for `need`) and its cost at these duals, lateness included,
    is below `most` per unit. When the route's day fills, the master needs the next days'
    copies: one route per round would find them one day per round."""
    horizon = instance.horizon
    lanes = np.array([lane for lane, _ in legs], dtype=np.int64)
    days = np.array([day for _, day in legs], dtype=np.int64)
    if not len(lanes):
        return []
    room = instance.room_by_day(batch) if need > 0.0 else None
    out: list[tuple[tuple[int, int], ...]] = []
    for shift in range(1, count + 1):
        moved = days + shift
        arrival = int(moved[-1] + batch.dur[lanes[-1]])
        if arrival > horizon:
            break
        if room is not None and bool(np.any(room[moved, lanes] < need - 1e-9)):
            continue
        value = float(np.sum(batch.cost[lanes] + adjust[lanes, moved]))
        value += commodity.penalty * max(0, arrival - commodity.due)
        if value < most:
            out.append(tuple(zip(lanes.tolist(), moved.tolist(), strict=True)))
    return out


# Start points priced together in one DP run; bounds the (H+1, nodes, K) array's memory.
KEYS_PER_RUN = 48


class ColumnPool:
    """The columns generated so far, in a fixed order, with the capacity rows they touch.

    Rows are created the first time a column uses them, so the master problem only holds
    (lane, day) and (node, day) rows some route can load; a row no column touches is slack and
    its dual is zero, which is exactly what pricing assumes for it.
    """

    def __init__(self, instance: Instance):
        self.instance = instance
        self.columns: list[Column] = []
        self.seen: dict[tuple[int, tuple[tuple[int, int], ...]], int] = {}
        self.lane_rows: dict[tuple[int, int], int] = {}
        self.node_rows: dict[tuple[int, int], int] = {}
        self.col_lane_rows: list[list[int]] = []
        self.col_node_rows: list[list[int]] = []
        # Least cost per unit with no capacity prices: a lower bound for pricing every round.
        self.lower_bound_pu = np.full(len(instance.commodities), INF)
        self.dp_buffers: list[DPBuffer] = []

    def add(self, column: Column) -> int | None:
        """Add a column; None when the same route is already in the pool."""
        key = (column.commodity, column.legs)
        if key in self.seen:
            return None
        commodity = self.instance.commodities[column.commodity]
        lanes, nodes = column_rows(self.instance, commodity, column)
        self.col_lane_rows.append(
            [self.lane_rows.setdefault(r, len(self.lane_rows)) for r in lanes]
        )
        self.col_node_rows.append(
            [self.node_rows.setdefault(r, len(self.node_rows)) for r in nodes]
        )
        self.seen[key] = len(self.columns)
        self.columns.append(column)
        return self.seen[key]

    def by_commodity(self) -> list[list[int]]:
        out: list[list[int]] = [[] for _ in self.instance.commodities]
        for j, column in enumerate(self.columns):
            out[column.commodity].append(j)
        return out


def need_class(rooms: np.ndarray, units: float) -> float:
    """A `need` that blocks exactly the arcs `units` blocks: midway between the largest room
    below `units` and the next (0 when no arc has less room). Unsplittable shipments of
    different sizes that block the same arcs then share one DP start point."""
    i = int(np.searchsorted(rooms, units - 1e-9, side="left"))
    if i == 0:
        return 0.0
    upper = float(rooms[i]) if i < len(rooms) else float(rooms[i - 1]) + 2.0
    return (float(rooms[i - 1]) + upper) / 2.0


class DPBuffer:
    """One flat array that every DP run of a call reuses (see `time_expanded_costs`), kept
    all inf between runs: a run writes only the rows of the nodes it reaches, so the next
    run resets those instead of filling the whole array (with the A* bound a pricing run
    reaches a small part of the network)."""

    def __init__(self, size: int):
        self.flat = np.full(size, INF)
        self.last: tuple[np.ndarray, np.ndarray] | None = None

    def fits(self, shape: tuple[int, int, int]) -> bool:
        return shape[0] * shape[1] * shape[2] <= len(self.flat)

    def take(self, shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
        """(dist of `shape`, all inf; reached nodes, all False) for the next run; the array
        handed out before is no longer valid."""
        if self.last is not None:
            reset_nodes(*self.last)
        dist = self.flat[: shape[0] * shape[1] * shape[2]].reshape(shape)
        reached = np.zeros(shape[1], dtype=bool)
        self.last = (dist, reached)
        return dist, reached


def _dist_buffer(instance: Instance, keys: int) -> DPBuffer:
    """One buffer that every DP run of a call reuses (see `DPBuffer`)."""
    return DPBuffer(
        (instance.horizon + 1) * len(instance.node_ids) * min(max(keys, 1), KEYS_PER_RUN)
    )


# DP runs at once on worker threads (the compiled DP releases the GIL); each needs a buffer of
# its own, (H+1) x nodes x KEYS_PER_RUN floats (200 MB at XL).
DP_THREADS = min(2, os.cpu_count() or 1)

_Job = TypeVar("_Job")
_Out = TypeVar("_Out")


def _in_order(
    jobs: Sequence[_Job], run: Callable[[_Job, DPBuffer], _Out], buffers: list[DPBuffer]
) -> Iterator[tuple[_Job, _Out]]:
    """(job, run(job, buffer)) for every job, in order, with up to len(buffers) - 1 runs on
    worker threads ahead of the caller. A result is valid until the caller asks for the next
    one (its buffer is then handed to a later run)."""
    workers = min(len(buffers) - 1, len(jobs) - 1)
    if workers < 1:
        for job in jobs:
            yield job, run(job, buffers[0])
        return
    n_buf = workers + 1
    pool = ThreadPoolExecutor(workers)
    futures: list[Future[_Out]] = [pool.submit(run, jobs[i], buffers[i]) for i in range(workers)]
    try:
        for n, job in enumerate(jobs):
            ahead = n + workers
            if ahead < len(jobs):
                # Its buffer held result n - 1, which the caller is done with.
                futures.append(pool.submit(run, jobs[ahead], buffers[ahead % n_buf]))
            yield job, futures[n].result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# DP buffers of pools that are gone, for the next pool of the process to take: a daemon's
# every re-plan, or a re-plan after its plan, would otherwise fill ~600 MB with inf (XL) anew.
_SPARE_BUFFERS: list[DPBuffer] = []
_SPARE_LOCK = threading.Lock()


def _buffers(pool: ColumnPool, keys: int) -> list[DPBuffer]:
    """The pool's DP buffers (one per DP_THREADS run, plus the one the caller reads), kept
    between calls: filling 200 MB with inf each pricing round cost its own time at XL. A new
    pool takes the spare buffers of pools that are gone when they are large enough, and gives
    its own back when it goes."""
    size = (
        (pool.instance.horizon + 1) * len(pool.instance.node_ids) * min(max(keys, 1), KEYS_PER_RUN)
    )
    if pool.dp_buffers and pool.dp_buffers[0].fits((1, 1, size)):
        return pool.dp_buffers
    wanted = DP_THREADS + 1 if DP_THREADS > 1 else 1
    with _SPARE_LOCK:
        taken = [b for b in _SPARE_BUFFERS if b.fits((1, 1, size))][:wanted]
        for b in taken:
            _SPARE_BUFFERS.remove(b)
    if not pool.dp_buffers:
        weakref.finalize(pool, _give_back, pool.dp_buffers)
    # In place: the finalizer holds this list.
    pool.dp_buffers[:] = taken + [DPBuffer(size) for _ in range(wanted - len(taken))]
    return pool.dp_buffers


def _give_back(buffers: list[DPBuffer]) -> None:
    """Keep a gone pool's buffers for the next pool (the largest few: a daemon's plans are
    all about the same size)."""
    with _SPARE_LOCK:
        for b in buffers:
            if b.last is not None:
                reset_nodes(*b.last)
                b.last = None
        _SPARE_BUFFERS.extend(buffers)
        _SPARE_BUFFERS.sort(key=lambda b: -len(b.flat))
        del _SPARE_BUFFERS[DP_THREADS + 1 :]


def initial_columns(instance: Instance) -> ColumnPool:
    """Each commodity's cheapest timed route with no capacity prices, and the lower bounds.

    Fast path first: the cheapest path over the network (Dijkstra, time ignored), when it
    arrives on time and the shipment fits every lane of it, is the cheapest timed route (no
    route costs less, and it is not late). The others: with no duals the time-expanded graph
    looks the same from every start day, so one DP run per (batch, source, need class) from
    day 0 serves every ready day (routes are shifted in time). Commodities with no route that arrives by
    the horizon get `blocked` set.
    """
    pool = ColumnPool(instance)
    horizon = instance.horizon
    static_rooms = np.unique(np.concatenate([instance.lane_cap, instance.node_cap]))
    by_key: dict[tuple[int, int, float], list[Commodity]] = {}
    for c in instance.commodities:
        if c.blocked is not None:
            continue
        if c.source == c.dest:
            column = make_column(instance, c, ())
            pool.lower_bound_pu[c.index] = column.cost_pu
            pool.add(column)
            continue
        if c.ready > horizon:
            c.blocked = f"ready after the planning horizon (day {horizon})"
            continue
        need = 0.0 if c.split else need_class(static_rooms, c.units)
        by_key.setdefault((c.batch, c.source, need), []).append(c)
    chosen, upper, lower = _on_time_cheapest(
        instance, [c for members in by_key.values() for c in members]
    )
    started = start_legs(instance)
    buffers = _buffers(pool, len(by_key))
    for b, batch in enumerate(instance.batches):
        keys = sorted((s, u) for (bb, s, u) in by_key if bb == b)
        # A commodity with a start route and no exact cheapest route yet starts from its
        # start routes, with the capacity-free least cost as its lower bound: its cheapest
        # route, if better, prices out in the first round like any other.
        slow = [
            c
            for s, u in keys
            for c in by_key[(b, s, u)]
            if c.index not in chosen and not (c.index in started and c.index in lower)
        ]
        # Commodities with a late cheapest path: an A* search within its cost (the union of
        # the bounds of a key's destinations is still a small part of the network); the
        # others (their cheapest path does not fit them) search everything. (Searching
        # those within 1.5x their least cost first and starting the ones with no route there
        # unrouted cost the XL plan 4 more rounds and 340-440 units unserved at its
        # budget, stop 26: docs/planner.md.)
        bounded = [c for c in slow if c.index in upper]
        if bounded:
            to_dest = least_cost_to(instance, batch, [c.dest for c in bounded])
            if to_dest is None:
                bounded = []
            else:
                _static_routes(instance, b, bounded, buffers, chosen, upper, to_dest)
        done = {c.index for c in bounded}
        rest = [c for c in slow if c.index not in done]
        if rest:
            _static_routes(instance, b, rest, buffers, chosen)
        # Added in key order, whichever way each route was found.
        for source, units in keys:
            for c in by_key[(b, source, units)]:
                if c.index in chosen:
                    column = make_column(instance, c, chosen[c.index])
                    pool.lower_bound_pu[c.index] = column.cost_pu
                    pool.add(column)
                elif c.index in started and c.blocked is None:
                    pool.lower_bound_pu[c.index] = lower[c.index]
                for legs in started.get(c.index, ()):
                    pool.add(make_column(instance, c, legs))
    return pool


def start_legs(instance: Instance) -> dict[int, list[tuple[tuple[int, int], ...]]]:
    """Per commodity, the request's start routes of its shipments that are timed routes of
    this instance from the commodity's position and ready day (what is left of an older
    route from there counts). A route on a closed lane, or one the time rules no longer
    allow, is dropped: it is only a place to start from."""
    routes = instance.request.start_routes
    if not routes:
        return {}
    lane_at = {lane_id: i for i, lane_id in enumerate(instance.lane_ids)}
    frm, to = instance.frm.tolist(), instance.to.tolist()
    now = instance.request.now
    out: dict[int, list[tuple[tuple[int, int], ...]]] = {}
    for c in instance.commodities:
        if c.blocked is not None or c.source == c.dest:
            continue
        dur = instance.batches[c.batch].dur_list()
        for sid in c.shipments:
            for route in routes.get(sid, ()):
                legs = []
                for lane_id, depart_at in route:
                    lane = lane_at.get(lane_id)
                    if lane is None:
                        break
                    legs.append((lane, day_of(now, depart_at)))
                else:
                    legs = _from_position(legs, c, frm)
                    if legs and _timed_route(legs, c, frm, to, dur, instance.horizon):
                        found = out.setdefault(c.index, [])
                        if tuple(legs) not in found:
                            found.append(tuple(legs))
    return out


def _from_position(
    legs: list[tuple[int, int]], commodity: Commodity, frm: list[int]
) -> list[tuple[int, int]]:
    """The legs from the first one leaving the commodity's position on or after its ready
    day (none when no leg does)."""
    for i, (lane, day) in enumerate(legs):
        if frm[lane] == commodity.source and day >= commodity.ready:
            return legs[i:]
    return []


def _timed_route(
    legs: list[tuple[int, int]],
    commodity: Commodity,
    frm: list[int],
    to: list[int],
    dur: list[int],
    horizon: int,
) -> bool:
    """Whether the legs chain from the commodity's position to its destination, each leaving
    once the freight is available at its start, and arrive within the horizon."""
    at, free = commodity.source, commodity.ready
    for lane, day in legs:
        if frm[lane] != at or day < free:
            return False
        at, free = to[lane], day + dur[lane]
    return at == commodity.dest and free <= horizon


def _static_routes(
    instance: Instance,
    b: int,
    members: list[Commodity],
    buffers: list[DPBuffer],
    chosen: dict[int, tuple[tuple[int, int], ...]],
    upper: dict[int, float] | None = None,
    to_dest: dict[int, np.ndarray] | None = None,
) -> None:
    """Cheapest timed routes with no duals into `chosen`: one static DP run per chunk of
    (source, need) keys from day 0, routes shifted to each ready day; commodities with no
    route by the horizon get `blocked`. With `upper` (commodity -> the cost per unit of a
    real route, lateness included) and `to_dest`, the runs keep only states that can lead to
    a route within it (A*, as in pricing): the cheapest route is one of them, found exact."""
    horizon = instance.horizon
    batch = instance.batches[b]
    rooms = np.unique(np.concatenate([instance.lane_cap, instance.node_cap]))

    def key_of(c: Commodity) -> tuple[int, int, float]:
        return (c.source, 0, 0.0 if c.split else need_class(rooms, c.units))

    keys = sorted({key_of(c) for c in members})
    slot = {key: i for i, key in enumerate(keys)}

    def run(job: tuple[int, list[Commodity]], buffer: DPBuffer) -> np.ndarray:
        chunk_no, chunk_members = job
        chunk = keys[chunk_no * KEYS_PER_RUN : (chunk_no + 1) * KEYS_PER_RUN]
        limits = None
        if upper is not None:
            # Only the bound: these runs start on day 0 for every ready day, so the members'
            # last days would need shifting by their ready days.
            limits = _bound(
                instance,
                to_dest,
                [
                    (c, slot[key_of(c)] % KEYS_PER_RUN, c.units * upper[c.index])
                    for c in chunk_members
                ],
                len(chunk),
            )
        return time_expanded_costs(
            instance,
            batch,
            np.array([s for s, _, _ in chunk], dtype=np.int64),
            np.zeros(len(chunk), dtype=np.int64),
            need=np.array([u for _, _, u in chunk]),
            static=True,
            buffer=buffer,
            bound=limits[0] if limits is not None else None,
        )

    for (_, chunk_members), dist in _in_order(_by_chunk(members, slot, key_of), run, buffers):
        for c in chunk_members:
            key = slot[key_of(c)] % KEYS_PER_RUN
            value, arrival = best_arrival(dist[:, c.dest, key], c, c.ready, horizon)
            if not np.isfinite(value):
                c.blocked = f"no route arrives within the planning horizon (day {horizon})"
                continue
            legs = trace_route(
                instance,
                batch,
                dist,
                key,
                c.source,
                c.dest,
                arrival - c.ready,
                need=key_of(c)[2],
                static=True,
            )
            chosen[c.index] = tuple((lane, day + c.ready) for lane, day in legs)


def _on_time_cheapest(
    instance: Instance, commodities: list[Commodity]
) -> tuple[dict[int, tuple[tuple[int, int], ...]], dict[int, float], dict[int, float]]:
    """(commodity -> its cheapest path's timed legs (leaving at once, no waiting), for those
    whose cheapest path is on time, within the horizon and has room for them on every lane;
    commodity -> that path's cost per unit with its lateness, for those whose path is late
    but otherwise fits: an upper bound on their cheapest timed route; commodity -> its
    cheapest path's cost per unit, time and room ignored: a lower bound on every route)."""
    out: dict[int, tuple[tuple[int, int], ...]] = {}
    upper: dict[int, float] = {}
    lower: dict[int, float] = {}
    n = len(instance.node_ids)
    frm, to = instance.frm, instance.to
    if not len(frm) or not commodities:
        return out, upper, lower
    room = instance.static_room()
    for b, batch in enumerate(instance.batches):
        members = [c for c in commodities if c.batch == b]
        if not members or np.any(batch.cost < 0):
            continue
        # The lane of each (from, to) pair: cheapest, then quickest, then first.
        pair = frm * n + to
        order = np.lexsort((np.arange(len(frm)), batch.dur, batch.cost, pair))
        lane_of = order[np.r_[True, pair[order][1:] != pair[order][:-1]]]
        graph = csr_matrix((batch.cost[lane_of], (frm[lane_of], to[lane_of])), shape=(n, n))
        pair_lane = dict(zip(pair[lane_of].tolist(), lane_of.tolist(), strict=True))
        sources = sorted({c.source for c in members})
        row = {s: i for i, s in enumerate(sources)}
        dist, pred = dijkstra(graph, indices=sources, return_predecessors=True)
        for c in members:
            back = pred[row[c.source]]
            if back[c.dest] < 0:
                continue
            lower[c.index] = float(dist[row[c.source], c.dest])
            lanes: list[int] = []
            v = c.dest
            while v != c.source:
                u = int(back[v])
                lanes.append(pair_lane[u * n + v])
                v = u
            lanes.reverse()
            if not c.split and min(room[lanes].tolist()) < c.units - 1e-9:
                continue
            legs, day = [], c.ready
            for lane in lanes:
                legs.append((lane, day))
                day += int(batch.dur[lane])
            if day > instance.horizon:
                continue
            late = late_days(day, c.due)
            if late > 0:
                # A real route, late: its cost per unit bounds the cheapest timed route.
                upper[c.index] = float(batch.cost[lanes].sum()) + c.penalty * late
                continue
            out[c.index] = tuple(legs)
    return out, upper, lower


def _nonzero_duals(
    pool: ColumnPool, lane_dual: np.ndarray, node_dual: np.ndarray
) -> tuple[list[tuple[tuple[int, int], float]], list[tuple[tuple[int, int], float]]]:
    lanes = [
        (key, -float(lane_dual[r])) for key, r in pool.lane_rows.items() if lane_dual[r] != 0.0
    ]
    nodes = [
        (key, -float(node_dual[r])) for key, r in pool.node_rows.items() if node_dual[r] != 0.0
    ]
    return lanes, nodes


def dual_costs(
    instance: Instance,
    batch: ArcBatch,
    lane_items: list[tuple[tuple[int, int], float]],
    node_items: list[tuple[tuple[int, int], float]],
) -> np.ndarray:
    """(lanes, H+1) extra cost per unit of departing lane l on day t: the capacity prices of
    its (l, t) row and of the (far node, arrival day) row."""
    adjust = np.zeros((len(instance.lane_ids), instance.horizon + 1))
    for (lane, day), value in lane_items:
        adjust[lane, day] += value
    for (node, day), value in node_items:
        lanes = instance.in_lanes[node]
        days = day - batch.dur[lanes]
        ok = days >= 0
        adjust[lanes[ok], days[ok]] += value
    return adjust


def close_arcs(adjust: np.ndarray, closed: np.ndarray | None) -> np.ndarray:
    """Arc costs with the closed (lane, day) arcs priced out of every route."""
    return adjust if closed is None else np.where(closed, INF, adjust)


def least_cost_to(
    instance: Instance, batch: ArcBatch, dests: list[int]
) -> dict[int, np.ndarray] | None:
    """dest -> least cost per unit from every node to it on the batch's arc costs, ignoring
    time, capacity, duals and lateness (all of which only add cost): the A* lower bound of
    the pricing DPs. Cached on the batch; None when some arc cost is negative."""
    if np.any(batch.cost < 0):
        return None
    missing = sorted(set(dests) - batch.cost_to_dest.keys())
    if missing:
        n = len(instance.node_ids)
        frm, to = instance.frm, instance.to
        pair = frm * n + to
        order = np.lexsort((batch.cost, pair))
        first = order[np.r_[True, pair[order][1:] != pair[order][:-1]]] if len(order) else order
        # Reversed arcs (cheapest of parallel lanes): distances from the destination are
        # costs to it. Explicit zero costs stay arcs in scipy's sparse graphs.
        graph = csr_matrix((batch.cost[first], (to[first], frm[first])), shape=(n, n))
        rows = dijkstra(graph, indices=missing)
        for i, dest in enumerate(missing):
            batch.cost_to_dest[dest] = rows[i]
    return batch.cost_to_dest


def _bound(
    instance: Instance,
    to_dest: dict[int, np.ndarray] | None,
    members: list[tuple[Commodity, int, float]],
    k: int,
) -> tuple[np.ndarray, np.ndarray] | None:
    """(bound, last_day) for `time_expanded_costs`: the (nodes, K) A* bound — per start
    point, the most a pair may cost and still lead some member (commodity, its start point,
    the most its route may cost in all, lateness included) to a route within that, less the
    least cost from the node to its destination — and per start point the last day such a
    route can arrive."""
    if to_dest is None:
        return None
    bound = np.full((len(instance.node_ids), k), -INF)
    last = np.full(k, -1, dtype=np.int64)
    for c, key, most in members:
        per_unit = most / c.units
        # Slack for float error in the DP's sums (a state kept too many costs only time).
        slack = 1e-7 * max(1.0, abs(per_unit))
        np.maximum(bound[:, key], per_unit + slack - to_dest[c.dest], out=bound[:, key])
        # A route arriving d days late costs at least the least transport cost plus d x the
        # penalty: past this day none is within what it may cost.
        room = per_unit + slack - float(to_dest[c.dest][c.source])
        if c.penalty > 0 and np.isfinite(room):
            day = c.due + max(0, math.floor(room / c.penalty + 1e-9))
        else:
            day = instance.horizon
        last[key] = max(last[key], min(day, instance.horizon))
    return bound, last


def _chunk_costs(
    instance: Instance,
    batch: ArcBatch,
    chunk: list[tuple[int, int, float]],
    adjust: np.ndarray,
    buffer: DPBuffer,
    limits: tuple[np.ndarray, np.ndarray] | None,
    active: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """One DP run over a chunk of (source, start day, room needed) start points, within
    `_bound`'s limits when given."""
    return time_expanded_costs(
        instance,
        batch,
        np.array([s for s, _, _ in chunk], dtype=np.int64),
        np.array([r for _, r, _ in chunk], dtype=np.int64),
        adjust,
        need=np.array([u for _, _, u in chunk]),
        buffer=buffer,
        bound=limits[0] if limits is not None else None,
        active=active,
        last_day=limits[1] if limits is not None else None,
    )


def _price_chunks(
    keys: set[tuple[int, int, float]], gain: dict[tuple[int, int, float], float] | None
) -> list[list[tuple[int, int, float]]]:
    """Pricing's start points in runs of up to KEYS_PER_RUN: splittable (need 0) and
    unsplittable ones never share a run (only the latter need the room-change lanes), in key
    order, or with `gain` the start points with most to gain first (runs by their best)."""

    def order(group: list[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
        return (
            sorted(group, key=lambda key: (-gain[key], key)) if gain is not None else sorted(group)
        )

    chunks: list[list[tuple[int, int, float]]] = []
    for group in ([k for k in keys if k[2] <= 0.0], [k for k in keys if k[2] > 0.0]):
        ordered = order(group)
        chunks += [ordered[i : i + KEYS_PER_RUN] for i in range(0, len(ordered), KEYS_PER_RUN)]
    if gain is not None:
        chunks.sort(key=lambda chunk: -gain[chunk[0]])
    return chunks


def _by_chunk(
    members: list[Commodity],
    slot: dict[tuple[int, int, float], int],
    key_of: Callable[[Commodity], tuple[int, int, float]],
) -> list[tuple[int, list[Commodity]]]:
    """Commodities grouped by the DP run (chunk of KEYS_PER_RUN start points) that serves them."""
    out: dict[int, list[Commodity]] = {}
    for c in members:
        out.setdefault(slot[key_of(c)] // KEYS_PER_RUN, []).append(c)
    return sorted(out.items())


def price(
    pool: ColumnPool,
    demand_dual: np.ndarray,
    lane_dual: np.ndarray,
    node_dual: np.ndarray,
    tol: float,
    only_split: bool = False,
    allowed: np.ndarray | None = None,
    closed: np.ndarray | None = None,
) -> list[Column]:
    """New columns with negative reduced cost, at most one per commodity: each commodity's
    cheapest route at these duals when it prices out (see `price_within`)."""
    return price_within(
        pool, demand_dual, lane_dual, node_dual, tol, only_split, allowed, closed, None
    )[0]


def price_within(
    pool: ColumnPool,
    demand_dual: np.ndarray,
    lane_dual: np.ndarray,
    node_dual: np.ndarray,
    tol: float,
    only_split: bool = False,
    allowed: np.ndarray | None = None,
    closed: np.ndarray | None = None,
    cap_factor: float | None = None,
    routes: int = 1,
    out_of_time: Callable[[], bool] | None = None,
    reduced: np.ndarray | None = None,
    enough: int | None = None,
) -> tuple[list[Column], bool]:
    """New columns with negative reduced cost, at most one per commodity, looking only at
    routes costing at most `cap_factor` x the commodity's capacity-free cheapest (per unit,
    plus cap_factor - 1); None: no cap, each commodity's cheapest route. Returns (columns,
    whether the cap hid part of some commodity's search): only a round with no columns and
    no cap proves that nothing prices out.

    Parameters
    ----------
    demand_dual : dual of each commodity's demand row (units-weighted: pi_k).
    lane_dual, node_dual : duals of the pool's lane and node rows (<= 0 when binding).
    tol : reduced costs above -tol count as zero.
    only_split : price splittable commodities only (unsplittable ones are fixed).
    allowed : optional bool per commodity: price only these (the others are fixed).
    closed : optional bool (lanes, H+1): (lane, departure day) arcs no route may take.
    routes : routes per commodity, at most: its cheapest and `routes` - 1 day-shifted
        copies that price out too (`shifted_routes`).
    out_of_time : optional; checked before each DP run: when it says stop, the columns found
        so far are returned as a capped search (nothing proven).
    reduced : optional array per commodity: each priced commodity's entry is set to a lower
        bound on the least reduced cost of any of its routes (exact when a route prices out;
        else -tol, or what the cap leaves unseen: every route past it costs more than the
        cap). Commodities not priced cannot price out (their entries are left alone); those
        a stop by `out_of_time` or `enough` left unpriced get -inf.
    enough : optional; the pass stops (as a capped search: nothing proven) once it has this
        many new columns. Commodities are priced in the order of what a route could gain
        them (what they may pay less their capacity-free least cost), so a big master's
        early rounds go to the shipments with most at stake instead of a whole pass each.

    Only commodities whose capacity-free lower bound could beat their dual are priced: duals
    of capacity rows only ever add cost, so the others cannot have an improving column.
    """
    instance = pool.instance
    horizon = instance.horizon
    todo = [
        c
        for c in instance.commodities
        if c.blocked is None
        and c.source != c.dest
        and (c.split or not only_split)
        and (allowed is None or allowed[c.index])
        and c.units * pool.lower_bound_pu[c.index] - demand_dual[c.index] < -tol
    ]
    if not todo:
        return [], False
    duals = _nonzero_duals(pool, lane_dual, node_dual)
    rooms = instance.room_values()
    if reduced is not None:
        reduced[[c.index for c in todo]] = -INF
    new: list[Column] = []
    # The most a route may cost in all, per commodity: its demand dual (a route prices out
    # below it), or the cap when that is lower. A commodity whose duals are the unserved
    # penalty (no room on its routes yet) would otherwise make its DP search everything.
    most = {c.index: float(demand_dual[c.index]) for c in todo}
    capped = False
    if cap_factor is not None:
        for c in todo:
            cap = c.units * (cap_factor * pool.lower_bound_pu[c.index] + cap_factor - 1.0)
            if cap < most[c.index]:
                most[c.index] = cap
                capped = True
    by_batch: dict[int, list[Commodity]] = {}
    for c in todo:
        by_batch.setdefault(c.batch, []).append(c)
    buffers = _buffers(pool, len(todo))
    added: set[tuple[int, tuple[tuple[int, int], ...]]] = set()
    for b, members in sorted(by_batch.items()):
        batch = instance.batches[b]
        adjust = close_arcs(dual_costs(instance, batch, *duals), closed)
        # Room matters only to unsplittable start points: runs of splittable ones skip the
        # lanes whose room grew (thousands a day when others' reservations vary by day).
        by_cost = _active_codes(instance, batch, adjust, daily_room=False)
        active_by_cost = _active_by_day(instance, by_cost)
        active_by_room = _active_by_day(
            instance, by_cost + _active_codes(instance, batch, None, daily_room=True)
        )
        instance.room_by_day(batch)  # built here, not by two DP threads at once

        def key_of(c: Commodity) -> tuple[int, int, float]:
            return (c.source, c.ready, 0.0 if c.split else need_class(rooms, c.units))

        gain: dict[tuple[int, int, float], float] | None = None
        if enough is not None:
            gain = {}
            for c in members:
                point = key_of(c)
                could = most[c.index] - c.units * pool.lower_bound_pu[c.index]
                gain[point] = max(gain.get(point, -INF), could)
        chunks = _price_chunks({key_of(c) for c in members}, gain)
        place = {key: (n, i) for n, chunk in enumerate(chunks) for i, key in enumerate(chunk)}
        to_dest = least_cost_to(instance, batch, [c.dest for c in members])
        jobs: dict[int, list[Commodity]] = {}
        for c in members:
            jobs.setdefault(place[key_of(c)][0], []).append(c)

        def run(
            job: tuple[int, list[Commodity]],
            buffer: DPBuffer,
            batch: ArcBatch = batch,
            adjust: np.ndarray = adjust,
            active_by_cost: tuple[np.ndarray, np.ndarray] = active_by_cost,
            active_by_room: tuple[np.ndarray, np.ndarray] = active_by_room,
            chunks: list[list[tuple[int, int, float]]] = chunks,
            place: dict[tuple[int, int, float], tuple[int, int]] = place,
            to_dest: dict[int, np.ndarray] | None = to_dest,
        ) -> np.ndarray | None:
            if out_of_time is not None and out_of_time():
                return None
            chunk_no, chunk_members = job
            chunk = chunks[chunk_no]
            # A route prices out only under demand_dual / units: the A* bound of each pair.
            limits = _bound(
                instance,
                to_dest,
                [(c, place[key_of(c)][1], most[c.index]) for c in chunk_members],
                len(chunk),
            )
            active = active_by_room if chunk[0][2] > 0.0 else active_by_cost
            return _chunk_costs(instance, batch, chunk, adjust, buffer, limits, active)

        for (_, chunk_members), dist in _in_order(sorted(jobs.items()), run, buffers):
            if dist is None:
                return new, True
            for c in chunk_members:
                key = place[key_of(c)][1]
                prices_out = (demand_dual[c.index] - tol) / c.units  # per unit
                value, arrival = best_arrival(dist[:, c.dest, key], c, 0, horizon)
                if reduced is not None:
                    pi = float(demand_dual[c.index])
                    # A value past `most` is a real route but maybe not the cheapest (the
                    # A* bound left it inexact): only `most` bounds the cheapest then.
                    reduced[c.index] = (
                        min(c.units * value, most[c.index]) - pi
                        if value < prices_out
                        else min(-tol, most[c.index] - pi)
                    )
                if not value < prices_out:
                    continue
                legs = trace_route(
                    instance, batch, dist, key, c.source, c.dest, arrival, adjust, need=key_of(c)[2]
                )
                found = [legs]
                if routes > 1:
                    found += shifted_routes(
                        instance, batch, c, legs, adjust, key_of(c)[2], prices_out, routes - 1
                    )
                for legs in found:
                    column = make_column(instance, c, legs)
                    if (column.commodity, column.legs) in pool.seen or (
                        column.commodity,
                        column.legs,
                    ) in added:
                        continue
                    added.add((column.commodity, column.legs))
                    new.append(column)
            if enough is not None and len(new) >= enough:
                return new, True
    return new, capped


def routes_within(
    pool: ColumnPool,
    demand_dual: np.ndarray,
    lane_dual: np.ndarray,
    node_dual: np.ndarray,
    delta: float,
    commodities: list[Commodity],
    cap: int,
    closed: np.ndarray | None = None,
    out_of_time: Callable[[], bool] | None = None,
) -> tuple[list[Column], bool]:
    """Every route of the given commodities whose reduced cost is at most `delta`.

    With LP duals at the optimum and `delta` = (best integer plan) - (LP bound), no route with
    a larger reduced cost can be part of a better integer plan, so adding these closes the
    gap that price-and-branch leaves for unsplittable shipments. Returns (columns, complete);
    `complete` is False when some commodity had more than `cap` such routes, or when
    `out_of_time` (the caller's budget, checked per commodity) said stop.

    How: one pricing DP per batch of start points (the same (source, ready day, need) keys as
    `price`) gives the least dual-adjusted cost of reaching every (node, day) on arcs the
    shipment fits; the routes are then walked back from the destination, keeping a partial
    route only while that exact prefix bound plus its suffix stays within the limit, so every
    state visited lies on some route within it (tests/optimise/test_routes_within.py compares
    with enumerating every route).
    """
    instance = pool.instance
    duals = _nonzero_duals(pool, lane_dual, node_dual)
    rooms = instance.room_values()
    # Smallest first: the per-unit limit is widest for them, so a listing over the cap (which
    # ends the proof, and with it the point of listing more) shows early.
    todo = sorted(
        (c for c in commodities if c.blocked is None and c.source != c.dest),
        key=lambda c: (c.units, c.index),
    )
    out: list[Column] = []
    by_batch: dict[int, list[Commodity]] = {}
    for c in todo:
        by_batch.setdefault(c.batch, []).append(c)
    buffer = _dist_buffer(instance, len(todo))
    for b, members in sorted(by_batch.items()):
        batch = instance.batches[b]
        adjust = close_arcs(dual_costs(instance, batch, *duals), closed)
        active = changed_lanes(instance, batch, adjust)
        room = instance.room_by_day(batch)

        def key_of(c: Commodity) -> tuple[int, int, float]:
            return (c.source, c.ready, need_class(rooms, c.units))

        keys = sorted({key_of(c) for c in members})
        slot = {key: i for i, key in enumerate(keys)}
        to_dest = least_cost_to(instance, batch, [c.dest for c in members])
        chunks = sorted(
            _by_chunk(members, slot, key_of), key=lambda item: (item[1][0].units, item[0])
        )
        for chunk_no, chunk_members in chunks:
            chunk = keys[chunk_no * KEYS_PER_RUN : (chunk_no + 1) * KEYS_PER_RUN]
            limits = _bound(
                instance,
                to_dest,
                [
                    (c, slot[key_of(c)] % KEYS_PER_RUN, demand_dual[c.index] + delta)
                    for c in chunk_members
                ],
                len(chunk),
            )
            dist = _chunk_costs(instance, batch, chunk, adjust, buffer, limits, active)
            for c in chunk_members:
                if out_of_time is not None and out_of_time():
                    return out, False
                key = slot[key_of(c)] % KEYS_PER_RUN
                pi = float(demand_dual[c.index])
                # Float slack on the limit: listing a route too many is harmless, one too
                # few would break the proof.
                limit = (pi + delta) / c.units + 1e-9 * max(1.0, abs(pi))
                found = _walk_back(instance, batch, dist[:, :, key], adjust, room, c, limit, cap)
                if len(found) > cap:
                    # The proof is lost; more routes would only lengthen the MIP.
                    return out, False
                for legs in sorted(found):
                    if (c.index, legs) not in pool.seen:
                        out.append(make_column(instance, c, legs))
    return out, True


def _walk_back(
    instance: Instance,
    batch: ArcBatch,
    dist: np.ndarray,
    adjust: np.ndarray,
    room: np.ndarray,
    c: Commodity,
    limit: float,
    cap: int,
) -> set[tuple[tuple[int, int], ...]]:
    """Every route of `c` costing at most `limit` per unit, lateness included (stopping at
    cap + 1 of them).

    dist[t, v]: least cost to be at v by day t from (c.source, c.ready) on arcs c fits; room:
    `Instance.room_by_day`. A state
    (v, t, suffix) means "at v on day t, then the legs of suffix", which cost `spent` per unit
    (lateness included); it is kept while dist[t, v] + spent is within the limit, which it
    then is for some whole route. Each route is reached once: its last leg arrives exactly on
    its arrival day, and a state steps back one day of waiting or along an arc arriving
    exactly that day.
    """
    horizon, ready, units = instance.horizon, c.ready, c.units
    frm, dur, cost, in_lanes = instance.frm, batch.dur, batch.cost, instance.in_lanes
    found: set[tuple[tuple[int, int], ...]] = set()
    # (node, day, suffix legs, spent per unit, whether the next step must be an arc)
    stack: list[tuple[int, int, tuple[tuple[int, int], ...], float, bool]] = []
    for arrival in range(horizon, ready, -1):
        spent = c.penalty * late_days(arrival, c.due)
        if dist[arrival, c.dest] + spent <= limit:
            stack.append((c.dest, arrival, (), spent, True))
    while stack:
        v, t, legs, spent, arc_only = stack.pop()
        if not arc_only:
            if v == c.source and t == ready and legs:
                found.add(legs)
                if len(found) > cap:
                    return found
            if t > ready and dist[t - 1, v] + spent <= limit:
                stack.append((v, t - 1, legs, spent, False))
        lanes = in_lanes[v]
        depart = t - dur[lanes]
        ok = depart >= ready
        if not ok.any():
            continue
        lanes, depart = lanes[ok], depart[ok]
        step = cost[lanes] + adjust[lanes, depart]
        total = dist[depart, frm[lanes]] + step + spent
        keep = (total <= limit) & (room[depart, lanes] >= units - 1e-9)
        for lane, d, st in zip(
            lanes[keep].tolist(), depart[keep].tolist(), step[keep].tolist(), strict=True
        ):
            stack.append((int(frm[lane]), d, ((lane, d), *legs), spent + st, False))
    return found
