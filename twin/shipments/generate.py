"""A realistic, seeded mix of e-commerce shipments on a network, for demos, replays and benches.

Markets are weighted like China's cross-border e-commerce exports (US first, then the EU, UK,
Japan and the Gulf); priorities are mostly standard (sea or rail), some express and a few
critical (air). Due dates come from the network itself: the time of the cheapest route for
standard freight with a buffer, the fastest route for express and critical freight.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

import networkx as nx
import numpy as np

from twin.domain.records import Network, NodeKind, Priority, Shipment

# Share of shipments by destination market; countries of the EU share the "EU" weight.
MARKET_WEIGHTS = {"US": 0.45, "EU": 0.25, "GB": 0.10, "JP": 0.10, "AE": 0.10}
EU_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)
PRIORITY_MIX = {Priority.standard: 0.70, Priority.express: 0.22, Priority.critical: 0.08}
# Units (cbm) drawn log-normally, clipped: LCL/FCL sea lots, smaller express and critical lots.
UNITS = {
    Priority.standard: (math.log(12.0), 0.8, 1.0, 60.0),
    Priority.express: (math.log(1.5), 0.7, 0.2, 6.0),
    Priority.critical: (math.log(0.6), 0.6, 0.1, 2.5),
}
SPLIT_SHARE = {Priority.standard: 0.85, Priority.express: 0.6, Priority.critical: 0.4}


class RouteTimes:
    """Days of the cheapest and of the fastest route between node pairs, with node times."""

    def __init__(self, network: Network):
        self.network = network
        self.graph = nx.MultiDiGraph()
        self.graph.add_nodes_from(n.id for n in network.nodes)
        for lane in network.lanes:
            self.graph.add_edge(lane.from_, lane.to, key=lane.id, lane=lane)
        self._cache: dict[str, tuple[dict[str, float], dict[str, float]]] = {}

    def _edge_days(self, edges: dict, target: str, origin_country: str | None) -> float:
        node = self.network.node_by_id[target]
        stop = node.handling_days
        if node.is_customs_entry_for(origin_country):
            stop += node.clearance_days
        return min(d["lane"].transit_days for d in edges.values()) + stop

    def from_origin(self, origin: str) -> tuple[dict[str, float], dict[str, float]]:
        """(days along the cheapest route, days along the fastest route) to every node."""
        if origin not in self._cache:
            country = self.network.node_by_id[origin].country

            def cost(u: str, v: str, edges: dict) -> float:
                return min(d["lane"].cost_per_unit for d in edges.values()) + 1e-6

            def days(u: str, v: str, edges: dict) -> float:
                return self._edge_days(edges, v, country)

            _, cheap_paths = nx.single_source_dijkstra(self.graph, origin, weight=cost)
            cheap_days = {
                target: sum(
                    self._edge_days(self.graph[a][b], b, country)
                    for a, b in itertools.pairwise(path)
                )
                for target, path in cheap_paths.items()
            }
            fast_days = nx.single_source_dijkstra_path_length(self.graph, origin, weight=days)
            self._cache[origin] = (cheap_days, fast_days)
        return self._cache[origin]


def market_of(country: str | None) -> str | None:
    if country in EU_COUNTRIES:
        return "EU"
    return country if country in MARKET_WEIGHTS else None


def generate_shipments(
    network: Network,
    *,
    start: datetime,
    days: int,
    per_day: int,
    seed: int = 0,
    id_prefix: str = "S",
    markets: Sequence[str] | None = None,
) -> list[Shipment]:
    """`days` x `per_day` shipments from the network's origins to its warehouses.

    Only origin–warehouse pairs with a route are drawn. `markets` (e.g. ["US"], ["EU", "GB"])
    keeps only warehouses there, with the same relative weights: a seller's own trade. Raises
    ValueError when the network has no origins, no warehouses (in those markets), or no
    warehouse reachable from an origin.
    """
    if days < 1 or per_day < 1:
        raise ValueError("days and per_day must be at least 1")
    origins = [n.id for n in network.nodes if n.kind is NodeKind.origin]
    warehouses = [n for n in network.nodes if n.kind is NodeKind.warehouse]
    if not origins:
        raise ValueError(f"network '{network.name}' has no origin nodes")
    if not warehouses:
        raise ValueError(f"network '{network.name}' has no warehouse nodes")
    by_market: dict[str, list[str]] = defaultdict(list)
    for node in warehouses:
        market = market_of(node.country) or "other"
        if markets is None or market in markets:
            by_market[market].append(node.id)
    if not by_market:
        raise ValueError(
            f"network '{network.name}' has no warehouse in markets {', '.join(markets or [])}"
        )
    markets = sorted(by_market)
    weights = np.array([MARKET_WEIGHTS.get(m, 0.05) for m in markets])
    weights = weights / weights.sum()
    priorities = list(PRIORITY_MIX)
    p_weights = np.array([PRIORITY_MIX[p] for p in priorities])

    rng = np.random.default_rng(seed)
    times = RouteTimes(network)
    shipments: list[Shipment] = []
    attempts = 0
    while len(shipments) < days * per_day:
        attempts += 1
        if attempts > 50 * days * per_day:
            raise ValueError(f"network '{network.name}': no warehouse is reachable from an origin")
        index = len(shipments)
        day = index // per_day
        origin = origins[int(rng.integers(len(origins)))]
        market = markets[int(rng.choice(len(markets), p=weights))]
        destination = by_market[market][int(rng.integers(len(by_market[market])))]
        priority = priorities[int(rng.choice(len(priorities), p=p_weights))]
        cheap, fast = times.from_origin(origin)
        if destination not in fast:
            continue
        mu, sigma, low, high = UNITS[priority]
        units = round(float(np.clip(rng.lognormal(mu, sigma), low, high)), 2)
        ready = start + timedelta(days=day, hours=int(rng.integers(0, 24)))
        if priority is Priority.standard:
            lead = cheap[destination] * float(rng.uniform(1.15, 1.4)) + 2
        elif priority is Priority.express:
            lead = fast[destination] + float(rng.uniform(2, 5))
        else:
            lead = fast[destination] + float(rng.uniform(1, 2))
        due = ready + timedelta(days=math.ceil(lead))
        shipments.append(
            Shipment(
                id=f"{id_prefix}{index + 1:06d}",
                origin=origin,
                destination=destination,
                units=units,
                ready_at=ready,
                due_at=due,
                priority=priority,
                split=bool(rng.random() < SPLIT_SHARE[priority]),
            )
        )
    return shipments
