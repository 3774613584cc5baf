"""Where lanes run on the earth, for the console's map: sea lanes along real sea paths
(searoute's maritime network, through their `via` chokepoints), other lanes along great circles;
and the bundled land outline as GeoJSON. Computed once per network and kept in a cache file."""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from twin.api.charts import land_path, risk_colour
from twin.domain.records import Lane, Network
from twin.network.geo import great_circle_points as great_circle

log = logging.getLogger(__name__)
LonLat = tuple[float, float]  # (lon, lat)
CACHE_ENV = "TWIN_CACHE_DIR"
GEOMETRY_VERSION = 1  # bump when the way paths are drawn changes: old cache files are ignored


@lru_cache(maxsize=8192)
def sea_path(a: LonLat, b: LonLat) -> tuple[LonLat, ...]:
    """The sea route from a to b on searoute's maritime network (ends snapped to a and b);
    a great circle where searoute finds none."""
    import searoute

    try:
        found = searoute.searoute(list(a), list(b), append_orig_dest=True)
        coords = [(float(x), float(y)) for x, y in found["geometry"]["coordinates"]]
    except Exception as exc:  # noqa: BLE001 - a map line is never worth failing the page
        log.warning("searoute found no sea path %s -> %s (%s): drawn as a great circle", a, b, exc)
        return tuple(great_circle(a, b))
    return tuple(coords) if len(coords) >= 2 else tuple(great_circle(a, b))


def unwrap(points: Sequence[LonLat]) -> list[LonLat]:
    """Longitudes made continuous (crossing the antimeridian goes on past ±180), so a line
    across the Pacific is drawn across it and not back round the world."""
    if not points:
        return []
    out = [points[0]]
    for lon, lat in points[1:]:
        prev = out[-1][0]
        while lon - prev > 180:
            lon -= 360
        while lon - prev < -180:
            lon += 360
        out.append((lon, lat))
    return out


def lane_path(network: Network, lane: Lane) -> list[LonLat] | None:
    """The lane's line on the earth, through its `via` places (None if a place has no
    coordinates)."""
    nodes = network.node_by_id
    places = [nodes.get(i) for i in (lane.from_, *lane.via, lane.to)]
    if any(n is None or n.lat is None or n.lon is None for n in places):
        return None
    points = [(float(n.lon), float(n.lat)) for n in places]  # type: ignore[union-attr,arg-type]
    line: list[LonLat] = [points[0]]
    for a, b in itertools.pairwise(points):
        piece = sea_path(a, b) if lane.mode.value == "sea" else great_circle(a, b)
        line.extend(piece[1:])
    return [(round(lon, 3), round(lat, 3)) for lon, lat in unwrap(line)]


def _fingerprint(network: Network) -> str:
    nodes = {n.id: (n.lon, n.lat) for n in network.nodes}
    doc = [
        (lane.id, lane.mode.value, [nodes.get(i) for i in (lane.from_, *lane.via, lane.to)])
        for lane in sorted(network.lanes, key=lambda lane: lane.id)
    ]
    text = json.dumps([GEOMETRY_VERSION, doc], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def cache_dir() -> Path:
    """TWIN_CACHE_DIR, else $XDG_CACHE_HOME/twin/lane-geometry (~/.cache by default)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "twin/lane-geometry"


_memory: dict[str, dict[str, list[LonLat]]] = {}


def lane_paths(network: Network) -> dict[str, list[LonLat]]:
    """Every lane's line, computed once per network (same lanes and coordinates) and kept in
    memory and in a cache file (TWIN_CACHE_DIR, else ~/.cache/twin/lane-geometry)."""
    key = _fingerprint(network)
    if key in _memory:
        return _memory[key]
    path = cache_dir() / f"{key}.json"
    paths: dict[str, list[LonLat]] | None = None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        paths = {k: [(p[0], p[1]) for p in v] for k, v in doc.items()}
    except (OSError, ValueError):
        paths = None
    if paths is None:
        paths = {}
        for lane in network.lanes:
            line = lane_path(network, lane)
            if line is not None:
                paths[lane.id] = line
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(paths), encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:
            log.warning("lane geometry not cached (%s): it is computed again next start", exc)
    _memory[key] = paths
    return paths


def network_features(
    network: Network,
    lane_risk: Mapping[str, float],
    *,
    warn: float = 0.5,
    critical: float = 0.8,
) -> dict[str, Any]:
    """The network as GeoJSON for the map: lanes (LineStrings with id, mode, places, days,
    risk and colour) and placed nodes (Points with id, name, kind, risk)."""
    paths = lane_paths(network)
    nodes = network.node_by_id
    features: list[dict[str, Any]] = []
    for lane in network.lanes:
        line = paths.get(lane.id)
        if not line:
            continue
        risk = float(lane_risk.get(lane.id, 0.0))
        names = [
            (nodes[i].name or i) if i in nodes else i for i in (lane.from_, *lane.via, lane.to)
        ]
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [list(p) for p in line]},
                "properties": {
                    "kind": "lane",
                    "id": lane.id,
                    "mode": lane.mode.value,
                    "places": " → ".join(names),
                    "days": lane.transit_days,
                    "risk": round(risk, 3),
                    "colour": risk_colour(risk, warn, critical),
                },
            }
        )
    for node in network.nodes:
        if node.lat is None or node.lon is None:
            continue
        risk = float(lane_risk.get(node.id, 0.0))
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LonLat", "coordinates": [node.lon, node.lat]},
                "properties": {
                    "kind": "node",
                    "id": node.id,
                    "name": node.name or node.id,
                    "node_kind": node.kind.value,
                    "risk": round(risk, 3),
                    "colour": risk_colour(risk, warn, critical) if risk else "#334155",
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


@lru_cache(maxsize=1)
def land_features() -> dict[str, Any]:
    """The bundled land outline (docs/console.md) as GeoJSON polygons in lon/lat."""
    polygons = []
    for ring_text in land_path().split("M"):
        ring_text = ring_text.strip().rstrip("Z").strip()
        if not ring_text:
            continue
        ring = []
        for pair in ring_text.split():
            x, y = pair.split(",")
            ring.append([round(float(x) - 180.0, 2), round(90.0 - float(y), 2)])
        if len(ring) >= 3:
            ring.append(ring[0])
            polygons.append([ring])
    return {
        "type": "Feature",
        "geometry": {"type": "MultiPolygon", "coordinates": polygons},
        "properties": {"source": "Natural Earth admin-0 countries (public domain), simplified"},
    }
