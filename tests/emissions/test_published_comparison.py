"""twin's China-Europe sea and air CO2 per tonne against a published calculation (issue 19, 4).

What was compared, plainly:

- No published Shanghai-Rotterdam calculation (per tonne, sea and air) was found in the
  material we could search (queries in docs/emissions.md, "Checked against a published
  calculation"). The best published comparison found is a freight forwarder's worked example
  for another China-Europe pair: STU Supply Chain, "Rail freight from China to Europe",
  https://stusupplychain.com/rail-freight-from-china-to-europe.html - a TEU-sized, 10-tonne
  shipment Zhengzhou (CN) -> Hamburg (DE): by sea 2,580 kg CO2 over 24,452 km, by air
  "about 50,000 kg" CO2 (air distance not stated). Per tonne: sea 258 kg, air 5,000 kg,
  air/sea 19.4.
- twin's figures are its Shanghai-Rotterdam lanes of the bundled demo network with the
  bundled intensities: CNSHA-NLRTM-SUEZ (19,610 km) x 12.66 g/t km and PVG-AMS-AIR /
  PVG-FRA-AIR (9,356 / 9,303 km) x 498 g/t km.
- Basis: the published figures are CO2 (not CO2e) and do not state a scope; twin's are
  CO2e tank-to-wheel. CO2 is about 99% of the CO2e of fuel combustion (DESNZ gives
  12.50 of 12.66 g for the container ship), so the gases differ by about 1%; if the
  published figures are well-to-wheel, twin's TTW figures would be lower by the fuel's WTT
  share. The pair differs too: the published sea route is longer (24,452 km) at a lower
  implied intensity (10.55 g CO2/t km, about 17% below twin's 12.66), so the per-tonne sea
  totals agreeing within 10% is partly that difference and the shorter Suez route
  cancelling. The air/sea ratio, which is what a planner weighing a switch sees, is the
  least basis-dependent of the three checks.
"""

from __future__ import annotations

import pytest

from twin.emissions import Emissions
from twin.files.emissions import load_emission_table
from twin.files.networks import load_network

PUBLISHED_URL = "https://stusupplychain.com/rail-freight-from-china-to-europe.html"
PUBLISHED_TONNES = 10.0
PUBLISHED_SEA_KG = 2580.0  # "ocean shipping produces ... 2,580 kilograms", 24,452 km
PUBLISHED_AIR_KG = 50000.0  # "air freight ... about 50,000 kg of CO2"
TOLERANCE = 0.10


@pytest.fixture(scope="module")
def demo() -> Emissions:
    network, _ = load_network("demo")
    return Emissions(network, load_emission_table())


def kg_per_tonne(em: Emissions, lane_id: str) -> float:
    factor = em.factor(lane_id)
    assert factor is not None and factor.kg_per_tonne is not None, lane_id
    assert not factor.distance_estimated  # the demo's own lane distance, not a fall-back
    return factor.kg_per_tonne


def test_sea_per_tonne_is_within_10_percent_of_the_published_figure(demo: Emissions) -> None:
    twin_sea = kg_per_tonne(demo, "CNSHA-NLRTM-SUEZ")
    assert twin_sea == pytest.approx(19610 * 12.66 / 1000)  # by hand: 248.3 kg
    published = PUBLISHED_SEA_KG / PUBLISHED_TONNES  # 258 kg per tonne
    assert abs(twin_sea / published - 1) <= TOLERANCE, (twin_sea, published, PUBLISHED_URL)


@pytest.mark.parametrize("lane_id", ["PVG-AMS-AIR", "PVG-FRA-AIR"])
def test_air_per_tonne_is_within_10_percent_of_the_published_figure(
    demo: Emissions, lane_id: str
) -> None:
    twin_air = kg_per_tonne(demo, lane_id)  # 4,659 kg (AMS), 4,633 kg (FRA)
    published = PUBLISHED_AIR_KG / PUBLISHED_TONNES  # 5,000 kg per tonne
    assert abs(twin_air / published - 1) <= TOLERANCE, (twin_air, published, PUBLISHED_URL)


def test_air_over_sea_ratio_is_within_10_percent_of_the_published_ratio(demo: Emissions) -> None:
    twin_ratio = kg_per_tonne(demo, "PVG-AMS-AIR") / kg_per_tonne(demo, "CNSHA-NLRTM-SUEZ")
    published_ratio = PUBLISHED_AIR_KG / PUBLISHED_SEA_KG  # 19.4
    assert twin_ratio == pytest.approx((9356 * 498) / (19610 * 12.66))  # 18.8, by hand
    assert abs(twin_ratio / published_ratio - 1) <= TOLERANCE
