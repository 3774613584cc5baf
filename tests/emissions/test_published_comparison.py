"""twin's Shanghai-Rotterdam sea and air CO2e per tonne against published calculations (issue 19,
condition 4). What was compared, plainly (docs/emissions.md, "Checked against published
calculations"):

1. Shanghai-Rotterdam by sea, the one Shanghai-Rotterdam calculation found in the material we
   could search: ecofreight.co, "GLEC v3.2 in Practice: Three Worked Freight Emission
   Calculations", example 1, https://ecofreight.co/blog/how-we-calculate-emissions - 20 t in
   a 40-foot container, Shanghai -> Rotterdam via Suez, "about 19,600 km", "roughly 8.15 g
   CO2e per tonne-km" WTW ("container ship, average fleet", said to be GLEC v3.2):
   19,600 x 20 x 8.15 g = 3,195 kg CO2e, 159.7 kg per tonne.
   - The transport activity agrees: twin's lane CNSHA-NLRTM-SUEZ is 19,610 km (searoute), and
     twin's engine, given the publication's intensity on that lane, gives 3,196 kg (+0.05%).
   - twin's default for that lane is the Asia-North Europe trade lane (Clean Cargo 2014,
     37.9 g CO2 per TEU-km at nominal capacity, with Clean Cargo's 70% utilisation and 15%
     distance factor and IMO's 10 t per loaded TEU; WTT in DESNZ's container-ship proportion):
     7.638 g CO2e per tonne-km WTW, 149.8 kg per tonne, 6.2% below the publication. Nothing
     in that chain is taken from the publication; each figure is its source's.
   - The vessel-class default the lane falls back to off a known trade lane (DESNZ 2026,
     container ship over 8,000 TEU, 15.53 g WTW) would give 304.5 kg, +91%: kept as a check
     that the whole of that gap is the intensity.
   No published Shanghai-Rotterdam (or Shanghai-Europe) air calculation was found, so twin's air
   figure is compared only with the forwarder pair below.

2. Sea and air together, the nearest published pair found: STU Supply Chain (a China-Europe
   forwarder), "Rail freight from China to Europe",
   https://stusupplychain.com/rail-freight-from-china-to-europe.html - a TEU-sized 10-tonne
   shipment Zhengzhou (CN) -> Hamburg (DE): by sea 2,580 kg CO2 over 24,452 km, by air "about
   50,000 kg" CO2 (air distance not given). Per tonne: sea 258 kg, air 5,000 kg, air/sea 19.4.
   The publication counts CO2 and states no scope; fuel-combustion CO2 is a tank-to-wheel
   figure, so it is compared with the TTW part of twin's figures. Its sea figure (an implied
   10.55 g CO2 per tonne-km) is a per-tonne fleet basis like DESNZ's, not a trade lane's: it
   agrees with the DESNZ vessel class (19,610 km x 12.66 g = 248.3 kg, -3.8%) and is 53%
   above twin's trade-lane default (122.1 kg TTW). Air PVG-AMS 9,356 km x 531.30 g TTW =
   4,970.8 kg (-0.6%). The air/sea multiple is compared on the DESNZ classes (one source for
   both modes, as STU's pair is one calculation): 20.5 against 19.4 (+5.7%); on twin's
   defaults it is 41.6 (docs/emissions.md).
"""

from __future__ import annotations

import pytest

from twin.domain.records import Network, Shipment
from twin.emissions import Emissions
from twin.files.emissions import load_emission_table
from twin.files.networks import load_network

TOLERANCE = 0.10
SEA_LANE, AIR_LANE = "CNSHA-NLRTM-SUEZ", "PVG-AMS-AIR"  # twin's Shanghai-Rotterdam lanes

# 1. ecofreight.co, example 1 (Shanghai -> Rotterdam by sea, WTW).
ECOFREIGHT_URL = "https://ecofreight.co/blog/how-we-calculate-emissions"
ECOFREIGHT_TONNES = 20.0
ECOFREIGHT_KM = 19600.0  # "about 19,600 km" via Suez
ECOFREIGHT_G_PER_TKM = 8.15  # "roughly 8.15 g CO2e per tonne-km", WTW
ECOFREIGHT_KG = 3195.0  # "about 3,195 kg CO2e for the whole shipment"

# 2. STU Supply Chain (Zhengzhou -> Hamburg, 10 t, CO2).
STU_URL = "https://stusupplychain.com/rail-freight-from-china-to-europe.html"
STU_TONNES = 10.0
STU_SEA_KG = 2580.0  # "ocean shipping produces ... 2,580 kilograms", 24,452 km
STU_AIR_KG = 50000.0  # "air freight ... about 50,000 kg of CO2"


@pytest.fixture(scope="module")
def demo() -> Emissions:
    network, _ = load_network("demo")
    return Emissions(network, load_emission_table())


def factor(em: Emissions, lane_id: str):  # type: ignore[no-untyped-def]
    f = em.factor(lane_id)
    assert f is not None and f.kg_per_tonne is not None, lane_id
    assert not f.distance_estimated  # the demo's own lane distance, not a fall-back
    return f


def within(got: float, published: float, source: str) -> None:
    assert abs(got / published - 1) <= TOLERANCE, (got, published, source)


def test_shanghai_rotterdam_sea_distance_matches_the_published_calculation(demo: Emissions) -> None:
    within(factor(demo, SEA_LANE).distance_km, ECOFREIGHT_KM, ECOFREIGHT_URL)


def test_the_engine_reproduces_the_published_shanghai_rotterdam_sea_calculation(
    demo: Emissions,
) -> None:
    # The publication's own intensity on twin's lane, a 20-tonne shipment (20 cbm at 1,000 kg
    # per cbm): what is left to compare is twin's transport activity and arithmetic.
    net: Network = demo.network
    lanes = tuple(
        lane.model_copy(update={"co2e_g_per_tkm": ECOFREIGHT_G_PER_TKM})
        if lane.id == SEA_LANE
        else lane
        for lane in net.lanes
    )
    # A new Network, not model_copy: that would carry the original's cached lane index.
    em = Emissions(Network(**{**dict(net), "lanes": lanes}), demo.table)
    box = Shipment.model_validate(
        {"id": "FEU", "origin": "CNSHA", "destination": "NLRTM", "units": 20,
         "ready_at": "2024-01-01T00:00:00Z", "due_at": "2024-03-01T00:00:00Z",
         "kg_per_cbm": 1000}
    )  # fmt: skip
    (leg,) = em.path([SEA_LANE], 20, box)
    assert leg.tonnes == pytest.approx(ECOFREIGHT_TONNES)
    assert leg.co2e_kg == pytest.approx(19610 * 20 * 8.15 / 1000)  # by hand: 3,196.4 kg
    within(leg.co2e_kg, ECOFREIGHT_KG, ECOFREIGHT_URL)


def test_twin_default_shanghai_rotterdam_sea_per_tonne_is_within_10_percent_of_the_publication(
    demo: Emissions,
) -> None:
    f = factor(demo, SEA_LANE)
    # The default the table prescribes for this lane (not a value set on the lane): its trade lane.
    assert demo.network.lane_by_id[SEA_LANE].co2e_g_per_tkm is None
    assert f.intensity_from == "trade_lane:asia_north_europe" and f.scope == "wtw"
    # By hand: 37.9 g CO2/TEU-km / 0.70 / 10 t x 1.15 = 6.2264 g TTW; x (12.66 + 2.87) / 12.66
    # = 7.6379 g WTW; x 19,610 km = 149.8 kg CO2e per tonne.
    wtw = 37.9 / 0.70 / 10 * 1.15 * (12.66 + 2.87) / 12.66
    assert f.kg_per_tonne == pytest.approx(19610 * wtw / 1000)
    within(f.kg_per_tonne, ECOFREIGHT_KG / ECOFREIGHT_TONNES, ECOFREIGHT_URL)  # 159.75 kg: -6.2%


def desnz_class(em: Emissions, lane_id: str, name: str) -> Emissions:
    """The same network with one lane naming a vessel class (a lane override)."""
    net: Network = em.network
    lanes = tuple(
        lane.model_copy(update={"emission_class": name}) if lane.id == lane_id else lane
        for lane in net.lanes
    )
    return Emissions(Network(**{**dict(net), "lanes": lanes}), em.table)


def test_the_vessel_class_fallback_differs_from_the_publication_only_by_its_intensity(
    demo: Emissions,
) -> None:
    # Off a known trade lane (or naming it), a sea lane uses DESNZ's container ship over 8,000
    # TEU: 15.53 g WTW, 1.9 times the publication's 8.15 g. The whole gap is the intensity.
    f = factor(desnz_class(demo, SEA_LANE, "container_8000_teu"), SEA_LANE)
    published_per_tonne = ECOFREIGHT_KG / ECOFREIGHT_TONNES  # 159.75 kg
    assert f.kg_per_tonne == pytest.approx(19610 * 15.53 / 1000)  # by hand: 304.5 kg, WTW
    expected_ratio = (f.distance_km / ECOFREIGHT_KM) * (f.g_per_tkm / ECOFREIGHT_G_PER_TKM)
    assert f.kg_per_tonne / published_per_tonne == pytest.approx(expected_ratio, rel=0.01)


def test_sea_per_tonne_tank_to_wheel_on_the_desnz_class_is_within_10_percent_of_the_published_co2(
    demo: Emissions,
) -> None:
    # STU's sea figure is a per-tonne fleet basis (10.55 g CO2/t km): compared with DESNZ's.
    ttw = factor(desnz_class(demo, SEA_LANE, "container_8000_teu"), SEA_LANE).ttw_kg_per_tonne
    assert ttw == pytest.approx(19610 * 12.66 / 1000)  # by hand: 248.3 kg
    within(ttw, STU_SEA_KG / STU_TONNES, STU_URL)  # 258 kg: -3.8%
    # twin's default (the trade lane) is 53% below it: published per-tonne sea figures differ
    # by more than 10% between bases (docs/emissions.md).
    default = factor(demo, SEA_LANE).ttw_kg_per_tonne
    assert default == pytest.approx(19610 * 37.9 / 0.70 / 10 * 1.15 / 1000)  # 122.1 kg


@pytest.mark.parametrize("lane_id", ["PVG-AMS-AIR", "PVG-FRA-AIR"])
def test_air_per_tonne_tank_to_wheel_is_within_10_percent_of_the_published_co2(
    demo: Emissions, lane_id: str
) -> None:
    ttw = factor(demo, lane_id).ttw_kg_per_tonne  # 4,970.8 kg (AMS), 4,942.7 kg (FRA)
    assert ttw is not None
    within(ttw, STU_AIR_KG / STU_TONNES, STU_URL)  # 5,000 kg: -0.6% / -1.1%


def test_air_over_sea_multiple_on_the_desnz_classes_is_within_10_percent_of_the_published_one(
    demo: Emissions,
) -> None:
    sea = factor(desnz_class(demo, SEA_LANE, "container_8000_teu"), SEA_LANE).kg_per_tonne
    wtw = factor(demo, AIR_LANE).kg_per_tonne / sea
    assert wtw == pytest.approx((9356 * 666.46) / (19610 * 15.53))  # 20.5, by hand
    within(wtw, STU_AIR_KG / STU_SEA_KG, STU_URL)  # 19.4: +5.7%
