"""The NetworkX mirror of a network, and what-if views that never mutate the live twin."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType

import networkx as nx

from twin.domain.records import Lane, Network, Node


def to_graph(network: Network) -> nx.MultiDiGraph:
    """Build a MultiDiGraph: one node per Node (attribute `node`), one edge per Lane keyed by
    lane id (attribute `lane`). Parallel lanes between two nodes (a Suez and a Cape service)
    stay separate edges.

    >>> from twin.domain.records import Network, Node, Lane
    >>> net = Network(name="x", nodes=(Node(id="A", kind="port"), Node(id="B", kind="port")),
    ...     lanes=(Lane(id="AB", **{"from": "A"}, to="B", mode="sea", transit_days=2, cost_per_unit=1),))
    >>> to_graph(net).number_of_edges()
    1
    """
    graph = nx.MultiDiGraph(name=network.name, unit=network.unit, currency=network.currency)
    for node in network.nodes:
        graph.add_node(node.id, node=node)
    for lane in network.lanes:
        graph.add_edge(lane.from_, lane.to, key=lane.id, lane=lane)
    return graph


@dataclass(frozen=True)
class WhatIf:
    """Changes to try without touching the twin.

    avoid: node or lane ids to exclude; a chokepoint or border excludes every lane via it.
    capacity_pct: id -> percent of normal capacity left (node throughput or lane capacity;
        a chokepoint's or border's applies to the lanes via it).
    delay_days: id -> extra days to pass (lane transit, or node handling).
    clearance_days: node id -> extra customs clearance days.
    """

    avoid: frozenset[str] = frozenset()
    capacity_pct: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    delay_days: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    clearance_days: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    def merged(self, other: WhatIf) -> WhatIf:
        """Both sets of changes; where both cut a capacity the lower share wins, delays add."""
        cap = dict(self.capacity_pct)
        for key, pct in other.capacity_pct.items():
            cap[key] = min(cap.get(key, 100.0), pct)
        delay = dict(self.delay_days)
        for key, days in other.delay_days.items():
            delay[key] = delay.get(key, 0.0) + days
        clear = dict(self.clearance_days)
        for key, days in other.clearance_days.items():
            clear[key] = clear.get(key, 0.0) + days
        return WhatIf(self.avoid | other.avoid, cap, delay, clear)


class NetworkView:
    """A network seen through a WhatIf: lanes hidden, capacities cut, times lengthened."""

    def __init__(self, network: Network, whatif: WhatIf | None = None):
        self.network = network
        self.whatif = whatif or WhatIf()

    @cached_property
    def graph(self) -> nx.MultiDiGraph:
        return to_graph(self.network)

    def lane_open(self, lane: Lane) -> bool:
        avoid = self.whatif.avoid
        if not avoid:
            return True
        if lane.id in avoid or lane.from_ in avoid or lane.to in avoid:
            return False
        return not any(member in avoid for member in lane.via)

    def lane_capacity(self, lane: Lane) -> float | None:
        pct = self._lowest_pct((lane.id, *lane.via))
        if pct is None:
            return lane.capacity
        if lane.capacity is None:
            # An unbounded lane through a derated chokepoint stays unbounded unless shut.
            return 0.0 if pct <= 0 else None
        return lane.capacity * pct / 100.0

    def lane_transit_days(self, lane: Lane) -> float:
        delay = self.whatif.delay_days
        extra = delay.get(lane.id, 0.0) + sum(delay.get(member, 0.0) for member in lane.via)
        return lane.transit_days + extra

    def node_capacity(self, node: Node) -> float | None:
        pct = self._lowest_pct((node.id,))
        if pct is None or node.capacity is None:
            return 0.0 if (pct is not None and pct <= 0) else node.capacity
        return node.capacity * pct / 100.0

    def node_handling_days(self, node: Node) -> float:
        return node.handling_days + self.whatif.delay_days.get(node.id, 0.0)

    def node_clearance_days(self, node: Node) -> float:
        return node.clearance_days + self.whatif.clearance_days.get(node.id, 0.0)

    def node_open(self, node_id: str) -> bool:
        return node_id not in self.whatif.avoid

    @cached_property
    def open_lanes(self) -> tuple[Lane, ...]:
        return tuple(
            lane
            for lane in self.network.lanes
            if self.lane_open(lane) and self.lane_capacity(lane) != 0.0
        )

    def open_graph(self) -> nx.MultiDiGraph:
        """A read-only subgraph view holding only the lanes and nodes open under the what-if."""
        open_ids = {lane.id for lane in self.open_lanes}
        return nx.subgraph_view(
            self.graph,
            filter_node=self.node_open,
            filter_edge=lambda u, v, key: key in open_ids,
        )

    def _lowest_pct(self, ids: tuple[str, ...]) -> float | None:
        cap = self.whatif.capacity_pct
        values = [cap[i] for i in ids if i in cap]
        return min(values) if values else None
