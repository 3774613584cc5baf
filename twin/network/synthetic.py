"""Large synthetic networks for benchmarks: layered like real freight, connected by design.

Origins feed export hubs (ports, airports, rail terminals) by road; export hubs reach import
hubs by sea, air or rail (some sea lanes via chokepoints); import hubs are joined in a ring and
feed warehouses by road. Every warehouse is therefore reachable from every origin.
"""

from __future__ import annotations

import numpy as np

from twin.domain.records import Lane, Mode, Network, Node, NodeKind, Tier
from twin.network.geo import node_distance_km

# Cost per unit per 1,000 km, and speed in km per day, by mode: broad figures for benchmarks
# only (the demo network uses the documented parameter table instead).
_COST_PER_1000KM = {Mode.sea: 4.0, Mode.air: 110.0, Mode.rail: 14.0, Mode.road: 25.0}
_KM_PER_DAY = {Mode.sea: 800.0, Mode.air: 6000.0, Mode.rail: 700.0, Mode.road: 500.0}


def generate_network(nodes: int, lanes: int, seed: int = 0, name: str | None = None) -> Network:
    """A connected synthetic network of exactly `nodes` nodes and `lanes` lanes.

    Raises ValueError when the sizes cannot make a connected network (fewer than 20 nodes,
    or fewer lanes than the backbone needs).
    """
    if nodes < 20:
        raise ValueError("a synthetic network needs at least 20 nodes")
    rng = np.random.default_rng(seed)
    n_choke = max(2, nodes // 200)
    rest = nodes - n_choke
    n_origin = max(2, int(rest * 0.15))
    n_export = max(3, int(rest * 0.20))
    n_import = max(3, int(rest * 0.20))
    n_wh = rest - n_origin - n_export - n_import

    node_list: list[Node] = []

    def place(
        prefix: str,
        count: int,
        kinds: list[NodeKind],
        lat: tuple[float, float],
        lon: tuple[float, float],
        country: str,
    ) -> list[Node]:
        lats = rng.uniform(*lat, size=count)
        lons = rng.uniform(*lon, size=count)
        made = []
        for i in range(count):
            kind = kinds[i % len(kinds)]
            made.append(
                Node(
                    id=f"{prefix}{i}",
                    kind=kind,
                    name=f"{kind.value} {prefix}{i}",
                    country=country,
                    lat=round(float(lats[i]), 4),
                    lon=round(float(lons[i]), 4),
                    capacity=None
                    if kind is NodeKind.origin
                    else float(rng.integers(2_000, 20_000)),
                    tier=(Tier.distribution if i % 3 == 0 else Tier.fulfillment)
                    if kind is NodeKind.warehouse
                    else None,
                    handling_days=0.5
                    if kind in (NodeKind.port, NodeKind.airport, NodeKind.rail_terminal)
                    else 0.0,
                )
            )
        return made

    origins = place("O", n_origin, [NodeKind.origin], (20, 40), (100, 122), "CN")
    exports = place(
        "E",
        n_export,
        [NodeKind.port, NodeKind.port, NodeKind.airport, NodeKind.rail_terminal],
        (20, 40),
        (100, 122),
        "CN",
    )
    imports = place(
        "I",
        n_import,
        [NodeKind.port, NodeKind.port, NodeKind.airport, NodeKind.rail_terminal],
        (25, 55),
        (-120, 15),
        "US",
    )
    warehouses = place("W", n_wh, [NodeKind.warehouse], (25, 55), (-120, 15), "US")
    chokepoints = [
        Node(
            id=f"C{i}",
            kind=NodeKind.chokepoint,
            name=f"chokepoint C{i}",
            lat=round(float(rng.uniform(-10, 30)), 4),
            lon=round(float(rng.uniform(30, 100)), 4),
        )
        for i in range(n_choke)
    ]
    node_list = origins + exports + imports + warehouses + chokepoints

    pairs: list[tuple[Node, Node]] = []
    # Backbone first, so the network is connected whatever the lane budget adds.
    pairs += [(o, exports[i % n_export]) for i, o in enumerate(origins)]
    pairs += [(e, imports[i % n_import]) for i, e in enumerate(exports)]
    pairs += [(imports[i], imports[(i + 1) % n_import]) for i in range(n_import)]
    pairs += [(imports[i % n_import], w) for i, w in enumerate(warehouses)]
    if lanes < len(pairs):
        raise ValueError(f"{nodes} nodes need at least {len(pairs)} lanes to be connected")

    layers = [
        (origins, exports, 0.25),
        (exports, imports, 0.45),
        (imports, imports, 0.1),
        (imports, warehouses, 0.2),
    ]
    weights = np.array([w for _, _, w in layers])
    extra = lanes - len(pairs)
    picks = rng.choice(len(layers), size=extra, p=weights / weights.sum())
    for layer in picks:
        sources, targets, _ = layers[layer]
        a = sources[int(rng.integers(len(sources)))]
        b = targets[int(rng.integers(len(targets)))]
        if a.id == b.id:
            b = targets[(targets.index(b) + 1) % len(targets)]
        pairs.append((a, b))

    lane_list = [_lane(i, a, b, chokepoints, rng) for i, (a, b) in enumerate(pairs)]
    return Network(
        name=name or f"synthetic-{nodes}-{lanes}-{seed}",
        nodes=tuple(node_list),
        lanes=tuple(lane_list),
    )


def _lane(index: int, a: Node, b: Node, chokepoints: list[Node], rng: np.random.Generator) -> Lane:
    if a.kind is NodeKind.origin or b.kind is NodeKind.warehouse:
        mode = Mode.road
    elif a.country != b.country:
        mode = {NodeKind.airport: Mode.air, NodeKind.rail_terminal: Mode.rail}.get(a.kind, Mode.sea)
    else:
        mode = Mode.rail if rng.random() < 0.5 else Mode.road
    km = max(30.0, node_distance_km(a, b) * (1.3 if mode in (Mode.sea, Mode.rail) else 1.1))
    transit = round(max(0.25, km / _KM_PER_DAY[mode]), 2)
    via: tuple[str, ...] = ()
    if mode is Mode.sea and chokepoints and rng.random() < 0.6:
        via = (chokepoints[int(rng.integers(len(chokepoints)))].id,)
    capacity = float(rng.integers(200, 5_000)) if mode is not Mode.road else None
    return Lane.model_validate(
        {
            "id": f"L{index}",
            "from": a.id,
            "to": b.id,
            "mode": mode,
            "transit_days": transit,
            "cost_per_unit": round(
                _COST_PER_1000KM[mode] * km / 1000.0 * float(rng.uniform(0.8, 1.2)), 2
            ),
            "capacity": capacity,
            "via": via,
        }
    )
