"""Shipment files and the seeded generator."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import networkx as nx
import pytest

from twin.domain.problems import InputError
from twin.domain.records import Priority
from twin.files.networks import load_network
from twin.files.shipments import load_shipments, write_shipments
from twin.network.synthetic import generate_network
from twin.shipments.generate import generate_shipments

START = datetime(2024, 1, 1, tzinfo=UTC)


def test_bad_shipment_rows_are_all_reported(tmp_path: Path, mini_network_file: Path) -> None:
    network, _ = load_network(mini_network_file)
    path = tmp_path / "s.csv"
    path.write_text(
        "id,origin,destination,units,ready_at,due_at,priority\n"
        "S1,CN-SZ,NL-VENLO,10,2024-01-01T00:00:00Z,2024-02-01T00:00:00Z,standard\n"
        "S2,CN-SZ,NOWHERE,10,2024-01-01T00:00:00Z,2024-02-01T00:00:00Z,standard\n"
        "S3,CN-SZ,NL-VENLO,-4,2024-01-01T00:00:00,2024-02-01T00:00:00Z,urgent\n"
        "S1,CN-SZ,SUEZ,1,2024-01-05T00:00:00Z,2024-01-01T00:00:00Z,standard\n"
    )
    with pytest.raises(InputError) as caught:
        load_shipments(path, network)
    found = {(p.where.split(" (")[0], p.field) for p in caught.value.problems}
    assert ("shipment S2", "destination") in found
    assert ("shipment S3", "units") in found
    assert ("shipment S3", "ready_at") in found  # no zone
    assert ("shipment S3", "priority") in found
    assert any(p.where.startswith("shipment S1 (row 5)") for p in caught.value.problems)


def test_generator_is_seeded_realistic_and_round_trips(tmp_path: Path) -> None:
    network = generate_network(120, 800, seed=2)
    first = generate_shipments(network, start=START, days=5, per_day=40, seed=9)
    again = generate_shipments(network, start=START, days=5, per_day=40, seed=9)
    assert first == again
    assert first != generate_shipments(network, start=START, days=5, per_day=40, seed=10)
    assert len(first) == 200
    graph = nx.MultiDiGraph([(l.from_, l.to) for l in network.lanes])
    for shipment in first:
        assert nx.has_path(graph, shipment.origin, shipment.destination)
        assert shipment.due_at > shipment.ready_at
        assert START <= shipment.ready_at < datetime(2024, 1, 6, tzinfo=UTC)
    by_priority = {p: sum(s.priority is p for s in first) for p in Priority}
    assert (
        by_priority[Priority.standard]
        > by_priority[Priority.express]
        > by_priority[Priority.critical]
    )
    # Standard freight is larger and allowed longer than critical freight.
    mean = lambda xs: sum(xs) / len(xs)
    standard = [s for s in first if s.priority is Priority.standard]
    critical = [s for s in first if s.priority is Priority.critical] or standard
    assert mean([s.units for s in standard]) > mean([s.units for s in critical])
    for suffix in (".csv", ".yaml"):
        out = tmp_path / f"s{suffix}"
        write_shipments(first, out)
        loaded, warnings = load_shipments(out, network)
        assert loaded == first and warnings == []


def test_generator_keeps_to_the_markets_asked_for() -> None:
    from twin.shipments.generate import market_of

    network, _ = load_network("demo")
    country = {n.id: n.country for n in network.nodes}
    every = generate_shipments(network, start=START, days=3, per_day=40, seed=4)
    assert {market_of(country[s.destination]) for s in every} >= {"US", "EU", "GB", "JP", "AE"}
    only = generate_shipments(
        network, start=START, days=3, per_day=40, seed=4, markets=["EU", "GB"]
    )
    assert len(only) == 120
    assert {market_of(country[s.destination]) for s in only} == {"EU", "GB"}
    with pytest.raises(ValueError, match="no warehouse in markets XX"):
        generate_shipments(network, start=START, days=1, per_day=1, markets=["XX"])
