"""Area resolution: great-circle circles and point-in-polygon, against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from twin.domain.signals import Area
from twin.network.areas import points_in_polygon, resolve_area
from twin.network.geo import great_circle_km

from .conftest import PRD

PRD_POLYGON = ((23.6, 113.0), (23.6, 114.6), (22.0, 114.6), (22.0, 113.0))


def test_polygon_over_pearl_river_delta(network):
    assert resolve_area(Area(polygon=PRD_POLYGON), network) == PRD


def test_circle_round_hong_kong(network):
    # HKG 20.8 km, CNSHK 15 km, CNYTN 27 km, SZX 32 km from (22.45, 114.05); CNNSA ~57 km
    assert resolve_area(Area(circle=(22.45, 114.05, 40)), network) == [
        "CNYTN",
        "CNSHK",
        "HKG",
        "SZX",
    ]
    assert "CNNSA" in resolve_area(Area(circle=(22.45, 114.05, 60)), network)


def test_haversine_known_distance():
    # London Heathrow to New York JFK: about 5,540 km
    d = great_circle_km(51.471, -0.462, np.array([40.640]), np.array([-73.779]))[0]
    assert d == pytest.approx(5540, rel=0.01)


def test_polygon_across_antimeridian():
    poly = ((10.0, 170.0), (10.0, -170.0), (-10.0, -170.0), (-10.0, 170.0))
    inside = points_in_polygon(np.array([0.0, 0.0, 0.0]), np.array([179.0, -179.0, 0.0]), poly)
    assert inside.tolist() == [True, True, False]


def test_nodes_without_coordinates_are_never_inside(network):
    assert "NOWHERE" not in resolve_area(Area(circle=(0.0, 0.0, 20000)), network)
