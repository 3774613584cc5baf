"""Forecast and stock position: the hand-counted pair end to end, forecasts on known series."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from twin.cli.app import app
from twin.domain.stock import STOCK_COLUMNS, StockInputs
from twin.stock.forecast import forecast_pairs
from twin.stock.position import stock_position

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
WEEK = np.array([10.0, 9.0, 8.0, 8.0, 7.0, 4.0, 6.0])


def _stock(rows: list[tuple]) -> pd.DataFrame:  # type: ignore[type-arg]
    return pd.DataFrame(rows, columns=STOCK_COLUMNS)


def _demand(rows: list[tuple]) -> pd.DataFrame:  # type: ignore[type-arg]
    frame = pd.DataFrame(rows, columns=["warehouse", "sku", "date", "units"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def test_hand_counted_pair_through_lines_and_etas() -> None:
    # 10 on hand, a given forecast of 3 a day, 6 units arriving on day 2 on shipment S1.
    days = pd.date_range("2026-12-01", periods=10)
    inputs = StockInputs(
        stock=_stock([("US-ONT1", "MUG", 10.0, 12.0, 5.0, 0.01, 4.0)]),
        history=_demand([]),
        forecast=_demand([("US-ONT1", "MUG", d, 3.0) for d in days]),
        lines=pd.DataFrame({"shipment": ["S1", "S2"], "sku": ["MUG", "MUG"], "units": [6.0, 50]}),
    )
    position = stock_position(
        inputs,
        destinations={"S1": "US-ONT1", "S2": "US-ONT1"},
        # S1 sellable on day 2 (Dec 3); S2 has no ETA (unserved), so it adds nothing.
        etas={"S1": datetime(2026, 12, 3, 18, tzinfo=UTC)},
        now=NOW,
        horizon=8,
    )
    row = position.table.iloc[0]
    assert row["inbound_units"] == 6
    assert row["stockout_day"] == 5 and str(row["stockout_date"]) == "2026-12-06"
    assert row["days_short"] == 3 and row["units_lost"] == 8 and row["margin_lost"] == 40
    assert row["cover_days"] == 3 and bool(row["below_safety"])  # 3 days < 4 safety days
    assert row["forecast"] == "given"


def test_inbound_to_a_warehouse_without_stock_adds_the_pair() -> None:
    inputs = StockInputs(
        stock=_stock([("US-ONT1", "MUG", 10.0, 12.0, 5.0, 0.01, np.nan)]),
        history=_demand([]),
        forecast=_demand([]),
        lines=pd.DataFrame({"shipment": ["S1"], "sku": ["MUG"], "units": [6.0]}),
    )
    position = stock_position(
        inputs, destinations={"S1": "US-SEA1"}, etas={"S1": NOW}, now=NOW, horizon=5
    )
    added = position.table.set_index(["warehouse", "sku"]).loc[("US-SEA1", "MUG")]
    assert added["on_hand"] == 0 and added["end_stock"] == 6 and added["unit_margin"] == 5


def test_forecast_follows_level_week_and_shares() -> None:
    days = pd.date_range("2026-08-10", "2026-11-30")  # 16 weeks, Monday to Monday
    rows = []
    for d in days:
        total = 10 * WEEK[d.day_of_week]
        rows += [("US-ONT1", "A", d, 0.7 * total), ("US-ONT1", "B", d, 0.3 * total)]
    pairs = pd.MultiIndex.from_tuples([("US-ONT1", "A"), ("US-ONT1", "B")])
    ahead, accuracy = forecast_pairs(
        _demand(rows), pairs, days[-1].date() + pd.Timedelta(days=1), 14
    )
    expected = 10 * np.tile(WEEK, 2)  # from Tuesday Dec 1
    expected = np.roll(expected, -1)
    assert np.allclose(ahead.sum(axis=0), expected, rtol=0.05)
    assert np.allclose(ahead[0] / ahead.sum(axis=0), 0.7)
    assert accuracy is not None and accuracy.wape < 0.05 and accuracy.naive_wape < 0.01


def test_forecast_beats_seasonal_naive_on_noisy_sales() -> None:
    rng = np.random.default_rng(5)
    days = pd.date_range("2026-05-01", "2026-11-30")
    rows = []
    for sku, rate in (("A", 6.0), ("B", 2.0), ("C", 0.5)):
        for d in days:
            rows.append(("DE-DUI1", sku, d, float(rng.poisson(rate * WEEK[d.day_of_week] / 7.4))))
    pairs = pd.MultiIndex.from_tuples([("DE-DUI1", s) for s in "ABC"])
    _, accuracy = forecast_pairs(_demand(rows), pairs, days[-1].date(), 7, holdout_days=28)
    assert accuracy is not None and accuracy.pairs == 3
    # Averaging beats repeating last week's noise.
    assert accuracy.wape < accuracy.naive_wape and accuracy.mase < 1.0


def test_twin_stock_json_and_output_file(tmp_path: Path) -> None:
    runner = CliRunner()
    folder = tmp_path / "demo"
    made = runner.invoke(
        app,
        [
            "stock",
            "generate",
            "--skus",
            "40",
            "--days",
            "70",
            "--end",
            "2026-12-01",
            "--shipment-days",
            "10",
            "--per-day",
            "5",
            "-o",
            str(folder),
        ],
    )
    assert made.exit_code == 0, made.output
    shipments = str(folder / "shipments.csv")
    valid = runner.invoke(app, ["stock", "validate", str(folder), "--shipments", shipments])
    assert valid.exit_code == 0, valid.output
    out = tmp_path / "pairs.parquet"
    result = runner.invoke(
        app,
        ["stock", "--stock", str(folder), "--shipments", shipments, "--json", "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["now"].startswith("2026-12-01") and doc["etas"] == "due_at"
    assert doc["forecast_accuracy"]["holdout_days"] == 28
    table = pd.read_parquet(out)
    assert len(table) == len(doc["pairs"]) and len(table) >= len(pd.read_csv(folder / "stock.csv"))
    by_wh = {w["warehouse"]: w for w in doc["warehouses"]}
    sums = table.groupby("warehouse")["units_lost"].sum()
    assert all(abs(by_wh[w]["units_lost"] - sums[w]) < 0.01 for w in sums.index)
    text = runner.invoke(app, ["stock", "--stock", str(folder), "--shipments", shipments])
    assert text.exit_code == 0 and "projected stock-outs" in text.output


def test_expected_etas_add_lane_delays_and_wait_for_the_last_part() -> None:
    from twin.stock.etas import expected_etas

    eta = datetime(2026, 12, 10, tzinfo=UTC)
    parts = [
        ("S1", eta, ("SEA-1", "ROAD-1")),
        ("S2", eta, ("SEA-2",)),  # split: a sea part and an earlier air part
        ("S2", eta - pd.Timedelta(days=8), ("AIR-1",)),
    ]
    etas = expected_etas(parts, {"SEA-1": 3.5, "ROAD-1": 0.5, "AIR-1": 10.0})
    assert etas["S1"] == eta + pd.Timedelta(days=4)
    assert etas["S2"] == eta + pd.Timedelta(days=2)  # the air part, 8 early + 10 late
    assert expected_etas(parts)["S2"] == eta


def test_twin_stock_takes_the_plan_of_record(tmp_path: Path) -> None:
    runner = CliRunner()
    folder = tmp_path / "demo"
    args = ["--skus", "20", "--days", "40", "--end", "2026-12-01", "--shipment-days", "2"]
    made = runner.invoke(app, ["stock", "generate", *args, "--per-day", "3", "-o", str(folder)])
    assert made.exit_code == 0, made.output
    shipments = str(folder / "shipments.csv")
    planned = runner.invoke(app, ["plan", "--network", "demo", "--shipments", shipments, "--json"])
    assert planned.exit_code == 0, planned.output
    plan = tmp_path / "plan.json"
    plan.write_text(planned.stdout)
    common = ["stock", "--stock", str(folder), "--shipments", shipments, "--json"]
    from_file = runner.invoke(app, [*common, "--plan", str(plan), "--holdout", "0"])
    solved = runner.invoke(app, [*common, "--solve", "--holdout", "0"])
    assert from_file.exit_code == 0 and solved.exit_code == 0, from_file.output + solved.output
    by_file, by_solve = json.loads(from_file.stdout), json.loads(solved.stdout)
    assert by_file["etas"] == "plan" and by_file["pairs"] == by_solve["pairs"]
    assert sum(p["inbound_units"] for p in by_file["pairs"]) > 0
    both = runner.invoke(app, [*common, "--solve", "--plan", str(plan)])
    assert both.exit_code == 2 and "not both" in both.output


def _transfer_inputs() -> StockInputs:
    # US-ONT1 holds 100 MUG, US-SEA1 20; each sells 10 a day (a given forecast).
    days = pd.date_range("2026-12-01", periods=10)
    return StockInputs(
        stock=_stock(
            [
                ("US-ONT1", "MUG", 100.0, 12.0, 5.0, 0.01, np.nan),
                ("US-SEA1", "MUG", 20.0, 12.0, 5.0, 0.01, np.nan),
            ]
        ),
        history=_demand([]),
        forecast=_demand([(w, "MUG", d, 10.0) for w in ("US-ONT1", "US-SEA1") for d in days]),
        lines=pd.DataFrame({"shipment": ["T1"], "sku": ["MUG"], "units": [30.0]}),
    )


def test_a_transfer_leaves_its_source_on_departure_and_lands_at_its_eta() -> None:
    # T1 takes 30 MUG from US-ONT1 on day 1 (Dec 2) to US-SEA1, sellable on day 3 (Dec 4).
    inputs = _transfer_inputs()
    common = {
        "destinations": {"T1": "US-SEA1"},
        "etas": {"T1": datetime(2026, 12, 4, 8, tzinfo=UTC)},
        "now": NOW,
        "horizon": 10,
        "holdout_days": 0,
    }
    counted_twice = stock_position(inputs, **common)  # type: ignore[arg-type]
    moved = stock_position(
        inputs,
        origins={"T1": "US-ONT1"},
        departures={"T1": datetime(2026, 12, 2, 6, tzinfo=UTC)},
        **common,  # type: ignore[arg-type]
    )
    rows = {w: i for i, w in enumerate(moved.table["warehouse"])}
    source, target = rows["US-ONT1"], rows["US-SEA1"]
    # By hand, US-ONT1: 90, then 80 - 30 = 50 on day 1, 40, 30, 20, 10, 0 on day 6; dry on
    # days 7..9 (30 units short), where the 100 would have lasted all 10 days.
    assert moved.projection.stock[source].tolist() == [90, 50, 40, 30, 20, 10, 0, 0, 0, 0]
    drop = counted_twice.projection.stock[source] - moved.projection.stock[source]
    assert drop.tolist() == [0, 30, 30, 30, 30, 30, 30, 20, 10, 0]
    src = moved.table.iloc[source]
    assert (src["outbound_units"], src["cover_days"], src["units_lost"]) == (30, 7, 30)
    assert counted_twice.table.iloc[source]["units_lost"] == 0
    # US-SEA1 gains the same 30 on day 3 either way: 10, 0, short on day 2, 30 - 10 = 20, 10,
    # 0, short on days 6..9.
    assert moved.projection.stock[target].tolist() == [10, 0, 0, 20, 10, 0, 0, 0, 0, 0]
    dst = moved.table.iloc[target]
    assert (dst["inbound_units"], dst["outbound_units"], dst["units_lost"]) == (30, 0, 50)


def test_twin_stock_takes_a_transfers_units_out_of_its_source(tmp_path: Path) -> None:
    folder = tmp_path / "stock"
    folder.mkdir()
    inputs = _transfer_inputs()
    inputs.stock.to_csv(folder / "stock.csv", index=False)
    forecast = inputs.forecast.assign(date=inputs.forecast["date"].dt.strftime("%Y-%m-%d"))
    forecast.to_csv(folder / "forecast.csv", index=False)
    inputs.lines.to_csv(folder / "shipment_lines.csv", index=False)
    shipments = tmp_path / "shipments.csv"
    shipments.write_text(
        "id,origin,destination,units,ready_at,due_at\n"
        "T1,US-ONT1,US-SEA1,0.3,2026-12-02T06:00:00Z,2026-12-04T08:00:00Z\n"
    )
    args = ["stock", "--stock", str(folder), "--shipments", str(shipments), "--json"]
    result = CliRunner().invoke(app, [*args, "--at", "2026-12-01T09:30:00Z", "--horizon", "10"])
    assert result.exit_code == 0, result.output
    pairs = {p["warehouse"]: p for p in json.loads(result.stdout)["pairs"]}
    assert (pairs["US-ONT1"]["outbound_units"], pairs["US-ONT1"]["units_lost"]) == (30, 30)
    assert (pairs["US-SEA1"]["inbound_units"], pairs["US-SEA1"]["units_lost"]) == (30, 50)
