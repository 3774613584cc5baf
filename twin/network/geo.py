"""Distances on the globe, and when a leg passes a point on its way.

The one great-circle formula of the twin: the network builder and generator price lanes by it,
areas find the nodes inside a circle by it, diversions find where two courses part by it, and
the engine, the exposure check and the replay world time a leg's passage of its `via` by it.
"""

from __future__ import annotations

import math
from datetime import datetime
from functools import lru_cache
from typing import overload

import numpy as np

from twin.domain.arrays import FloatArray
from twin.domain.plans import Leg
from twin.domain.records import Network, Node

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius
KM_PER_NM = 1.852  # the international nautical mile


@overload
def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float: ...


@overload
def great_circle_km(lat1: float, lon1: float, lat2: FloatArray, lon2: FloatArray) -> FloatArray: ...


def great_circle_km(
    lat1: float, lon1: float, lat2: float | FloatArray, lon2: float | FloatArray
) -> float | FloatArray:
    """Great-circle (haversine) distance in km on a sphere of the Earth's mean radius, from one
    point to another or to many (degrees in; arrays for the second point give an array back).

    >>> round(great_circle_km(51.471, -0.462, 40.640, -73.779))  # LHR - JFK
    5540
    """
    p1, l1 = np.radians(lat1), np.radians(lon1)
    p2, l2 = np.radians(lat2), np.radians(lon2)
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((l2 - l1) / 2) ** 2
    # clip: rounding can push `h` a hair past 1 for antipodal points
    km = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return float(km) if np.ndim(km) == 0 else km


def great_circle_points(
    a: tuple[float, float], b: tuple[float, float], step_km: float = 400.0
) -> list[tuple[float, float]]:
    """Points (lon, lat) along the shortest path on the sphere from a to b (lon, lat), about
    every `step_km`: slerp between the two unit vectors."""
    (lon1, lat1), (lon2, lat2) = a, b
    p1, p2 = (math.radians(lat1), math.radians(lon1)), (math.radians(lat2), math.radians(lon2))
    v1 = (math.cos(p1[0]) * math.cos(p1[1]), math.cos(p1[0]) * math.sin(p1[1]), math.sin(p1[0]))
    v2 = (math.cos(p2[0]) * math.cos(p2[1]), math.cos(p2[0]) * math.sin(p2[1]), math.sin(p2[0]))
    dot = max(-1.0, min(1.0, sum(x * y for x, y in zip(v1, v2))))
    angle = math.acos(dot)
    steps = max(1, int(angle * EARTH_RADIUS_KM / step_km))
    if angle < 1e-9:
        return [a, b]
    out: list[tuple[float, float]] = []
    for k in range(steps + 1):
        t = k / steps
        s1, s2 = math.sin((1 - t) * angle) / math.sin(angle), math.sin(t * angle) / math.sin(angle)
        x, y, z = (s1 * p + s2 * q for p, q in zip(v1, v2))
        out.append((math.degrees(math.atan2(y, x)), math.degrees(math.atan2(z, math.hypot(x, y)))))
    return out


def has_coordinates(node: Node) -> bool:
    return node.lat is not None and node.lon is not None


def coordinates(node: Node) -> tuple[float, float]:
    """A node's (lat, lon); raises ValueError naming the node when it has none."""
    if node.lat is None or node.lon is None:
        raise ValueError(f"node {node.id} has no coordinates (lat, lon)")
    return node.lat, node.lon


def node_distance_km(a: Node, b: Node) -> float:
    """Great-circle distance between two nodes, in km (ValueError if one has no coordinates)."""
    return great_circle_km(*coordinates(a), *coordinates(b))


def passage_time(leg: Leg, member: str, network: Network) -> datetime:
    """When a leg passes a node of its lane's `via`: along the leg in proportion of great-circle
    distance (from -> member over from -> member -> to); halfway when a coordinate is missing."""
    nodes = network.node_by_id
    share = 0.5
    start, middle, end = (nodes.get(n) for n in (leg.from_node, member, leg.to_node))
    if (
        start is not None
        and middle is not None
        and end is not None
        and all(has_coordinates(n) for n in (start, middle, end))
    ):
        share = _share(coordinates(start), coordinates(middle), coordinates(end))
    return leg.depart_at + (leg.arrive_at - leg.depart_at) * share


@lru_cache(maxsize=65536)
def _share(
    start: tuple[float, float], middle: tuple[float, float], end: tuple[float, float]
) -> float:
    """The share of start -> middle in start -> middle -> end (a monitor pass asks the same few
    lanes and chokepoints thousands of times)."""
    first, second = great_circle_km(*start, *middle), great_circle_km(*middle, *end)
    return first / (first + second) if first + second > 0 else 0.5
