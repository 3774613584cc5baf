"""Resolve geographic areas (circles, polygons) to the network nodes inside them."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from twin.domain.records import Network
from twin.domain.signals import Area
from twin.network.geo import great_circle_km


def points_in_polygon(
    lats: np.ndarray, lons: np.ndarray, polygon: tuple[tuple[float, float], ...]
) -> np.ndarray:
    """Which points lie inside a (lat, lon) polygon, by even-odd ray casting.

    Longitudes are unwrapped round the polygon's first vertex so a polygon that crosses the
    antimeridian (e.g. 170E to 170W) works. Edges are straight in lat/lon, which is what CAP
    and GeoJSON mean for small areas. A closing point equal to the first is optional.
    """
    ring = np.asarray(polygon, dtype=float)
    if len(ring) > 1 and np.array_equal(ring[0], ring[-1]):
        ring = ring[:-1]
    ref = ring[0, 1]
    vy = ring[:, 0]
    vx = _unwrap(ring[:, 1], ref)
    py = np.asarray(lats, dtype=float)
    px = _unwrap(np.asarray(lons, dtype=float), ref)
    inside = np.zeros(py.shape, dtype=bool)
    n = len(ring)
    for i in range(n):
        x1, y1, x2, y2 = vx[i], vy[i], vx[(i + 1) % n], vy[(i + 1) % n]
        if y1 == y2:
            continue  # a horizontal edge never crosses a horizontal ray
        crosses = (y1 > py) != (y2 > py)
        x_at = x1 + (py - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (px < x_at)
    return inside


def _unwrap(lons: np.ndarray, ref: float) -> np.ndarray:
    return (lons - ref + 180.0) % 360.0 - 180.0 + ref


def geocode_key(scheme: str, value: str) -> tuple[str, str]:
    """A geocode in the form codes are compared in: schemes and values upper-cased, spaces
    trimmed; `FIPS6` and `FIPS` read as `SAME` (the same county numbers: 048201 = 48201);
    every `ISO 3166...` scheme as `ISO3166` (a country `US` or a subdivision `US-TX`)."""
    name = "".join(ch for ch in scheme.upper() if ch.isalnum())
    code = value.strip().upper()
    if name in ("SAME", "FIPS", "FIPS6"):
        return "SAME", code.zfill(6) if code.isdigit() else code
    if name.startswith("ISO3166"):
        return "ISO3166", code
    return name, code


class NodeLocator:
    """The coordinates and geocodes of a network's nodes, for resolving many areas quickly.

    Nodes without coordinates are never inside a shape. A node's geocodes are its own
    `geocodes` plus its country as ISO 3166.
    """

    def __init__(self, network: Network):
        placed = [n for n in network.nodes if n.lat is not None and n.lon is not None]
        self.ids: list[str] = [n.id for n in placed]
        self.lats = np.array([n.lat for n in placed], dtype=float)
        self.lons = np.array([n.lon for n in placed], dtype=float)
        self.order = {n.id: i for i, n in enumerate(network.nodes)}
        self.by_code: dict[tuple[str, str], list[str]] = {}
        for node in network.nodes:
            codes = {geocode_key(s, v) for s, v in node.geocodes}
            if node.country:
                codes.add(("ISO3166", node.country))
            for key in codes:
                self.by_code.setdefault(key, []).append(node.id)

    def with_geocodes(self, codes: Iterable[tuple[str, str]]) -> list[str]:
        """Ids of the nodes carrying any of `codes` ((scheme, value) pairs), in network order."""
        found = {n for s, v in codes for n in self.by_code.get(geocode_key(s, v), ())}
        return sorted(found, key=self.order.__getitem__)

    def within(self, area: Area) -> list[str]:
        """Ids of the nodes inside `area`, in network order."""
        if not self.ids:
            return []
        if area.circle is not None:
            lat, lon, radius_km = area.circle
            mask = great_circle_km(lat, lon, self.lats, self.lons) <= radius_km
        else:
            assert area.polygon is not None  # Area guarantees one shape
            mask = points_in_polygon(self.lats, self.lons, area.polygon)
        return [self.ids[i] for i in np.flatnonzero(mask)]


def resolve_area(area: Area, network: Network) -> list[str]:
    """The ids of the nodes of `network` inside `area`, in network order.

    A circle holds the nodes whose great-circle distance to its centre is at most its radius;
    a polygon holds the nodes inside it (even-odd rule). Nodes without coordinates are never
    inside. For many areas on one network, build a `NodeLocator` once instead.

    >>> from twin.network.synthetic import generate_network
    >>> net = generate_network(20, 40)
    >>> resolve_area(Area(circle=(0.0, 0.0, 1.0)), net)
    []
    """
    return NodeLocator(network).within(area)
