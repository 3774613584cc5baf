"""The planning problem as arrays: open lanes, capacities, time rules applied, commodities.

A commodity is what the model routes: an unsplittable shipment on its own, or the splittable
shipments that share position, destination, origin country, ready day, due day and penalty
(they are interchangeable, so the model sees one aggregate and extraction shares it out).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order

from twin.network.graph import NetworkView
from twin.optimise.request import PlanRequest
from twin.optimise.timeline import arc_days, due_day, ready_day


@dataclass
class Commodity:
    """Units routed as one: member shipments (ids and units), where and when they start."""

    index: int
    shipments: tuple[str, ...]
    member_units: tuple[float, ...]
    units: float
    source: int  # node index of the current position (-1: unknown node)
    dest: int  # node index of the destination (-1: unknown node)
    country: str | None  # the shipment's origin country, for customs clearance
    ready: int
    due: int
    penalty: float  # money per unit per late (or risk) day
    split: bool
    batch: int = -1
    blocked: str | None = None  # why it cannot be routed at all, when known before solving


@dataclass
class ArcBatch:
    """Arc data shared by commodities with the same origin country (and penalty, with risk)."""

    country: str | None
    penalty: float | None  # None: no risk anywhere, so arc costs do not depend on the penalty
    dur: np.ndarray  # int days per lane (arc_days)
    cost: np.ndarray  # money per unit per lane: transport + penalty x risk days
    # (H+1, lanes) room of every arc by departure day (Instance.room_by_day), built on first use.
    room_table: np.ndarray | None = None
    # (day x lanes + lane) of every lane whose room differs from the day before (pricing DP).
    room_changes: np.ndarray | None = None
    # dest node -> least cost per unit to it from every node (columns.least_cost_to).
    cost_to_dest: dict[int, np.ndarray] = field(default_factory=dict)
    dur_cache: list[int] | None = None

    def dur_list(self) -> list[int]:
        """`dur` as Python ints (per-leg bookkeeping reads it one lane at a time)."""
        if self.dur_cache is None:
            self.dur_cache = self.dur.tolist()
        return self.dur_cache


@dataclass
class Instance:
    """Arrays of one planning problem, built from a NetworkView and a PlanRequest."""

    view: NetworkView
    request: PlanRequest
    horizon: int
    node_ids: list[str]
    node_index: dict[str, int]
    lane_ids: list[str]
    frm: np.ndarray
    to: np.ndarray
    transport: np.ndarray  # cost per unit per lane
    risk_days: np.ndarray  # expected delay days on the lane, its via and its far node
    lane_cap: np.ndarray  # units per departure day (inf: unbounded)
    node_cap: np.ndarray  # units per day (inf: unbounded)
    in_lanes: list[np.ndarray]  # lane indices arriving at each node
    batches: list[ArcBatch]
    commodities: list[Commodity]

    # Capacity left per (lane, departure day) and (node, day) after what others reserved.
    lane_room: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    node_room: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    room_values_cache: np.ndarray | None = None
    out_lanes_cache: tuple[np.ndarray, np.ndarray] | None = None
    bounded_cache: tuple[list[bool], list[bool], list[int]] | None = None
    in_lanes_cache: tuple[np.ndarray, np.ndarray] | None = None

    def lane_residual(self, lane: int, day: int) -> float:
        return float(self.lane_room[lane, day])

    def node_residual(self, node: int, day: int) -> float:
        return float(self.node_room[node, day])

    def arc_room(
        self, batch: ArcBatch, lanes: np.ndarray, day: int | np.ndarray, static: bool = False
    ) -> np.ndarray:
        """Units an unsplittable shipment can take on these lanes departing `day`: the lesser
        of the lane's room that day and its far node's room on arrival (static: capacities)."""
        arrive = np.minimum(day + batch.dur[lanes], self.horizon)
        if static:
            return np.minimum(self.lane_cap[lanes], self.node_cap[self.to[lanes]])
        return np.minimum(self.lane_room[lanes, day], self.node_room[self.to[lanes], arrive])

    def out_lanes(self) -> tuple[np.ndarray, np.ndarray]:
        """(lanes grouped by the node they leave, start of each node's group; nodes + 1)."""
        if self.out_lanes_cache is None:
            order = np.argsort(self.frm, kind="stable").astype(np.int64)
            start = np.searchsorted(self.frm[order], np.arange(len(self.node_ids) + 1))
            self.out_lanes_cache = (order, start.astype(np.int64))
        return self.out_lanes_cache

    def bounded_lists(self) -> tuple[list[bool], list[bool], list[int]]:
        """(lane has a capacity, node has a capacity, far node of each lane) as Python lists:
        a column's capacity rows are read one leg at a time."""
        if self.bounded_cache is None:
            self.bounded_cache = (
                np.isfinite(self.lane_cap).tolist(),
                np.isfinite(self.node_cap).tolist(),
                self.to.tolist(),
            )
        return self.bounded_cache

    def in_lanes_flat(self) -> tuple[np.ndarray, np.ndarray]:
        """`in_lanes` as one array: (lanes grouped by the node they enter, in `in_lanes`
        order; start of each node's group, nodes + 1)."""
        if self.in_lanes_cache is None:
            sizes = [len(a) for a in self.in_lanes]
            start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
            parts = [a.astype(np.int64) for a in self.in_lanes]
            flat = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
            self.in_lanes_cache = (flat, start)
        return self.in_lanes_cache

    def room_by_day(self, batch: ArcBatch) -> np.ndarray:
        """(H+1, lanes): `arc_room` of every lane on every departure day, row by day (built
        once per batch: the pricing DPs read a day's row every day of every run)."""
        if batch.room_table is None:
            days = np.arange(self.horizon + 1)
            arrive = np.minimum(days[:, None] + batch.dur[None, :], self.horizon)
            batch.room_table = np.minimum(self.lane_room.T, self.node_room.T[arrive, self.to])
        return batch.room_table

    def room_values(self) -> np.ndarray:
        """Sorted distinct rooms of every lane and node on every day (see `need_class`)."""
        if self.room_values_cache is None:
            self.room_values_cache = np.unique(
                np.concatenate([self.lane_room.ravel(), self.node_room.ravel()])
            )
        return self.room_values_cache

    def static_room(self) -> np.ndarray:
        """Per lane: the lesser of its capacity and its far node's (`arc_room` static)."""
        return np.minimum(self.lane_cap, self.node_cap[self.to])


def compile_instance(view: NetworkView, request: PlanRequest) -> Instance:
    """Apply the what-if view and the time rules to a request, giving the arrays the model uses.

    Lanes closed by the view, lanes with no capacity left and lanes into a closed node or a
    node with no throughput are left out. Shipments whose position or destination is not a
    node of the network are kept, marked `blocked`, and end up unserved.
    """
    network = view.network
    nodes = network.nodes
    node_ids = [n.id for n in nodes]
    node_index = {nid: i for i, nid in enumerate(node_ids)}
    node_cap = np.array([_unbounded(view.node_capacity(n)) for n in nodes], dtype=float)
    node_open = np.array([view.node_open(n.id) for n in nodes], dtype=bool)
    risk = request.risk_days

    lanes = [
        lane
        for lane in view.open_lanes
        if node_open[node_index[lane.from_]]
        and node_open[node_index[lane.to]]
        and node_cap[node_index[lane.to]] > 0
    ]
    frm = np.array([node_index[lane.from_] for lane in lanes], dtype=np.int64)
    to = np.array([node_index[lane.to] for lane in lanes], dtype=np.int64)
    adder = request.lane_cost_adder
    transport = np.array([lane.cost_per_unit + adder.get(lane.id, 0.0) for lane in lanes], float)
    lane_cap = np.array([_unbounded(view.lane_capacity(lane)) for lane in lanes], dtype=float)
    transit = np.array([view.lane_transit_days(lane) for lane in lanes], dtype=float)
    risk_days = np.array(
        [
            risk.get(lane.id, 0.0)
            + sum(risk.get(v, 0.0) for v in lane.via)
            + risk.get(lane.to, 0.0)
            for lane in lanes
        ],
        dtype=float,
    )
    has_risk = bool(np.any(risk_days != 0.0))
    handling = np.array([view.node_handling_days(n) for n in nodes], dtype=float)
    clearance = np.array([view.node_clearance_days(n) for n in nodes], dtype=float)

    order = np.argsort(to, kind="stable")
    bounds = np.searchsorted(to[order], np.arange(len(nodes) + 1))
    in_lanes = [order[bounds[v] : bounds[v + 1]] for v in range(len(nodes))]

    now = request.now
    commodities: list[Commodity] = []
    groups: dict[tuple, int] = {}
    due_days: list[int] = []
    for shipment in request.shipments:
        position = request.position_of(shipment)
        origin_node = network.node_by_id.get(shipment.origin)
        country = origin_node.country if origin_node is not None else None
        src = node_index.get(position.node, -1)
        dst = node_index.get(shipment.destination, -1)
        ready = ready_day(now, position.available_at)
        due = due_day(now, shipment.due_at)
        due_days.append(due)
        pen = shipment.penalty_per_unit_day
        key = (src, dst, country, ready, due, pen)
        if shipment.split and key in groups:
            c = commodities[groups[key]]
            c.shipments += (shipment.id,)
            c.member_units += (shipment.units,)
            c.units += shipment.units
            continue
        blocked = None
        if src < 0:
            blocked = f"position {position.node} is not a node of the network"
        elif dst < 0:
            blocked = f"destination {shipment.destination} is not a node of the network"
        elif not node_open[src]:
            blocked = f"its position {position.node} is closed"
        elif not node_open[dst] or node_cap[dst] <= 0:
            blocked = f"its destination {shipment.destination} is closed"
        commodity = Commodity(
            index=len(commodities),
            shipments=(shipment.id,),
            member_units=(shipment.units,),
            units=shipment.units,
            source=src,
            dest=dst,
            country=country,
            ready=ready,
            due=due,
            penalty=pen,
            split=shipment.split,
            blocked=blocked,
        )
        if shipment.split:
            groups[key] = commodity.index
        commodities.append(commodity)

    if request.horizon_days is not None:
        horizon = int(request.horizon_days)
    else:
        horizon = max([0, *due_days]) + request.late_window_days
    horizon = max(horizon, 0)

    # Batches: arc durations depend on the origin country (clearance), costs on the penalty
    # only when some risk is priced.
    batches: list[ArcBatch] = []
    batch_of: dict[tuple, int] = {}
    customs_cache: dict[str | None, np.ndarray] = {}
    for c in commodities:
        bkey = (c.country, c.penalty if has_risk else None)
        if bkey not in batch_of:
            if c.country not in customs_cache:
                customs_cache[c.country] = np.array(
                    [n.is_customs_entry_for(c.country) for n in nodes], dtype=bool
                )
            customs = customs_cache[c.country]
            stop = handling[to] + np.where(customs[to], clearance[to], 0.0)
            dur = np.array(
                [arc_days(t, s) for t, s in zip(transit.tolist(), stop.tolist())],
                dtype=np.int64,
            )
            cost = transport + (c.penalty * risk_days if has_risk else 0.0)
            batch = ArcBatch(country=c.country, penalty=bkey[1], dur=dur, cost=cost)
            batch_of[bkey] = len(batches)
            batches.append(batch)
        c.batch = batch_of[bkey]

    instance = Instance(
        view=view,
        request=request,
        horizon=horizon,
        node_ids=node_ids,
        node_index=node_index,
        lane_ids=[lane.id for lane in lanes],
        frm=frm,
        to=to,
        transport=transport,
        risk_days=risk_days,
        lane_cap=lane_cap,
        node_cap=node_cap,
        in_lanes=in_lanes,
        batches=batches,
        commodities=commodities,
    )
    instance.lane_room, instance.node_room = _rooms(instance)
    _mark_unreachable(instance)
    return instance


def _unbounded(capacity: float | None) -> float:
    """A capacity, with none given read as unbounded."""
    return math.inf if capacity is None else capacity


def _rooms(instance: Instance) -> tuple[np.ndarray, np.ndarray]:
    days = instance.horizon + 1
    lane_room = np.repeat(instance.lane_cap[:, None], days, axis=1)
    node_room = np.repeat(instance.node_cap[:, None], days, axis=1)
    lane_at = {lane_id: i for i, lane_id in enumerate(instance.lane_ids)}
    for (lane_id, day), units in instance.request.reserved_lane.items():
        i = lane_at.get(lane_id)
        if i is not None and 0 <= day < days:
            lane_room[i, day] = max(0.0, lane_room[i, day] - units)
    for (node_id, day), units in instance.request.reserved_node.items():
        v = instance.node_index.get(node_id)
        if v is not None and 0 <= day < days:
            node_room[v, day] = max(0.0, node_room[v, day] - units)
    return lane_room, node_room


def _mark_unreachable(instance: Instance) -> None:
    """Give commodities with no open route at all (ignoring time and capacity) their reason."""
    n = len(instance.node_ids)
    graph = csr_matrix((np.ones(len(instance.frm)), (instance.frm, instance.to)), shape=(n, n))
    reach: dict[int, set[int]] = {}
    for c in instance.commodities:
        if c.blocked is not None or c.source == c.dest:
            continue
        if c.source not in reach:
            reach[c.source] = set(
                breadth_first_order(graph, c.source, return_predecessors=False).tolist()
            )
        if c.dest not in reach[c.source]:
            c.blocked = (
                f"no open route from {instance.node_ids[c.source]} to {instance.node_ids[c.dest]}"
            )
