"""`twin emissions`: the ESG report from a plan file and from the stored plan of record."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twin.cli.app import app
from twin.emissions.report import ROW_FIELDS
from twin.files.emissions import load_emission_table

ROWS = """id,origin,destination,units,ready_at,due_at,priority,split,kg_per_cbm
S1,CN-SHENZHEN-ORIGIN,US-ONT8,12,2024-01-02T00:00:00Z,2024-02-10T00:00:00Z,standard,true,
S2,CN-SHENZHEN-ORIGIN,NL-VEN1,3,2024-01-02T00:00:00Z,2024-01-12T00:00:00Z,express,false,250
"""
WINDOW = ["--from", "2024-01-01T00:00:00Z", "--to", "2024-04-01T00:00:00Z"]


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:  # type: ignore[type-arg]
    tmp = tmp_path_factory.mktemp("em")
    ships = tmp / "ships.csv"
    ships.write_text(ROWS)
    out = CliRunner().invoke(
        app, ["plan", "--network", "demo", "--shipments", str(ships), "--json"]
    )
    assert out.exit_code == 0, out.output
    path = tmp / "plan.json"
    path.write_text(out.stdout)
    return ships, path, json.loads(out.stdout)


def test_report_from_a_plan_file_adds_up_to_the_plan(planned) -> None:  # type: ignore[no-untyped-def]
    ships, path, plan = planned
    out = CliRunner().invoke(
        app, ["emissions", *WINDOW, "--plan", str(path), "--shipments", str(ships), "--json"]
    )
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["total"]["co2e_kg"] == pytest.approx(plan["cost"]["co2e_kg"], abs=0.01)
    assert {m["market"] for m in doc["by_market"]} == {"US", "NL"}
    for row in doc["rows"]:
        assert set(row) == set(ROW_FIELDS)
        if row["co2e_kg"]:
            # intensity = kg x 1000 / tonne-km, and tonne-km = tonnes x distance
            assert row["intensity_g_per_tkm"] == pytest.approx(
                row["co2e_kg"] * 1000 / row["tonne_km"], rel=1e-3
            )
            assert row["tonne_km"] == pytest.approx(row["tonnes"] * row["distance_km"], rel=1e-3)
    # S2 states 250 kg per cbm: 3 cbm = 0.75 t on every one of its lanes.
    s2 = next(a for a in plan["assignments"] if a["shipment"] == "S2")
    for row in doc["rows"]:
        if row["lane"] == s2["path"][1]:
            assert row["tonnes"] == pytest.approx(0.75)
    assert sum(m["co2e_kg"] for m in doc["by_mode"]) == pytest.approx(
        doc["total"]["co2e_kg"], abs=0.01
    )
    assert doc["sources"] and doc["total"]["scopes"] == ["wtw"]
    # Beside each WTW figure its tank-to-wheel part: the default class's TTW / WTW share.
    table = load_emission_table()
    for row in doc["rows"]:
        entry = table.modes[row["mode"]]
        cls = entry.classes[entry.default_class]
        assert row["co2e_ttw_kg"] == pytest.approx(
            row["co2e_kg"] * cls.ttw / (cls.ttw + cls.wtt), rel=1e-3, abs=1e-3
        )
    assert doc["total"]["co2e_ttw_kg"] == pytest.approx(
        sum(r["co2e_ttw_kg"] for r in doc["rows"]), abs=0.01
    )
    assert doc["total"]["ttw_unknown_lanes"] == []


def test_csv_rows_and_an_empty_window(planned, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, path, _ = planned
    out = CliRunner().invoke(app, ["emissions", *WINDOW, "--plan", str(path), "--csv"])
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert rows and tuple(rows[0]) == ROW_FIELDS
    target = tmp_path / "r.json"
    later = ["--from", "2025-01-01T00:00:00Z", "--to", "2025-02-01T00:00:00Z"]
    out = CliRunner().invoke(app, ["emissions", *later, "--plan", str(path), "-o", str(target)])
    assert out.exit_code == 0, out.output
    assert json.loads(target.read_text())["rows"] == []


def test_bad_input_exits_2(planned, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, path, _ = planned
    backwards = ["--from", "2024-02-01T00:00:00Z", "--to", "2024-01-01T00:00:00Z"]
    out = CliRunner().invoke(app, ["emissions", *backwards, "--plan", str(path)])
    assert out.exit_code == 2 and "--to" in out.output
    bad = tmp_path / "bad.json"
    bad.write_text('{"assignments": [{"shipment": "S", "units": 1, "path": ["NOPE"], '
                   '"eta": "2024-01-05T00:00:00Z"}]}')  # fmt: skip
    out = CliRunner().invoke(app, ["emissions", *WINDOW, "--plan", str(bad)])
    assert out.exit_code == 2 and "assignments[0]" in out.output and "NOPE" in out.output


def test_report_from_the_stored_plan_of_record(planned, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from twin.domain.plans import Assignment, Leg
    from twin.files.networks import load_network
    from twin.files.shipments import load_shipments
    from twin.store.db import make_engine, session_scope
    from twin.store.migrate import upgrade
    from twin.store.networks import save_network
    from twin.store.routes import save_routes
    from twin.store.shipments import save_shipments

    ships_path, _, _ = planned
    url = f"sqlite:///{tmp_path / 'em.db'}"
    monkeypatch.setenv("TWIN_DATABASE_URL", url)
    engine = make_engine(url)
    upgrade(engine)
    network, _ = load_network("demo")
    ships = load_shipments(ships_path, network)[0]
    lanes = network.lane_by_id
    t0, t1 = datetime(2024, 1, 5, tzinfo=UTC), datetime(2024, 2, 3, tzinfo=UTC)
    path = ["CN-SHENZHEN-ORIGIN-CNYTN-ROAD", "CNYTN-USLGB-SEA"]
    legs = tuple(
        Leg(lane=l, from_node=lanes[l].from_, to_node=lanes[l].to, depart_at=d, arrive_at=d)
        for l, d in zip(path, (t0, t1), strict=True)
    )
    route = Assignment(shipment="S1", units=12, legs=legs, eta=t1, cost=1.0, late_days=0)
    with session_scope(engine) as session:
        save_network(session, network=network)
        save_shipments(session, network_name="demo", shipments=ships)
        save_routes(session, network_name="demo", routes={"S1": (route,)}, at=t0)
    out = CliRunner().invoke(app, ["emissions", *WINDOW, "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    months = {r["lane"]: r["month"] for r in doc["rows"]}
    assert months == {path[0]: "2024-01", path[1]: "2024-02"}  # by departure month
    sea = next(r for r in doc["rows"] if r["lane"] == path[1])
    tonnes = 12 * 0.167
    # The store keeps the lanes' distances (in their extras): the report uses the built one.
    assert not sea["distance_estimated"] and sea["tonnes"] == pytest.approx(tonnes)
    assert sea["distance_km"] == pytest.approx(lanes[path[1]].distance_km)
    assert sea["co2e_kg"] == pytest.approx(
        tonnes * sea["distance_km"] * (12.66 + 2.87) / 1000, rel=1e-3
    )
    assert sea["co2e_ttw_kg"] == pytest.approx(tonnes * sea["distance_km"] * 12.66 / 1000, rel=1e-3)
    # Yantian-Long Beach is on no trade lane of the table: the vessel-class default.
    assert sea["intensity_from"] == "class:container_8000_teu"


def test_plan_with_a_carbon_price_reports_the_carbon_money(planned) -> None:  # type: ignore[no-untyped-def]
    ships, _, free = planned
    out = CliRunner().invoke(
        app,
        ["plan", "--network", "demo", "--shipments", str(ships), "--carbon-price", "200", "--json"],
    )
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    cost = doc["cost"]
    money = sum(v for k, v in cost.items() if k != "co2e_kg")
    assert money == pytest.approx(doc["objective"], abs=1e-6)
    assert cost["carbon"] > 0
    # A price never makes the optimal plan emit more, nor cost less than the free plan.
    assert cost["co2e_kg"] <= free["cost"]["co2e_kg"] + 1e-6
    assert doc["objective"] >= free["objective"] - 1e-6
