"""Stock moves through the daemon's own passes: the bundled `stock-out-rebalance` playbook
proposes a transfer for a person to approve; applied, the transfer is a stored shipment with
its route and the incident keeps its moves; rolled back before the truck leaves, it is gone.

The world of test_stock_daemon (NL-A: 20 MUG, short from Dec 5 until S1 lands 10 days late
through a closed Suez: 10 days, 100 units, 500 margin within the lead time) with a truck
NL-B -> NL-A (1 day, 2 per cbm) and NL-B's 600 MUG to draw on.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.stock.test_stock_daemon import _closure, _write
from twin.api.app import create_app
from twin.cli.app import app
from twin.domain.incidents import IncidentState
from twin.domain.users import Role
from twin.engine.service import forget_services, run_once, service_for
from twin.store.db import session_scope
from twin.store.decisions import decide
from twin.store.incidents import list_incidents
from twin.store.routes import get_routes
from twin.store.shipments import get_shipments
from twin.store.users import add_token, add_user

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 12, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
TRUCK = "  - {id: B-A-ROAD, from: NL-B, to: NL-A, mode: road, transit_days: 1, cost_per_unit: 2}\n"


@pytest.fixture
def world(tmp_path: Path) -> Path:
    forget_services()
    config = _write(tmp_path)
    network = tmp_path / "network.yaml"
    network.write_text(network.read_text() + TRUCK, encoding="utf-8")
    shutil.copy(ROOT / "playbooks" / "stock-out-rebalance.yaml", tmp_path / "playbooks")
    yield config
    forget_services()


def test_a_transfer_is_proposed_approved_stored_and_rolled_back(
    world: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = world.parent
    run_once(world, T0, base=base)
    run_once(world, T0 + 53 * HOUR, base=base)
    _closure(base, T0 + 53 * HOUR)
    for hours in (54, 55, 56):
        run_once(world, T0 + hours * HOUR, base=base)
    service = service_for(world, base=base)
    with session_scope(service.db) as session:
        (incident,) = list_incidents(session)
    assert incident.playbook_id == "stock-out-rebalance"
    assert incident.state is IncidentState.proposed
    (move,) = incident.moves  # stored with the incident, read back whole
    # Proposed at 08:00 on Dec 3 (day 0): the truck leaves at 20:00 and lands on day 1, so
    # the 100 units lost on days 2..11 are covered: 1 cbm x 2 = 2 for 500 of margin.
    assert (move.kind, move.source, move.cbm, move.cost, move.margin_saved) == (
        "transfer",
        "NL-B",
        1.0,
        2.0,
        500.0,
    )
    (impact,) = [i for i in incident.stock if i.warehouse == "NL-A"]
    assert (impact.days_short_avoided, impact.margin_saved, impact.added_cost) == (10, 500.0, 2.0)
    # `twin incidents show` gives the moves, in JSON and for people.
    monkeypatch.setenv("TWIN_DATABASE_URL", f"sqlite:///{base / 'twin.db'}")
    runner = CliRunner()
    shown = runner.invoke(app, ["incidents", "show", incident.id, "--json"])
    assert shown.exit_code == 0, shown.output
    (doc,) = json.loads(shown.stdout)["moves"]
    assert (doc["kind"], doc["shipment"], doc["net_saving"]) == ("transfer", move.shipment, 498.0)
    text = runner.invoke(app, ["incidents", "show", incident.id], env={"COLUMNS": "200"})
    assert "stock moves" in text.output and "NL-B" in text.output
    # The console's incident page lists them, and /api/incidents/{id} gives them.
    url = f"sqlite:///{base / 'twin.db'}"
    with session_scope(service.db) as session:
        add_user(session, name="vic", role=Role.viewer, password="vic-vic-vic-vic", at=T0)
        token = add_token(session, name="vic", at=T0)
    client = TestClient(create_app(url, secret_key="test-secret"))
    api = client.get(f"/api/incidents/{incident.id}", headers={"Authorization": f"Bearer {token}"})
    assert [m["kind"] for m in api.json()["moves"]] == ["transfer"]
    login = client.get("/login").text
    csrf = login.split('name="csrf_token" value="')[1].split('"')[0]
    client.post(
        "/login",
        data={"username": "vic", "password": "vic-vic-vic-vic", "csrf_token": csrf, "next": "/"},
    )
    html = client.get(f"/incidents/{incident.id}").text
    assert 'id="stock-moves"' in html and '<tr data-move="transfer">' in html

    with session_scope(service.db) as session:
        decide(
            session,
            ident=incident.id,
            to=IncidentState.approved,
            by="ana",
            comment="",
            at=T0 + 56 * HOUR,
        )
    run_once(world, T0 + 57 * HOUR, base=base)
    with session_scope(service.db) as session:
        stored = {s.id: s for s in get_shipments(session, network_name="stock-daemon")}
        routes = get_routes(session, network_name="stock-daemon")
        (applied,) = list_incidents(session)
    assert applied.state is IncidentState.applied
    assert stored[move.shipment].origin == "NL-B" and stored[move.shipment].destination == "NL-A"
    assert [leg.lane for a in routes[move.shipment] for leg in a.legs] == ["B-A-ROAD"]

    with session_scope(service.db) as session:
        decide(
            session,
            ident=incident.id,
            to=IncidentState.rolled_back,
            by="ana",
            comment="stock found",
            at=T0 + 58 * HOUR,
        )
    run_once(world, T0 + 59 * HOUR, base=base)
    with session_scope(service.db) as session:
        stored = {s.id: s for s in get_shipments(session, network_name="stock-daemon")}
        routes = get_routes(session, network_name="stock-daemon")
    assert move.shipment not in stored and move.shipment not in routes
    assert {"S1", "S2"} <= set(stored)
