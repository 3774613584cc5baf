"""`twin plan --stock`: shipments with SKU lines priced late by the margin their lines would
lose, checked against margins worked by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from twin.cli.app import app
from twin.stock.pricing import FLOOR_PER_CBM_DAY


def _inputs(folder: Path) -> Path:
    """US-ONT1 holds 20 MUG (margin 20, 0.1 cbm) and 10,000 TEA (margin 2, 0.01 cbm), both
    forecast at 5 a day; S1 carries 500 TEA (5 cbm), S2 50 MUG (5 cbm), both due on day 25."""
    folder.mkdir()
    pd.DataFrame(
        [
            ["US-ONT1", "MUG", 20, 36.5, 20, 0.1, ""],
            ["US-ONT1", "TEA", 10_000, 36.5, 2, 0.01, ""],
        ],
        columns=[
            "warehouse",
            "sku",
            "on_hand",
            "unit_value",
            "unit_margin",
            "cbm_per_unit",
            "safety_days",
        ],
    ).to_csv(folder / "stock.csv", index=False)
    days = pd.date_range("2026-12-01", periods=120).strftime("%Y-%m-%d")
    pd.DataFrame(
        [["US-ONT1", sku, day, 5] for sku in ("MUG", "TEA") for day in days],
        columns=["warehouse", "sku", "date", "units"],
    ).to_csv(folder / "forecast.csv", index=False)
    pd.DataFrame(
        [["S1", "TEA", 500], ["S2", "MUG", 50]], columns=["shipment", "sku", "units"]
    ).to_csv(folder / "shipment_lines.csv", index=False)
    shipments = folder / "shipments.csv"
    pd.DataFrame(
        [
            [
                sid,
                "CN-SHENZHEN-ORIGIN",
                "US-ONT1",
                5,
                "2026-12-01T00:00:00Z",
                "2026-12-26T00:00:00Z",
            ]
            for sid in ("S1", "S2")
        ],
        columns=["id", "origin", "destination", "units", "ready_at", "due_at"],
    ).to_csv(shipments, index=False)
    return shipments


def test_plan_prices_late_freight_by_the_shelf_it_feeds(tmp_path: Path) -> None:
    folder = tmp_path / "stock"
    shipments = _inputs(folder)
    result = CliRunner().invoke(
        app,
        [
            "plan",
            "--network",
            "demo",
            "--shipments",
            str(shipments),
            "--stock",
            str(folder),
            "--at",
            "2026-12-01T00:00:00Z",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    prices = {p["shipment"]: p for p in doc["stock_prices"]}
    assert {p["was_per_unit_day"] for p in prices.values()} == {4.0}
    # TEA has 2,000 days of cover: a late S1 loses nothing, so its day costs the floor.
    assert prices["S1"]["per_unit_day"] == FLOOR_PER_CBM_DAY
    assert prices["S1"]["units_lost"] == 0
    # MUG runs out after day 3; S2's 50 units sell on days 25..34. d days late (d <= 10)
    # loses 5d units x 20 = 100d and saves the holding of 45 + 40 + ... + (50 - 5d)
    # unit-days at 36.5 x 25% / 365 = 0.025 a unit-day: 100 - 0.025 (50 - 2.5 (d + 1)) a
    # day, highest at the longest probe within ten days, d = 7: 99.25, or 19.85 a cbm (5).
    # Beyond ten days the 1,000 of margin is spread thinner (14 days: 71.03 a day).
    assert prices["S2"]["probe_days"] == 7
    assert prices["S2"]["units_lost"] == pytest.approx(35)
    assert prices["S2"]["margin_lost"] == pytest.approx(700)
    assert prices["S2"]["per_unit_day"] == pytest.approx(99.25 / 5, abs=1e-4)


def test_plan_stock_names_a_bad_stock_row(tmp_path: Path) -> None:
    folder = tmp_path / "stock"
    shipments = _inputs(folder)
    (folder / "shipment_lines.csv").write_text("shipment,sku,units\nS1,NOPE,5\n")
    result = CliRunner().invoke(
        app,
        ["plan", "--network", "demo", "--shipments", str(shipments), "--stock", str(folder)],
    )
    assert result.exit_code == 2
    assert "shipment_lines.csv" in result.output and "NOPE" in result.output
