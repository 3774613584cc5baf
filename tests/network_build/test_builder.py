"""The builder on a small facility list, checked against published distances (facts file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.files.geodata import OfflineGeoData, read_facilities
from twin.network.build import Parameters, build_network, sea_services
from twin.network.geo import node_distance_km

# Searoute distances in /work/shared/facts/disruptions-and-data.md (nautical miles).
SHA_RTM_SUEZ_NM = 10_589
SHA_RTM_CAPE_NM = 13_909
YTN_LAX_NM = 6_427
SHA_NYC_PANAMA_NM = 10_678
SHA_NYC_SUEZ_NM = 12_392


def _nm(lane_days: float, parameters: Parameters) -> float:
    """Back out the sailed distance from a sea lane's transit days."""
    sea = parameters.sea
    return (lane_days - sea.port_days) * sea.speed_knots * 24.0


def test_shanghai_rotterdam_has_a_suez_and_a_cape_service(
    parameters: Parameters, geo: OfflineGeoData
) -> None:
    sha, rtm = geo.port("CNSHA"), geo.port("NLRTM")
    assert sha and rtm
    services = {
        s.name: s.route
        for s in sea_services((sha.lat, sha.lon), (rtm.lat, rtm.lon), parameters.sea, geo)
    }
    # Panama is dropped: the Cape is barely longer, no canal. Sunda is the way round Malacca.
    assert set(services) == {"SUEZ", "SUNDA", "CAPE"}
    assert services["SUEZ"].nautical_miles == pytest.approx(SHA_RTM_SUEZ_NM, rel=0.03)
    assert services["CAPE"].nautical_miles == pytest.approx(SHA_RTM_CAPE_NM, rel=0.03)
    assert {"suez", "babalmandab", "malacca", "gibraltar"} <= services["SUEZ"].passages
    assert "south_africa" in services["CAPE"].passages and "suez" not in services["CAPE"].passages
    assert {"sunda", "suez"} <= services["SUNDA"].passages and "malacca" not in services[
        "SUNDA"
    ].passages
    # Round Malacca by Sunda costs about 600 nm (YTN-RTM 9,819 -> 10,403 nm in searoute 1.6.0).
    assert 1.03 < services["SUNDA"].nautical_miles / services["SUEZ"].nautical_miles < 1.10


def test_asia_to_us_east_coast_has_panama_and_suez_services(
    parameters: Parameters, geo: OfflineGeoData
) -> None:
    sha, nyc = geo.port("CNSHA"), geo.port("USNYC")
    assert sha and nyc
    services = {
        s.name: s.route
        for s in sea_services((sha.lat, sha.lon), (nyc.lat, nyc.lon), parameters.sea, geo)
    }
    assert services["PANAMA"].nautical_miles == pytest.approx(SHA_NYC_PANAMA_NM, rel=0.03)
    assert services["SUEZ"].nautical_miles == pytest.approx(SHA_NYC_SUEZ_NM, rel=0.03)


def test_restrictions_are_not_carried_over_between_calls(geo: OfflineGeoData) -> None:
    # searoute caches the last restrictions when given None; the adapter always passes a list.
    sha, rtm = geo.port("CNSHA"), geo.port("NLRTM")
    assert sha and rtm
    blocked = geo.sea_route(
        (sha.lat, sha.lon), (rtm.lat, rtm.lon), ["northwest", "suez", "babalmandab", "panama"]
    )
    again = geo.sea_route((sha.lat, sha.lon), (rtm.lat, rtm.lon), ["northwest"])
    assert blocked and again
    assert "suez" not in blocked.passages and "suez" in again.passages


def test_build_small_network(
    small_facilities: Path, parameters: Parameters, geo: OfflineGeoData
) -> None:
    network = build_network(read_facilities(small_facilities), parameters, geo)
    lanes = network.lane_by_id
    suez, cape = lanes["CNSHA-NLRTM-SUEZ"], lanes["CNSHA-NLRTM-CAPE"]
    assert suez.via == ("MALACCA", "BAB_EL_MANDEB", "SUEZ", "GIBRALTAR")  # in sailing order
    assert "CAPE_OF_GOOD_HOPE" in cape.via and "SUEZ" not in cape.via
    assert _nm(suez.transit_days, parameters) == pytest.approx(SHA_RTM_SUEZ_NM, rel=0.03)
    assert _nm(cape.transit_days, parameters) == pytest.approx(SHA_RTM_CAPE_NM, rel=0.03)
    # The Cape detour: +3,320 nm, ~8.6 days at 16 kn (facts: +7.7 d at 18 kn, +9.9 d at 14 kn).
    assert 7.7 <= cape.transit_days - suez.transit_days <= 9.9
    assert cape.cost_per_unit > suez.cost_per_unit
    ytn_lax = lanes["CNYTN-USLAX-SEA"]
    assert ytn_lax.via == () and _nm(ytn_lax.transit_days, parameters) == pytest.approx(
        YTN_LAX_NM, rel=0.03
    )
    for lane in network.lanes:
        assert lane.transit_days_p90 is None or lane.transit_days_p90 >= lane.transit_days
        if lane.mode.value != "road":
            assert lane.capacity
    # Ports and airports take coordinates and country from the packaged tables.
    pvg = network.node_by_id["PVG"]
    assert (pvg.lat, pvg.lon, pvg.country) == (
        pytest.approx(31.1434, abs=1e-3),
        pytest.approx(121.805, abs=1e-3),
        "CN",
    )
    assert network.node_by_id["NLRTM"].country == "NL"
    # Air: great circle PVG-LAX ~10,450 km; priced per kg at 167 kg per cbm within USD 3-5/kg.
    air = lanes["PVG-LAX-AIR"]
    assert 9_800 < node_distance_km(pvg, network.node_by_id["LAX"]) < 11_000
    assert 3.0 <= air.cost_per_unit / 167 <= 5.0 and 1.5 <= air.transit_days <= 4.0
    # Road lanes reach the import side and stay inside a road area.
    assert "USLAX-US-ONT8-ROAD" in lanes and "CN-SHANGHAI-ORIGIN-CNSHA-ROAD" in lanes
    assert not any(
        l.mode.value == "road" and l.from_ == "USLAX" and l.to == "NL-VEN1" for l in network.lanes
    )


def test_build_is_deterministic(
    small_facilities: Path, parameters: Parameters, geo: OfflineGeoData
) -> None:
    facilities = read_facilities(small_facilities)
    first = build_network(facilities, parameters, geo).to_document()
    assert build_network(facilities, parameters, geo).to_document() == first


def test_progress_reports_every_sea_route(small_facilities: Path, parameters: Parameters) -> None:
    from twin.network.build import sea_route_calls

    facilities = read_facilities(small_facilities)
    seen: list[tuple[int, int]] = []
    geo = OfflineGeoData()
    build_network(
        facilities, parameters, geo, progress=lambda done, total: seen.append((done, total))
    )
    expected = sea_route_calls(facilities, parameters)
    assert expected == 2 * 2 * len(parameters.sea.restriction_sets)
    assert seen[-1] == (expected, expected) and geo.route_calls == expected
