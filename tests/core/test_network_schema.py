"""Network loading and validation: every error at once, with file, entry and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.domain.problems import InputError
from twin.files.networks import load_network, network_yaml, write_network
from twin.network.graph import NetworkView, WhatIf, to_graph


def test_mini_network_loads_into_a_multidigraph_with_parallel_lanes(
    mini_network_file: Path,
) -> None:
    network, warnings = load_network(mini_network_file)
    assert warnings == []
    graph = to_graph(network)
    assert graph.number_of_nodes() == 6
    assert graph.number_of_edges() == 4
    assert set(graph["CNYTN"]["NLRTM"]) == {"YTN-RTM-SUEZ", "YTN-RTM-CAPE"}
    assert network.summary() == {
        "name": "mini",
        "nodes": 6,
        "lanes": 4,
        "by_kind": {"chokepoint": 2, "origin": 1, "port": 2, "warehouse": 1},
        "by_mode": {"road": 2, "sea": 2},
    }


def test_every_error_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        """
name: bad
nodes:
  - {id: A, kind: port, lat: 95, lon: 10}
  - {id: A, kind: port}
  - {id: B, kind: harbour}
  - {id: W, kind: warehouse}
lanes:
  - {id: L1, from: A, to: Z, mode: sea, transit_days: 0, cost_per_unit: -1}
  - {id: L2, from: A, to: W, mode: boat, transit_days: 2, cost_per_unit: 1, via: [W, NOPE]}
"""
    )
    with pytest.raises(InputError) as caught:
        load_network(path)
    found = {(p.where.split(" (")[0], p.field) for p in caught.value.problems}
    assert ("node A", "lat") in found
    assert ("node A", "id") in found  # duplicate
    assert ("node B", "kind") in found
    assert ("lane L1", "to") in found  # unknown node Z
    assert ("lane L1", "transit_days") in found
    assert ("lane L1", "cost_per_unit") in found
    assert ("lane L2", "mode") in found
    via = [p.message for p in caught.value.problems if p.field == "via"]
    assert any("warehouse, not a chokepoint or border" in m for m in via)
    assert any("unknown node 'NOPE'" in m for m in via)
    assert all(p.file == str(path) for p in caught.value.problems)


def test_csv_folder_reports_rows(tmp_path: Path) -> None:
    folder = tmp_path / "net"
    folder.mkdir()
    (folder / "nodes.csv").write_text("id,kind,lat,lon\nA,port,10,10\nB,port,20,200\n")
    (folder / "lanes.csv").write_text(
        "id,from,to,mode,transit_days,cost_per_unit,via\nL1,A,B,sea,3,5,\nL2,A,C,sea,x,5,\n"
    )
    with pytest.raises(InputError) as caught:
        load_network(folder)
    messages = [str(p) for p in caught.value.problems]
    assert any("nodes.csv: node B (row 3): field 'lon'" in m for m in messages)
    assert any("lanes.csv: lane L2 (row 3): field 'to': unknown node 'C'" in m for m in messages)
    assert any("lanes.csv: lane L2 (row 3): field 'transit_days'" in m for m in messages)


def test_csv_folder_and_yaml_give_the_same_network(tmp_path: Path, mini_network_file: Path) -> None:
    network, _ = load_network(mini_network_file)
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "network.yaml").write_text("name: mini\n")
    node_cols = [
        "id",
        "kind",
        "name",
        "country",
        "lat",
        "lon",
        "capacity",
        "tier",
        "clearance_days",
    ]
    rows = [",".join(node_cols)]
    for node in network.nodes:
        doc = node.model_dump(mode="json")
        rows.append(",".join("" if doc.get(c) is None else str(doc[c]) for c in node_cols))
    (folder / "nodes.csv").write_text("\n".join(rows) + "\n")
    lane_cols = ["id", "from", "to", "mode", "transit_days", "cost_per_unit", "capacity", "via"]
    rows = [",".join(lane_cols)]
    for lane in network.lanes:
        doc = lane.model_dump(mode="json", by_alias=True)
        doc["via"] = ";".join(doc["via"])
        rows.append(",".join("" if doc.get(c) is None else str(doc[c]) for c in lane_cols))
    (folder / "lanes.csv").write_text("\n".join(rows) + "\n")
    from_csv, _ = load_network(folder)
    assert from_csv.to_document() == network.to_document()


def test_export_round_trips(tmp_path: Path, mini_network_file: Path) -> None:
    network, _ = load_network(mini_network_file)
    out = tmp_path / "out" / "copy.yaml"
    write_network(network, out)
    again, _ = load_network(out)
    assert again == network
    assert network_yaml(again) == out.read_text()


def test_unknown_fields_are_kept_and_warned(tmp_path: Path) -> None:
    path = tmp_path / "extra.yaml"
    path.write_text(
        "name: x\nnodes:\n  - {id: A, kind: port, operator: COSCO}\n  - {id: B, kind: port}\n"
        "lanes:\n  - {id: L, from: A, to: B, mode: sea, transit_days: 1, cost_per_unit: 1}\n"
    )
    network, warnings = load_network(path)
    assert network.node_by_id["A"].extras == {"operator": "COSCO"}
    assert [(w.where.split(" (")[0], w.field) for w in warnings] == [("node A", "operator")]
    assert "operator: COSCO" in network_yaml(network)


def test_whatif_view_never_mutates_the_network(mini_network_file: Path) -> None:
    network, _ = load_network(mini_network_file)
    before = network.to_document()
    view = NetworkView(network, WhatIf(avoid=frozenset({"SUEZ"}), capacity_pct={"NLRTM": 50}))
    assert [lane.id for lane in view.open_lanes] == [
        "SZ-YTN-ROAD",
        "YTN-RTM-CAPE",
        "RTM-VENLO-ROAD",
    ]
    assert not view.open_graph().has_edge("CNYTN", "NLRTM", "YTN-RTM-SUEZ")
    assert view.open_graph().has_edge("CNYTN", "NLRTM", "YTN-RTM-CAPE")
    assert view.node_capacity(network.node_by_id["NLRTM"]) is None  # unbounded stays unbounded
    assert view.node_capacity(network.node_by_id["NL-VENLO"]) == 1500
    derated = NetworkView(network, WhatIf(capacity_pct={"CAPE_OF_GOOD_HOPE": 40}))
    assert derated.lane_capacity(network.lane_by_id["YTN-RTM-CAPE"]) == pytest.approx(1200)
    shut = NetworkView(network, WhatIf(capacity_pct={"SUEZ": 0}))
    assert "YTN-RTM-SUEZ" not in {lane.id for lane in shut.open_lanes}
    assert network.to_document() == before
    assert to_graph(network).number_of_edges() == 4


def test_customs_entry_defaults() -> None:
    from twin.domain.records import Node

    rotterdam = Node(id="NLRTM", kind="port", country="NL")
    assert rotterdam.is_customs_entry_for("CN")
    assert not rotterdam.is_customs_entry_for("NL")
    assert not Node(id="W", kind="warehouse", country="NL").is_customs_entry_for("CN")
    assert not Node(id="P", kind="port", country="NL", customs_entry=False).is_customs_entry_for(
        "CN"
    )


def test_a_copy_with_other_lanes_looks_up_its_own_lanes(mini_network_file: Path) -> None:
    network, _ = load_network(mini_network_file)
    assert "YTN-RTM-CAPE" in network.lane_by_id  # the original's lookups are built
    kept = tuple(lane for lane in network.lanes if lane.id != "YTN-RTM-CAPE")
    copy = network.model_copy(update={"lanes": kept})
    assert set(copy.lane_by_id) == {lane.id for lane in kept}
    assert [lane.id for lane in copy.lanes_from["CNYTN"]] == ["YTN-RTM-SUEZ"]
    assert "YTN-RTM-CAPE" in network.lane_by_id
