"""Great-circle distance and passage time (twin.network.geo), against GeographicLib and by hand."""

from __future__ import annotations

import itertools
import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from geographiclib.geodesic import Geodesic
from hypothesis import given
from hypothesis import strategies as st

from twin.domain.plans import Leg
from twin.domain.records import Network, Node, NodeKind
from twin.network.geo import (
    EARTH_RADIUS_KM,
    great_circle_km,
    node_distance_km,
    passage_time,
)

# airportsdata coordinates, as listed in /work/shared/facts/disruptions-and-data.md.
AIRPORTS = {
    "PVG": (31.1434, 121.805),
    "SZX": (22.6393, 113.811),
    "HKG": (22.3089, 113.915),
    "LAX": (33.9425, -118.408),
    "ORD": (41.977, -87.908),
    "JFK": (40.640, -73.779),
    "FRA": (50.026, 8.543),
    "LHR": (51.471, -0.462),
    "AMS": (52.309, 4.764),
    "NRT": (35.765, 140.386),
}
PAIRS = list(itertools.combinations(AIRPORTS, 2))
# GeographicLib's exact geodesics: on a sphere of the same radius (f = 0) the great circle
# itself, and on the WGS84 ellipsoid the distance published tables quote.
SPHERE = Geodesic(EARTH_RADIUS_KM * 1000, 0)
WGS84 = Geodesic.WGS84


def _geodesic_km(geodesic: Geodesic, a: str, b: str) -> float:
    (lat1, lon1), (lat2, lon2) = AIRPORTS[a], AIRPORTS[b]
    return float(geodesic.Inverse(lat1, lon1, lat2, lon2)["s12"]) / 1000


@pytest.mark.parametrize(("a", "b"), PAIRS, ids=lambda code: code)
def test_distance_is_the_great_circle_on_the_mean_sphere(a: str, b: str) -> None:
    assert great_circle_km(*AIRPORTS[a], *AIRPORTS[b]) == pytest.approx(
        _geodesic_km(SPHERE, a, b), rel=1e-9
    )


@pytest.mark.parametrize(("a", "b"), PAIRS, ids=lambda code: code)
def test_the_sphere_is_within_half_a_percent_of_the_ellipsoid(a: str, b: str) -> None:
    assert great_circle_km(*AIRPORTS[a], *AIRPORTS[b]) == pytest.approx(
        _geodesic_km(WGS84, a, b), rel=0.005
    )


def test_published_airport_distances() -> None:
    # Great Circle Mapper (WGS84): LHR-JFK 3,451 mi = 5,554 km; HKG-LAX 7,260 mi = 11,684 km.
    assert great_circle_km(*AIRPORTS["LHR"], *AIRPORTS["JFK"]) == pytest.approx(5554, rel=0.005)
    assert great_circle_km(*AIRPORTS["HKG"], *AIRPORTS["LAX"]) == pytest.approx(11684, rel=0.005)


def test_one_to_many_gives_the_same_distances_as_one_to_one() -> None:
    lat, lon = AIRPORTS["PVG"]
    lats = np.array([p[0] for p in AIRPORTS.values()])
    lons = np.array([p[1] for p in AIRPORTS.values()])
    many = great_circle_km(lat, lon, lats, lons)
    assert isinstance(many, np.ndarray) and many.shape == (len(AIRPORTS),)
    for km, (lat2, lon2) in zip(many, AIRPORTS.values(), strict=True):
        assert km == great_circle_km(lat, lon, lat2, lon2)


def test_same_point_antipodes_and_a_quarter_meridian() -> None:
    assert great_circle_km(10.0, 20.0, 10.0, 20.0) == 0.0
    assert great_circle_km(0.0, 0.0, 0.0, 180.0) == pytest.approx(math.pi * EARTH_RADIUS_KM)
    assert great_circle_km(45.0, 10.0, -45.0, -170.0) == pytest.approx(math.pi * EARTH_RADIUS_KM)
    assert great_circle_km(0.0, 0.0, 90.0, 0.0) == pytest.approx(math.pi / 2 * EARTH_RADIUS_KM)


latitudes = st.floats(-90, 90)
longitudes = st.floats(-180, 180)


@given(latitudes, longitudes, latitudes, longitudes, latitudes, longitudes)
def test_a_metric_on_the_sphere(
    lat1: float, lon1: float, lat2: float, lon2: float, lat3: float, lon3: float
) -> None:
    ab = great_circle_km(lat1, lon1, lat2, lon2)
    assert ab == pytest.approx(great_circle_km(lat2, lon2, lat1, lon1), abs=1e-6)
    assert 0.0 <= ab <= math.pi * EARTH_RADIUS_KM + 1e-6
    ac, cb = great_circle_km(lat1, lon1, lat3, lon3), great_circle_km(lat3, lon3, lat2, lon2)
    assert ab <= ac + cb + 1e-6


def _node(ident: str, lat: float | None, lon: float | None) -> Node:
    return Node(id=ident, kind=NodeKind.port, lat=lat, lon=lon)


def test_node_distance_names_a_node_without_coordinates() -> None:
    lhr = _node("LHR", *AIRPORTS["LHR"])
    assert node_distance_km(lhr, _node("JFK", *AIRPORTS["JFK"])) == pytest.approx(
        _geodesic_km(SPHERE, "LHR", "JFK"), rel=1e-9
    )
    with pytest.raises(ValueError, match="node NOWHERE has no coordinates"):
        node_distance_km(lhr, _node("NOWHERE", 10.0, None))


def _leg_through(via: Node, start: Node, end: Node) -> tuple[Leg, Network]:
    network = Network.model_validate(
        {
            "name": "equator",
            "nodes": [start, via, end],
            "lanes": [
                {
                    "id": "AB",
                    "from": start.id,
                    "to": end.id,
                    "mode": "sea",
                    "transit_days": 30,
                    "cost_per_unit": 1,
                    "via": [via.id],
                }
            ],
        }
    )
    depart = datetime(2025, 1, 1, tzinfo=UTC)
    leg = Leg(
        lane="AB",
        from_node=start.id,
        to_node=end.id,
        depart_at=depart,
        arrive_at=depart + timedelta(days=30),
    )
    return leg, network


def test_passage_time_is_in_proportion_of_distance() -> None:
    # Along the equator arcs are proportional to longitude: 30 of 90 degrees is a third.
    leg, network = _leg_through(_node("V", 0.0, 30.0), _node("A", 0.0, 0.0), _node("B", 0.0, 90.0))
    assert passage_time(leg, "V", network) == leg.depart_at + timedelta(days=10)


def test_passage_time_is_halfway_without_coordinates() -> None:
    leg, network = _leg_through(_node("V", None, None), _node("A", 0.0, 0.0), _node("B", 0.0, 90.0))
    assert passage_time(leg, "V", network) == leg.depart_at + timedelta(days=15)
    assert passage_time(leg, "UNKNOWN", network) == leg.depart_at + timedelta(days=15)


def test_the_formula_lives_in_one_place() -> None:
    """No second great-circle helper grows back elsewhere in the tree."""
    root = Path(__file__).resolve().parents[2] / "twin"
    pattern = re.compile(r"haversine|6371|3440\.|\basin\(|arcsin|radians\(")
    found = [
        f"{path.relative_to(root)}:{n}"
        for path in sorted(root.rglob("*.py"))
        if path.name != "geo.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert found == []
