"""The console's stock page and an incident's stock impact, on the demo seeded with stock
inputs (twin.api.demo.write_stock): the daemon's own passes project them, the console shows it.

The numbers are counted by hand: NL-VENLO holds 150 MUG selling 10 a day (cover: days 0-14)
and its lead time is 33 days (road 1 + sea 30 + Rotterdam clearance 1 + road 1); the MUG on
S1 and S2 lands after day 32, so days 15-32 sell nothing: 18 days, 180 units, 4 margin each.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from console_world import PASSWORD, Console, sign_in
from fastapi.testclient import TestClient

from twin.api.demo import seed_demo
from twin.engine.service import forget_services
from twin.store.db import make_engine, session_scope
from twin.store.users import Role, add_token, add_user


@pytest.fixture
def stocked(tmp_path: Path) -> Iterator[Console]:
    url = f"sqlite:///{tmp_path / 'console.db'}"
    now = datetime.now(UTC).replace(microsecond=0)
    seeded = seed_demo(url, tmp_path / "world", now=now, stock=True)
    db = make_engine(url)
    with session_scope(db) as session:
        add_user(session, name="vic", role=Role.viewer, password=PASSWORD, at=now)
        token = add_token(session, name="vic", at=now)
    yield Console(url, db, seeded, {"vic": token})
    db.dispose()
    forget_services()


def test_stock_page_shows_cover_skus_at_risk_and_their_inbound_freight(stocked: Console) -> None:
    client = sign_in(TestClient(stocked.app()), "vic")
    page = client.get("/stock")
    assert page.status_code == 200
    html = page.text
    assert 'href="/stock" class="here"' in html  # in the nav
    assert '<tr data-warehouse="NL-VENLO" class="short">' in html
    assert 'id="w-NL-VENLO"' in html and '<tr data-sku="MUG">' in html
    assert 'data-shipment="S1"' in html and 'data-shipment="S2"' in html
    assert 'data-sku="LAMP"' not in html  # 600 days of cover: not at risk

    doc = client.get("/api/stock", headers={"Authorization": f"Bearer {stocked.tokens['vic']}"})
    assert doc.status_code == 200
    (venlo,) = doc.json()["warehouses"]
    assert venlo["lead_time_days"] == 33
    (mug,) = venlo["at_risk"]
    assert (mug["sku"], mug["cover_days"], mug["days_short"], mug["units_short"]) == (
        "MUG",
        15,
        18,
        180,
    )
    assert mug["margin_at_risk"] == 720 and venlo["margin_at_risk"] == 720
    assert {lot["shipment"] for lot in mug["inbound"]} == {"S1", "S2"}
    # Suez is closed: the MUG on both is expected later than planned, and Suez is the cause.
    assert all(lot["delay_days"] > 0 and lot["causes"] == ["SUEZ"] for lot in mug["inbound"])


def test_incident_shows_its_stock_impact_on_the_page_and_in_json(stocked: Console) -> None:
    client = sign_in(TestClient(stocked.app()), "vic")
    ident = stocked.incident_id
    doc = client.get(
        f"/api/incidents/{ident}", headers={"Authorization": f"Bearer {stocked.tokens['vic']}"}
    ).json()
    by_sku = {(i["warehouse"], i["sku"]): i for i in doc["stock"]}
    assert set(by_sku) == {("NL-VENLO", "MUG"), ("NL-VENLO", "LAMP")}
    mug = by_sku[("NL-VENLO", "MUG")]
    # Round the Cape the MUG still lands after the lead time: the same 18 days short.
    assert (mug["days_short_before"], mug["days_short_after"]) == (18, 18)
    assert (mug["margin_at_risk_before"], mug["margin_at_risk_after"]) == (720, 720)
    assert by_sku[("NL-VENLO", "LAMP")]["units_short_before"] == 0
    # Nothing avoided or saved; the detour's cost is shared among the SKUs by cbm, so the
    # warehouse's added cost is the changed shipments' (every line of S1 and S2 feeds NL-VENLO).
    assert (mug["days_short_avoided"], mug["units_short_avoided"], mug["margin_saved"]) == (0, 0, 0)
    (venlo,) = doc["stock_by_warehouse"]
    assert (venlo["warehouse"], venlo["skus"], venlo["units_short_before"]) == ("NL-VENLO", 2, 180)
    feeding = [c["cost_delta"] for c in doc["changes"] if c["shipment"] in {"S1", "S2"}]
    assert feeding and venlo["added_cost"] == pytest.approx(sum(feeding), abs=0.02)
    assert venlo["margin_saved"] == 0

    html = client.get(f"/incidents/{ident}").text
    assert 'id="stock-impact"' in html
    assert '<tr data-warehouse="NL-VENLO">' in html and "18 → 18" in html


def test_twin_incidents_show_gives_the_stock_impact(
    stocked: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from twin.cli.app import app

    monkeypatch.setenv("TWIN_DATABASE_URL", stocked.url)
    runner = CliRunner()
    shown = runner.invoke(app, ["incidents", "show", stocked.incident_id, "--json"])
    assert shown.exit_code == 0, shown.output
    by_sku = {i["sku"]: i for i in json.loads(shown.stdout)["stock"]}
    assert (by_sku["MUG"]["units_short_before"], by_sku["MUG"]["units_short_after"]) == (180, 180)
    text = runner.invoke(app, ["incidents", "show", stocked.incident_id], env={"COLUMNS": "200"})
    assert "stock impact" in text.output and "18 -> 18" in text.output
