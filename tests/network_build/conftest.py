"""Fixtures for the network builder: a small facility file and the bundled parameter table."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.files.geodata import OfflineGeoData, read_lane_parameters
from twin.network.build import Parameters

# Two Chinese ports, two overseas ports, the Suez/Cape chokepoints, an airport pair, one origin
# and two warehouses: small enough to route in well under a second.
SMALL_FACILITIES = """\
name: small
facilities:
  - {id: SUEZ, kind: chokepoint, name: Suez Canal, lat: 30.58, lon: 32.27, passage: suez}
  - {id: BAB_EL_MANDEB, kind: chokepoint, lat: 12.58, lon: 43.33, passage: babalmandab}
  - {id: MALACCA, kind: chokepoint, lat: 2.5, lon: 101.2, passage: malacca}
  - {id: GIBRALTAR, kind: chokepoint, lat: 35.97, lon: -5.5, passage: gibraltar}
  - {id: CAPE_OF_GOOD_HOPE, kind: chokepoint, lat: -34.36, lon: 18.47, passage: south_africa}
  - {id: CNSHA, kind: port}
  - {id: CNYTN, kind: port}
  - {id: NLRTM, kind: port}
  - {id: USLAX, kind: port}
  - {id: PVG, kind: airport}
  - {id: LAX, kind: airport}
  - {id: CN-SHANGHAI-ORIGIN, kind: origin, name: Shanghai, country: CN, lat: 31.23, lon: 121.47}
  - {id: NL-VEN1, kind: warehouse, tier: distribution, country: NL, lat: 51.37, lon: 6.17}
  - {id: US-ONT8, kind: warehouse, tier: fulfillment, country: US, lat: 33.94, lon: -117.23}
"""


@pytest.fixture
def small_facilities(tmp_path: Path) -> Path:
    path = tmp_path / "facilities.yaml"
    path.write_text(SMALL_FACILITIES)
    return path


@pytest.fixture(scope="session")
def parameters() -> Parameters:
    return read_lane_parameters()


@pytest.fixture(scope="session")
def geo() -> OfflineGeoData:
    return OfflineGeoData()
