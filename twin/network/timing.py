"""How soon freight booked now can reach each node of a network: the offsets that turn a risk's
time window (or a disruption's) into a yes/no for the freight being booked."""

from __future__ import annotations

import heapq
from collections import defaultdict
from datetime import datetime, timedelta
from functools import lru_cache

from twin.domain.records import Lane, Network, Node, NodeKind
from twin.network.geo import great_circle_km, has_coordinates

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


Coordinates = tuple[float, float] | None


def _at(node: Node) -> Coordinates:
    return (node.lat, node.lon) if has_coordinates(node) else None  # type: ignore[return-value]


@lru_cache(maxsize=65536)
def _share(start: Coordinates, member: Coordinates, end: Coordinates) -> float:
    """How far along a leg from `start` to `end` it passes `member` (twin.network.geo's rule,
    cached: a replay asks it for the same few lanes hundreds of thousands of times)."""
    if start is None or member is None or end is None:
        return 0.5
    first, second = great_circle_km(*start, *member), great_circle_km(*member, *end)
    return first / (first + second) if first + second > 0 else 0.5


def lane_points(lane: Lane, depart: datetime, arrive: datetime, network: Network) -> list[Point]:
    """When freight sailing `lane` from `depart` to `arrive` meets each point of it: its start
    and the lane itself on leaving, each chokepoint or border of its `via` on passing it (along
    the leg in proportion of great-circle distance, in sailing order), its end on arriving.

    The one rule the engine (pricing a risk for freight booked now), the replay world (when an
    effect acts on freight) and the replay's hindsight all use.
    """
    if not lane.via:
        return [(lane.from_, depart), (lane.id, depart), (lane.to, arrive)]
    passing = [
        (member, depart + (arrive - depart) * share) for member, share in via_shares(lane, network)
    ]
    passing.sort(key=lambda p: p[1])
    return [(lane.from_, depart), (lane.id, depart), *passing, (lane.to, arrive)]


def via_shares(lane: Lane, network: Network) -> list[tuple[str, float]]:
    """How far along `lane` (0 to 1, by great-circle distance) it passes each point of its
    `via`, in the via's order (0.5 where a position is unknown): `lane_points`' rule, for
    callers that time many legs of one lane."""
    nodes = network.node_by_id
    start, end = nodes.get(lane.from_), nodes.get(lane.to)
    shares = []
    for member in lane.via:
        node = nodes.get(member)
        share = 0.5
        if start is not None and end is not None and node is not None:
            share = _share(_at(start), _at(node), _at(end))
        shares.append((member, share))
    return shares


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
