"""Shared fixtures: small networks written to temporary files."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest
import typer.testing
from hypothesis import HealthCheck, settings

# pytest-xdist's workers start with COLUMNS=80, and rich fixes a console's width from COLUMNS
# when the console is made (at import): left unset, the CLI consoles read the width each test
# passes to CliRunner, as they do in one process.
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)

# typer's CliRunner builds the click command from the app on every invoke (each command's
# signature and annotations read again, ~0.05 s); the console script builds it once per process,
# and so do the tests' in-process invocations.
typer.testing._get_command = functools.cache(typer.testing._get_command)

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a pytest-xdist worker the tests marked slow are listed first, the rest in file order:
    the scheduler hands work out in this order, so the longest tests start early instead of
    one of them starting last while the other worker runs out of work."""
    if hasattr(config, "workerinput"):
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)


MINI_NETWORK = """\
name: mini
unit: cbm
currency: USD
nodes:
  - {id: CN-SZ, kind: origin, name: Shenzhen, country: CN, lat: 22.54, lon: 114.06}
  - {id: CNYTN, kind: port, name: Yantian, country: CN, lat: 22.57, lon: 114.28, capacity: 6000}
  - {id: SUEZ, kind: chokepoint, name: Suez Canal, lat: 30.58, lon: 32.27}
  - {id: CAPE_OF_GOOD_HOPE, kind: chokepoint, name: Cape of Good Hope, lat: -34.36, lon: 18.47}
  - {id: NLRTM, kind: port, name: Rotterdam, country: NL, lat: 51.95, lon: 4.14, clearance_days: 1}
  - {id: NL-VENLO, kind: warehouse, tier: fulfillment, country: NL, lat: 51.37, lon: 6.17, capacity: 1500}
lanes:
  - {id: SZ-YTN-ROAD, from: CN-SZ, to: CNYTN, mode: road, transit_days: 0.5, cost_per_unit: 4}
  - {id: YTN-RTM-SUEZ, from: CNYTN, to: NLRTM, mode: sea, transit_days: 30, cost_per_unit: 60, capacity: 3000, via: [SUEZ]}
  - {id: YTN-RTM-CAPE, from: CNYTN, to: NLRTM, mode: sea, transit_days: 40, cost_per_unit: 75, capacity: 3000, via: [CAPE_OF_GOOD_HOPE]}
  - {id: RTM-VENLO-ROAD, from: NLRTM, to: NL-VENLO, mode: road, transit_days: 1, cost_per_unit: 8}
"""


@pytest.fixture
def mini_network_file(tmp_path: Path) -> Path:
    path = tmp_path / "mini.yaml"
    path.write_text(MINI_NETWORK)
    return path
