"""How soon freight booked now can reach each node of a network: the offsets that turn a risk's
time window (or a disruption's) into a yes/no for the freight being booked."""

from __future__ import annotations

import heapq
from collections import defaultdict
from datetime import datetime, timedelta

from twin.domain.plans import Leg
from twin.domain.records import Lane, Network, NodeKind
from twin.scoring.exposure import passage_time

Point = tuple[str, datetime]  # a node, lane or via id and when freight meets it


def earliest_offsets(network: Network) -> dict[str, float]:
    """Days from booking at any origin until freight can leave each node, by the fastest lanes
    (transit plus the node's handling); nodes no origin reaches are left out.

    >>> from twin.domain.records import Lane, Network, Node
    >>> net = Network(name="x", nodes=(Node(id="O", kind="origin"), Node(id="P", kind="port",
    ...     handling_days=1)), lanes=(Lane(id="OP", **{"from": "O"}, to="P", mode="road",
    ...     transit_days=0.5, cost_per_unit=1),))
    >>> earliest_offsets(net)
    {'O': 0.0, 'P': 1.5}
    """
    out_lanes: dict[str, list[Lane]] = defaultdict(list)
    for lane in network.lanes:
        out_lanes[lane.from_].append(lane)
    nodes = network.node_by_id
    best: dict[str, float] = {}
    queue = [(0.0, n.id) for n in network.nodes if n.kind is NodeKind.origin]
    heapq.heapify(queue)
    while queue:
        days, node = heapq.heappop(queue)
        if node in best:
            continue
        best[node] = days
        for lane in out_lanes[node]:
            if lane.to not in best:
                heapq.heappush(
                    queue, (days + lane.transit_days + nodes[lane.to].handling_days, lane.to)
                )
    return best


def lane_points(lane: Lane, depart: datetime, arrive: datetime, network: Network) -> list[Point]:
    """When freight sailing `lane` from `depart` to `arrive` meets each point of it: its start
    and the lane itself on leaving, each chokepoint or border of its `via` on passing it (along
    the leg in proportion of great-circle distance, in sailing order), its end on arriving.

    The one rule the engine (pricing a risk for freight booked now), the replay world (when an
    effect acts on freight) and the replay's hindsight all use.
    """
    leg = Leg(
        lane=lane.id, from_node=lane.from_, to_node=lane.to, depart_at=depart, arrive_at=arrive
    )
    passing = sorted(
        ((member, passage_time(leg, member, network)) for member in lane.via), key=lambda p: p[1]
    )
    return [(lane.from_, depart), (lane.id, depart), *passing, (lane.to, arrive)]


def booked_lane_points(
    lane: Lane, booked: datetime, offsets: dict[str, float], network: Network
) -> list[Point] | None:
    """`lane_points` for freight booked at `booked` on its fastest way to the lane's start
    (`earliest_offsets`) and the lane's planned transit; None where no origin reaches the lane."""
    offset = offsets.get(lane.from_)
    if offset is None:
        return None
    leave = booked + timedelta(days=offset)
    return lane_points(lane, leave, leave + timedelta(days=lane.transit_days), network)
