"""Stored networks: exact round trips, idempotent reloads, replacement, all-or-nothing saves."""

from __future__ import annotations

import time
from importlib import resources
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

import twin.store.networks as store_networks
from twin.domain.records import Lane, Network, Node
from twin.network.synthetic import generate_network
from twin.store.common import NotFound
from twin.store.db import session_scope
from twin.store.networks import (
    delete_network,
    get_network,
    lanes_via,
    list_networks,
    save_network,
)
from twin.store.shipments import get_shipments, save_shipments
from twin.store.tables.network import LaneRow, LaneViaRow, NetworkRow, NodeRow


def _counts(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as session:
        return {
            table.__tablename__: session.execute(
                select(func.count()).select_from(table)
            ).scalar_one()  # type: ignore[arg-type]
            for table in (NetworkRow, NodeRow, LaneRow, LaneViaRow)
        }


def _demo() -> Network:
    path = resources.files("twin").joinpath("data/networks/demo.yaml")
    if not path.is_file():
        pytest.skip("the bundled demo network (twin/data/networks/demo.yaml) is not there yet")
    from twin.files.networks import load_network

    return load_network(str(path))[0]


@pytest.mark.parametrize("which", ["small", "demo"])
def test_round_trip_is_exact(make_network: Any, engine: Engine, which: str) -> None:
    network = make_network() if which == "small" else _demo()
    with session_scope(engine) as session:
        report = save_network(session, network=network)
    assert report.created and report.inserted == {
        "nodes": len(network.nodes),
        "lanes": len(network.lanes),
    }
    with session_scope(engine) as session:
        back = get_network(session, name=network.name)
    assert back == network
    assert back.to_document() == network.to_document()  # same keys in the same order, extras too
    assert [n.extras for n in back.nodes] == [n.extras for n in network.nodes]
    assert [list(n.extras) for n in back.nodes] == [list(n.extras) for n in network.nodes]


def test_same_network_again_changes_nothing(make_network: Any, engine: Engine) -> None:
    network = make_network()
    with session_scope(engine) as session:
        first = save_network(session, network=network)
    before = _counts(engine)
    with session_scope(engine) as session:
        again = save_network(session, network=network)
    assert again.network_id == first.network_id
    assert not again.changed
    assert again.unchanged == {"nodes": 6, "lanes": 3}
    assert _counts(engine) == before == {"networks": 1, "nodes": 6, "lanes": 3, "lane_via": 2}


def test_changed_network_with_the_same_name_replaces_it(make_network: Any, engine: Engine) -> None:
    old = make_network()
    nodes = [n for n in old.nodes if n.id != "BAB"] + [
        Node(id="DEHAM", kind="port", country="DE", lat=53.5, lon=9.9)
    ]
    lanes = (
        old.lanes[0],
        old.lanes[1].model_copy(update={"via": ("SUEZ",), "cost_per_unit": 70.0}),
        Lane(
            **{
                "id": "YTN-HAM-SUEZ",
                "from": "CNYTN",
                "to": "DEHAM",
                "mode": "sea",
                "transit_days": 33,
                "cost_per_unit": 65,
                "via": ["SUEZ"],
            }
        ),
    )
    new = make_network(unit="teu", nodes=tuple(nodes), lanes=lanes)
    with session_scope(engine) as session:
        save_network(session, network=old)
    with session_scope(engine) as session:
        report = save_network(session, network=new)
    assert report.inserted == {"nodes": 1, "lanes": 1}
    assert report.updated == {"nodes": 2, "lanes": 1, "network": 1}  # 2 nodes moved up a place
    assert report.deleted == {"nodes": 1, "lanes": 1}
    with session_scope(engine) as session:
        assert get_network(session, name="small") == new
        assert lanes_via(session, network_name="small", node_id="SUEZ") == [
            "YTN-RTM-SUEZ",
            "YTN-HAM-SUEZ",
        ]
        assert lanes_via(session, network_name="small", node_id="BAB") == []
    assert _counts(engine) == {"networks": 1, "nodes": 6, "lanes": 3, "lane_via": 2}


def test_reordered_network_reads_back_in_the_new_order(make_network: Any, engine: Engine) -> None:
    network = make_network()
    flipped = make_network(nodes=network.nodes[::-1], lanes=network.lanes[::-1])
    with session_scope(engine) as session:
        save_network(session, network=network)
        report = save_network(session, network=flipped)
    assert report.inserted == {"nodes": 0, "lanes": 0}
    with session_scope(engine) as session:
        assert get_network(session, name="small") == flipped


def test_a_lane_breaking_a_constraint_leaves_the_previous_network(
    make_network: Any, engine: Engine
) -> None:
    network = make_network()
    with session_scope(engine) as session:
        save_network(session, network=network)
    before = _counts(engine)
    # Network() itself does not check references (the file parser does); the store's keys do.
    bad_lane = Lane(
        **{
            "id": "YTN-NOWHERE",
            "from": "CNYTN",
            "to": "NOWHERE",
            "mode": "sea",
            "transit_days": 3,
            "cost_per_unit": 1,
        }
    )
    broken = make_network(
        unit="teu",
        nodes=network.nodes[:-1] + (Node(id="NEW", kind="port"),),
        lanes=(network.lanes[1].model_copy(update={"cost_per_unit": 1.0}), bad_lane),
    )
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        save_network(session, network=broken)
    with session_scope(engine) as session:
        assert get_network(session, name="small") == network
    assert _counts(engine) == before


def test_a_failure_mid_way_leaves_the_previous_network(
    make_network: Any, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    network = make_network()
    with session_scope(engine) as session:
        save_network(session, network=network)
    before = _counts(engine)
    changed = make_network(
        lanes=tuple(
            lane.model_copy(update={"via": lane.via[::-1], "cost_per_unit": 9.0})
            for lane in network.lanes
        )
    )
    real_insert = store_networks.insert

    def failing_insert(table: object) -> object:
        # Fail on the via rows: by then nodes and lanes were already updated in this transaction.
        if table is store_networks.VIA:
            raise RuntimeError("injected failure")
        return real_insert(table)  # type: ignore[arg-type]

    monkeypatch.setattr(store_networks, "insert", failing_insert)
    with pytest.raises(RuntimeError, match="injected"), session_scope(engine) as session:
        save_network(session, network=changed)
    monkeypatch.undo()
    with session_scope(engine) as session:
        assert get_network(session, name="small") == network
    assert _counts(engine) == before


def test_networks_with_the_same_node_ids_stay_apart(make_network: Any, engine: Engine) -> None:
    a, b = make_network("a"), make_network("b", currency="EUR", lanes=make_network().lanes[:1])
    with session_scope(engine) as session:
        save_network(session, network=a)
        save_network(session, network=b)
    with session_scope(engine) as session:
        assert get_network(session, name="a") == a
        assert get_network(session, name="b") == b
        listed = list_networks(session)
    assert [(n.name, n.nodes, n.lanes, n.currency) for n in listed] == [
        ("a", 6, 3, "USD"),
        ("b", 6, 1, "EUR"),
    ]


def test_delete_network_takes_its_rows_and_shipments(
    make_network: Any, make_shipment: Any, engine: Engine
) -> None:
    with session_scope(engine) as session:
        save_network(session, network=make_network("a"))
        save_network(session, network=make_network("b"))
        save_shipments(session, network_name="a", shipments=[make_shipment("S1")])
        save_shipments(session, network_name="b", shipments=[make_shipment("S1")])
    with session_scope(engine) as session:
        delete_network(session, name="a")
    with session_scope(engine) as session:
        with pytest.raises(NotFound):
            get_network(session, name="a")
        with pytest.raises(NotFound):
            get_shipments(session, network_name="a")
        assert [s.id for s in get_shipments(session, network_name="b")] == ["S1"]
    assert _counts(engine) == {"networks": 1, "nodes": 6, "lanes": 3, "lane_via": 2}


def test_missing_network_is_not_found(engine: Engine) -> None:
    with session_scope(engine) as session:
        with pytest.raises(NotFound, match="twin db load-network"):
            get_network(session, name="nope")
        with pytest.raises(NotFound):
            delete_network(session, name="nope")


def test_large_network_saves_in_seconds(engine: Engine) -> None:
    # Bulk inserts, not an ORM object per row: the L benchmark network takes well under a second.
    network = generate_network(1000, 10000, 3)
    started = time.perf_counter()
    with session_scope(engine) as session:
        save_network(session, network=network)
    saved = time.perf_counter() - started
    started = time.perf_counter()
    with session_scope(engine) as session:
        again = save_network(session, network=network)
    reloaded = time.perf_counter() - started
    with session_scope(engine) as session:
        assert get_network(session, name=network.name) == network
    assert not again.changed
    assert saved < 5 and reloaded < 5, (saved, reloaded)
