"""How soon freight booked now can reach each node of a network: the offsets that turn a risk's
time window (or a disruption's) into a yes/no for the freight being booked."""

from __future__ import annotations

import heapq
from collections import defaultdict

from twin.domain.records import Lane, Network, NodeKind


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
