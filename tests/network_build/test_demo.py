"""The bundled `demo` network: real places, enough of them, all warehouses reachable."""

from __future__ import annotations

from importlib import resources
from itertools import pairwise
from pathlib import Path

import networkx as nx
import pytest

from tests.fresh_imports import loaded_by
from twin.domain.records import Network, NodeKind, Tier
from twin.files.geodata import OfflineGeoData, read_facilities, read_lane_parameters
from twin.files.networks import load_network
from twin.network.build import build_network
from twin.network.graph import to_graph

PORTS = [
    "CNYTN",
    "CNSHK",
    "CNNSA",
    "CNSHA",
    "CNNGB",
    "CNXMN",
    "CNTAO",
    "CNTXG",
    "USLAX",
    "USLGB",
    "USOAK",
    "USSEA",
    "USSAV",
    "USNYC",
    "USHOU",
    "NLRTM",
    "DEHAM",
    "BEANR",
    "GBFXT",
    "FRLEH",
    "ESVLC",
    "PLGDN",
    "JPTYO",
    "JPOSA",
    "AEJEA",
]
AIRPORTS = [
    "PVG",
    "SZX",
    "CAN",
    "HKG",
    "CGO",
    "LAX",
    "ORD",
    "JFK",
    "MIA",
    "DFW",
    "FRA",
    "LHR",
    "AMS",
    "LGG",
    "CDG",
    "NRT",
    "DXB",
]
CHOKEPOINTS = ["SUEZ", "BAB_EL_MANDEB", "MALACCA", "PANAMA", "GIBRALTAR", "CAPE_OF_GOOD_HOPE"]
RAIL = [
    "CN-CHONGQING-RAIL",
    "CN-CHENGDU-RAIL",
    "CN-XIAN-RAIL",
    "CN-ZHENGZHOU-RAIL",
    "CN-YIWU-RAIL",
    "DE-DUISBURG-RAIL",
    "PL-LODZ-RAIL",
]
BORDERS = [
    "CN-ALASHANKOU-BORDER",
    "CN-KHORGOS-BORDER",
    "CN-ERENHOT-BORDER",
    "CN-MANZHOULI-BORDER",
    "PL-MALASZEWICZE-BORDER",
]
FACILITIES = Path(str(resources.files("twin").joinpath("data/facilities/demo.yaml")))
DEMO = Path(str(resources.files("twin").joinpath("data/networks/demo.yaml")))


@pytest.fixture(scope="module")
def demo() -> Network:
    network, warnings = load_network("demo")
    assert warnings == []
    return network


def test_size_and_kinds(demo: Network) -> None:
    summary = demo.summary()
    assert summary["nodes"] >= 100 and summary["lanes"] >= 400
    assert set(summary["by_kind"]) == {k.value for k in NodeKind}
    assert set(summary["by_mode"]) == {"sea", "air", "rail", "road"}
    assert summary["by_kind"]["origin"] >= 15 and summary["by_kind"]["warehouse"] >= 25


def test_required_places(demo: Network) -> None:
    ids = demo.node_by_id
    for group, kind in (
        (PORTS, NodeKind.port),
        (AIRPORTS, NodeKind.airport),
        (CHOKEPOINTS, NodeKind.chokepoint),
        (RAIL, NodeKind.rail_terminal),
        (BORDERS, NodeKind.border),
    ):
        for ident in group:
            assert ids[ident].kind is kind, ident
    warehouses = [n for n in demo.nodes if n.kind is NodeKind.warehouse]
    assert {w.tier for w in warehouses} >= {Tier.distribution, Tier.fulfillment}
    assert {w.country for w in warehouses} >= {"US", "NL", "DE", "PL", "ES", "FR", "GB", "JP", "AE"}
    for node in demo.nodes:
        assert node.lat is not None and node.lon is not None, node.id
        if node.kind is not NodeKind.chokepoint:
            assert node.country, node.id


def test_real_coordinates(demo: Network) -> None:
    # Published coordinates (facts file, airportsdata): within ~0.05 degrees.
    for ident, lat, lon in (
        ("PVG", 31.1434, 121.805),
        ("SZX", 22.6393, 113.811),
        ("LAX", 33.9425, -118.408),
        ("FRA", 50.026, 8.543),
        ("NRT", 35.765, 140.386),
        ("CNYTN", 22.57, 114.28),
    ):
        node = demo.node_by_id[ident]
        assert node.lat == pytest.approx(lat, abs=0.05) and node.lon == pytest.approx(
            lon, abs=0.05
        ), ident


def test_every_warehouse_reachable_from_every_origin(demo: Network) -> None:
    graph = to_graph(demo)
    origins = [n.id for n in demo.nodes if n.kind is NodeKind.origin]
    warehouses = {n.id for n in demo.nodes if n.kind is NodeKind.warehouse}
    for origin in origins:
        missing = warehouses - nx.descendants(graph, origin)
        assert not missing, f"{origin} cannot reach {sorted(missing)}"


def test_parallel_services(demo: Network) -> None:
    graph = to_graph(demo)
    assert {"CNSHA-NLRTM-SUEZ", "CNSHA-NLRTM-CAPE"} <= set(graph["CNSHA"]["NLRTM"])
    assert {"CNSHA-USNYC-PANAMA", "CNSHA-USNYC-SUEZ"} <= set(graph["CNSHA"]["USNYC"])
    lanes = demo.lane_by_id
    assert (
        "SUEZ" in lanes["CNSHA-NLRTM-SUEZ"].via
        and "CAPE_OF_GOOD_HOPE" in lanes["CNSHA-NLRTM-CAPE"].via
    )
    assert "PANAMA" in lanes["CNSHA-USNYC-PANAMA"].via
    # Every sea lane through Suez has a Cape alternative between the same ports, and every one
    # through Malacca a way round it by Sunda (a Malacca closure's detour): to Suez, or to the
    # Cape where Sunda-Suez is dropped for being barely shorter than the Cape with a canal.
    for lane in demo.lanes:
        if "SUEZ" in lane.via:
            assert lane.id.rsplit("-", 1)[0] + "-CAPE" in lanes, lane.id
        if "MALACCA" in lane.via:
            stem = lane.id.rsplit("-", 1)[0]
            around = [lanes[i] for i in (stem + "-SUNDA", stem + "-CAPE") if i in lanes]
            assert any("SUNDA" in a.via and "MALACCA" not in a.via for a in around), lane.id
        if lane.id.endswith("-SUNDA"):
            assert "MALACCA" not in lane.via and "CAPE_OF_GOOD_HOPE" not in lane.via, lane.id


def test_rail_corridor(demo: Network) -> None:
    graph = to_graph(demo)
    path = nx.shortest_path(graph, "CN-CHONGQING-RAIL", "DE-DUISBURG-RAIL")
    assert "PL-MALASZEWICZE-BORDER" in path
    days = sum(min(d["lane"].transit_days for d in graph[a][b].values()) for a, b in pairwise(path))
    assert 10 <= days <= 20  # operators publish 12-18 days terminal to terminal


def test_header_names_the_command() -> None:
    head = DEMO.read_text().splitlines()[0]
    assert head.startswith("# Generated by `twin network build") and "facilities/demo.yaml" in head


def test_loading_demo_does_not_route() -> None:
    statement = "from twin.files.networks import load_network; load_network('demo')"
    assert loaded_by(statement, {"searoute"}) == set()


@pytest.mark.slow
def test_committed_demo_matches_a_rebuild(demo: Network) -> None:
    rebuilt = build_network(read_facilities(FACILITIES), read_lane_parameters(), OfflineGeoData())
    assert rebuilt.to_document() == demo.to_document()
