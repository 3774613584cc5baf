"""Replays with demand: the world sells day by day, lost sales counted by hand on tiny cases,
stock-priced lateness against hand-worked margins, and the generator's promises measured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.replay.effects import FakeEffect
from tests.replay.test_world import _route
from twin.domain.problems import InputError
from twin.domain.records import Shipment
from twin.domain.stock import STOCK_COLUMNS
from twin.files.networks import load_network
from twin.replay.demand import (
    URGENT_SUFFIX,
    ScenarioStock,
    StockPricer,
    generate_scenario_stock,
    stock_kpis,
)
from twin.replay.scenario import LoadedScenario, StockGenerateSpec, StockSpec, parse_scenario
from twin.replay.world import EffectBook, Outcome, World, outcomes
from twin.stock.pricing import FLOOR_PER_CBM_DAY, LineRequest, PricedLine, price_lateness
from twin.stock.projection import project

T0 = datetime(2024, 1, 1, tzinfo=UTC)
END = T0 + timedelta(days=120)
DAY = timedelta(days=1)
HORIZON = 40


def _one_pair_stock(on_hand: float = 20.0) -> ScenarioStock:
    """One warehouse, one SKU: `on_hand` units, 4 sold a day for 40 days, margin 3, value 10;
    shipment S1 carries 100 units of it."""
    stock = pd.DataFrame(
        [["NL-VENLO", "MUG", on_hand, 10.0, 3.0, 0.1, np.nan]], columns=STOCK_COLUMNS
    )
    lines = pd.DataFrame(
        [["S1", "NL-VENLO", "MUG", 100.0]], columns=["shipment", "warehouse", "sku", "units"]
    )
    demand = np.full((1, HORIZON), 4.0)
    return ScenarioStock(T0, stock, lines, expected=demand, actual=demand)


def _delivered(mini_network_file: Path, effects: list[Any]) -> tuple[list, dict]:
    network, _ = load_network(mini_network_file)
    shipment = Shipment(
        id="S1", origin="CN-SZ", destination="NL-VENLO", units=10, ready_at=T0, due_at=T0 + 35 * DAY
    )
    world = World(network, EffectBook.of(effects, END), seed=1)
    world.dispatch(
        shipment, [_route(network, shipment, ["SZ-YTN-ROAD", "YTN-RTM-SUEZ", "RTM-VENLO-ROAD"])]
    )
    world.advance(END)
    return outcomes(world), {"S1": shipment}


def test_a_late_shipment_loses_exactly_the_sales_of_its_delay(mini_network_file: Path) -> None:
    # On time the freight lands on day 32 (32.5 days: test_world); 20 units on hand last five
    # days, so days 5..31 lose 4 a day = 108 units. Five days' delay on the sea lane lands it
    # on day 37: days 5..36 lose 128, exactly 20 more (5 days x 4).
    stock = _one_pair_stock()
    on_time = stock_kpis(stock, *_delivered(mini_network_file, []))
    delayed = FakeEffect(T0, "YTN-RTM-SUEZ", END, delay_days=5)
    late = stock_kpis(stock, *_delivered(mini_network_file, [delayed]))
    assert on_time["demand_units"] == 160
    assert on_time["lost_units"] == 108
    assert late["lost_units"] == 128
    assert on_time["lost_margin"] == 324 and late["lost_margin"] == 384
    assert on_time["stockout_days"] == 27 and late["stockout_days"] == 32
    assert on_time["fill_rate"] == pytest.approx(52 / 160, abs=1e-4)
    # Stock at each day's end: 16, 12, 8, 4, 0, then 96, 92, ... 68 from day 32 (8 days).
    stock_days = 40 + sum(range(68, 97, 4))
    assert on_time["holding_cost"] == pytest.approx(stock_days * 10 * 0.25 / 365, abs=0.01)
    assert on_time["avg_cover_days"] == pytest.approx(stock_days / HORIZON / 4, abs=0.01)
    # Lateness priced as lost sales: the stock total moves by the margin (and the holding).
    transport = 10 * (4 + 60 + 8)
    assert on_time["stock_total_cost"] == pytest.approx(
        transport + 324 + on_time["holding_cost"], abs=0.01
    )


def test_freight_never_delivered_adds_no_stock(mini_network_file: Path) -> None:
    closed = FakeEffect(T0, "YTN-RTM-SUEZ", END, close=True)
    kpis = stock_kpis(_one_pair_stock(), *_delivered(mini_network_file, [closed]))
    assert kpis["lost_units"] == 160 - 20


def test_ample_cover_prices_a_late_day_at_the_floor() -> None:
    # 200 on hand at 5 a day is 40 days of cover: arriving on day 10 or day 24 loses nothing.
    (price,) = price_lateness(
        [LineRequest("S1", 1.0, 10, (PricedLine(0, 50.0),))],
        on_hand=[200.0],
        demand=[[5.0] * 60],
        inbound=[[0.0] * 60],
        unit_margin=[2.0],
        unit_value=[36.5],
        probes=[14],
    )
    assert price.units_lost == 0
    assert price.per_cbm_day == FLOOR_PER_CBM_DAY


def test_a_warehouse_about_to_run_out_prices_a_late_day_at_the_margin_lost() -> None:
    # 20 on hand at 5 a day run out after day 3. Due on day 10, the 50 units sell on days
    # 10..19; 14 days late (day 24) those ten days' sales are lost: 50 units x margin 2 = 100
    # (days 20..23 are lost either way). On time the 50 units sit on the shelf 45, 40, ... 0
    # at the ends of days 10..19 (225 unit-days) that the late case does not hold:
    # 225 x 36.5 x 25% / 365 = 5.625 saved. Per cbm-day: (100 - 5.625) / 14.
    (price,) = price_lateness(
        [LineRequest("S1", 1.0, 10, (PricedLine(0, 50.0),))],
        on_hand=[20.0],
        demand=[[5.0] * 60],
        inbound=[[0.0] * 60],
        unit_margin=[2.0],
        unit_value=[36.5],
        probes=[14],
    )
    assert price.units_lost == pytest.approx(50)
    assert price.margin_lost == pytest.approx(100)
    assert price.holding_saved == pytest.approx(5.625)
    assert price.per_cbm_day == pytest.approx((100 - 5.625) / 14)


def test_the_rate_charges_every_probed_delay_at_least_its_loss() -> None:
    # The tight pair again, probed at 7 and 14 days. Seven days late (day 17) loses days
    # 10..16: 35 units x 2 = 70, less the 45+40+...+15 = 210 unit-days held on time (5.25):
    # 64.75 / 7 = 9.25 a day, more than the 14-day probe's 6.74, so 9.25 is the rate.
    (price,) = price_lateness(
        [LineRequest("S1", 1.0, 10, (PricedLine(0, 50.0),))],
        on_hand=[20.0],
        demand=[[5.0] * 60],
        inbound=[[0.0] * 60],
        unit_margin=[2.0],
        unit_value=[36.5],
        probes=[7, 14],
    )
    assert price.probe_days == 7
    assert price.per_cbm_day == pytest.approx((70 - 5.25) / 7)
    assert price.line_net_per_day == pytest.approx(((70 - 5.25) / 7,))


def test_other_inbound_freight_that_covers_the_gap_makes_the_delay_free() -> None:
    # The same tight pair, but 100 units of other freight land on day 3: no sale is lost.
    inbound = np.zeros((1, 60))
    inbound[0, 3] = 100.0
    (price,) = price_lateness(
        [LineRequest("S1", 1.0, 10, (PricedLine(0, 50.0),))],
        on_hand=[20.0],
        demand=[[5.0] * 60],
        inbound=inbound,
        unit_margin=[2.0],
        unit_value=[0.0],
        probes=[14],
    )
    assert price.units_lost == 0
    assert price.per_cbm_day == FLOOR_PER_CBM_DAY


def _shipments(count: int = 300) -> list[Shipment]:
    rng = np.random.default_rng(5)
    warehouses = ["US-ONT1", "US-ONT8", "US-PHX1"]
    out = []
    for i in range(count):
        ready = T0 + DAY * int(rng.integers(0, 30))
        out.append(
            Shipment(
                id=f"S{i:04d}",
                origin="CN-SHENZHEN-ORIGIN",
                destination=warehouses[i % 3],
                units=float(rng.uniform(5, 30)),
                ready_at=ready,
                due_at=ready + DAY * int(rng.integers(8, 40)),
            )
        )
    return out


def test_generated_stock_is_seeded_and_on_time_freight_keeps_shelves_stocked() -> None:
    network, _ = load_network("demo")
    shipments = _shipments()
    one = generate_scenario_stock(network, shipments, start=T0, skus=60, seed=3)
    two = generate_scenario_stock(network, shipments, start=T0, skus=60, seed=3)
    pd.testing.assert_frame_equal(one.stock, two.stock)
    pd.testing.assert_frame_equal(one.lines, two.lines)
    assert np.array_equal(one.actual, two.actual)
    assert set(one.stock["warehouse"]) == {"US-ONT1", "US-ONT8", "US-PHX1"}
    assert set(one.lines["shipment"]) == {s.id for s in shipments}
    # Freight landing on its due day against the forecast never runs short (on hand is
    # rounded down to whole units: under one unit a pair).
    due = np.zeros_like(one.expected)
    by_id = {s.id: s for s in shipments}
    for shipment, rows in one.line_rows.items():
        day = min(one.day_of(by_id[shipment].due_at), one.horizon - 1)
        for row, units in rows:
            due[row, day] += units
    calm = project(one.stock["on_hand"], one.expected, due, one.stock["unit_margin"], T0)
    assert calm.units_lost.max() < 1.0
    # ...and the real demand is the forecast's mean (negative-binomial round it).
    assert one.actual.sum() == pytest.approx(one.expected.sum(), rel=0.05)


def test_scenario_stock_entry_is_validated() -> None:
    doc = {
        "name": "x",
        "start": "2024-01-01T00:00:00Z",
        "end": "2024-01-10T00:00:00Z",
        "stock": {"generate": {"skus": 0, "slack_days": [5, 1]}},
    }
    with pytest.raises(InputError) as raised:
        parse_scenario(doc, "x.yaml")
    text = " ".join(str(p) for p in raised.value.problems)
    assert "stock" in text and "skus" in text


def test_replay_with_stock_reports_sales_for_every_run(
    short_scenario: LoadedScenario,
    playbooks: list,
    short_replay: dict[str, Any],
    tmp_path: Path,
) -> None:
    from twin.replay.report import write_report
    from twin.replay.run import replay

    spec = StockSpec(generate=StockGenerateSpec(skus=40, slack_days=(0, 7)))
    loaded = LoadedScenario(
        short_scenario.path,
        short_scenario.scenario.model_copy(update={"stock": spec}),
        short_scenario.network,
    )
    doc = replay(loaded, playbooks)
    runs = ("blind", "news", "engine", "engine_stock", "forewarned", "hindsight")
    for run in runs:
        stock = doc[run]["stock"]
        assert stock["demand_units"] == doc["blind"]["stock"]["demand_units"]
        assert stock["sold_units"] + stock["lost_units"] == pytest.approx(stock["demand_units"])
        assert stock["stock_total_cost"] == pytest.approx(
            doc[run]["transport_cost"]
            + doc[run]["unserved_cost"]
            + stock["lost_margin"]
            + stock["holding_cost"],
            abs=0.05,
        )
    # The stock-aware engine is a policy in the same world: hindsight bounds it too.
    assert doc["engine_stock"]["total_cost"] >= doc["hindsight"]["total_cost"] * (1 - 1e-6)
    assert doc["forewarned"]["total_cost"] >= doc["hindsight"]["total_cost"] * (1 - 1e-6)
    saving = doc["stock_saving"]
    assert saving["engine_stock_vs_engine"] == pytest.approx(
        doc["engine"]["stock"]["stock_total_cost"]
        - doc["engine_stock"]["stock"]["stock_total_cost"],
        abs=0.01,
    )
    assert "stock" not in short_replay["blind"]  # the same scenario without stock data
    # The report shows the sales of all five runs.
    write_report(doc, None, loaded, tmp_path)
    html = (tmp_path / "report.html").read_text()
    table = html[html.index("<h3>Sales and stock</h3>") :]
    assert "<th>engine_stock</th>" in table
    lost = doc["engine_stock"]["stock"]["lost_margin"]
    assert f"{lost:,.0f}" in table
    assert "| engine_stock |" in (tmp_path / "report.md").read_text()


def test_a_shipment_feeding_one_short_shelf_and_one_full_is_booked_in_two(
    mini_network_file: Path,
) -> None:
    # MUG (margin 20): 20 on hand at 5 a day, out after day 3; TEA (margin 2): 10,000 on
    # hand, all the sales it sees, and its 500 units cost holding. S1 (due day 10,
    # 10 cbm) carries 50 MUG (0.1 cbm each: 5 cbm) and 500 TEA (0.01 cbm each: 5 cbm).
    stock = pd.DataFrame(
        [
            ["NL-VENLO", "MUG", 20.0, 36.5, 20.0, 0.1, np.nan],
            ["NL-VENLO", "TEA", 10_000.0, 36.5, 2.0, 0.01, np.nan],
        ],
        columns=STOCK_COLUMNS,
    )
    lines = pd.DataFrame(
        [["S1", "NL-VENLO", "MUG", 50.0], ["S1", "NL-VENLO", "TEA", 500.0]],
        columns=["shipment", "warehouse", "sku", "units"],
    )
    demand = np.full((2, 60), 5.0)
    data = ScenarioStock(T0, stock, lines, expected=demand, actual=demand)
    network, _ = load_network(mini_network_file)
    shipment = Shipment(
        id="S1", origin="CN-SZ", destination="NL-VENLO", units=10, ready_at=T0, due_at=T0 + 10 * DAY
    )
    pricer = StockPricer(data)
    urgent, rest = pricer([shipment], T0, World(network, EffectBook.of((), END), seed=1))
    assert (urgent.id, rest.id) == ("S1" + URGENT_SUFFIX, "S1")
    assert urgent.units == pytest.approx(5.0) and rest.units == pytest.approx(5.0)
    # The urgent part carries the MUG line alone; the rest, TEA, loses nothing when late.
    assert pricer.part_lines[urgent.id] == (pytest.approx(5.0), [(0, 50.0)])
    assert rest.late_penalty_per_unit_day == FLOOR_PER_CBM_DAY
    # MUG's worst probed delay per day, per cbm of the part: the highest of the probes'
    # net losses (checked on its own).
    (alone,) = price_lateness(
        [LineRequest("S1", 5.0, 10, (PricedLine(0, 50.0),))],
        on_hand=[20.0],
        demand=demand[:1],
        inbound=np.zeros((1, 60)),
        unit_margin=[20.0],
        unit_value=[36.5],
    )
    assert urgent.late_penalty_per_unit_day == pytest.approx(alone.per_cbm_day)
    assert urgent.late_penalty_per_unit_day > 4.0
    # Sold from the parts' own lines: the urgent part delivered alone brings MUG only.
    sold = stock_kpis(
        data,
        [Outcome("S1", 5.0, T0 + 10 * DAY, 0.0, 0.0, 0.0, (), part=urgent.id)],
        {"S1": shipment},
        pricer.part_lines,
    )
    # MUG: 300 demanded, 20 + 50 sold: 230 lost (half of each line, as a share of the
    # shipment, would have lost 255); TEA: 300 demanded, all sold.
    assert sold["lost_units"] == pytest.approx(230)


def test_a_scenario_reads_its_stock_from_files(
    short_scenario: LoadedScenario, playbooks: list, tmp_path: Path
) -> None:
    from twin.replay.run import replay, scenario_shipments
    from twin.replay.scenario import load_scenario

    shipments = scenario_shipments(short_scenario)[:6]
    folder = tmp_path / "stock"
    folder.mkdir()
    warehouses = sorted({s.destination for s in shipments})
    pd.DataFrame(
        [[w, "MUG", 30, 10.0, 4.0, 0.01, ""] for w in warehouses], columns=STOCK_COLUMNS
    ).to_csv(folder / "stock.csv", index=False)
    pd.DataFrame(
        [[s.id, "MUG", round(s.units / 0.01)] for s in shipments],
        columns=["shipment", "sku", "units"],
    ).to_csv(folder / "shipment_lines.csv", index=False)
    days = pd.date_range("2023-11-25", "2024-03-31").strftime("%Y-%m-%d")
    pd.DataFrame(
        [[w, "MUG", day, 3] for w in warehouses for day in days],
        columns=["warehouse", "sku", "date", "units"],
    ).to_csv(folder / "demand.csv", index=False)
    text = short_scenario.path.read_text().replace("seed: 11\n", "seed: 11\nstock: stock\n", 1)
    path = tmp_path / "short-closure.yaml"
    path.write_text(text)
    loaded = load_scenario(path)
    assert loaded.stock_path == folder
    doc = replay(loaded, playbooks)
    # Sales start on the scenario's first day (1 Dec 2023) and run to 31 Mar 2024, the last
    # demand row (later than 14 days past the last due day): 122 days x 3 a warehouse.
    assert doc["blind"]["stock"]["days"] == 122
    assert doc["blind"]["stock"]["demand_units"] == 122 * 3 * len(warehouses)
    assert doc["engine_stock"]["stock"]["demand_units"] == doc["blind"]["stock"]["demand_units"]

    (folder / "stock.csv").unlink()
    with pytest.raises(InputError) as raised:
        load_scenario(path)
    assert any(p.field == "stock" or "stock.csv" in str(p) for p in raised.value.problems)


def test_redirect_sends_freight_to_the_shelf_of_the_market_that_needs_it() -> None:
    # US-ONT1 holds 10,000 MUG, US-ONT8 (same market) none; both sell 5 a day. S1's 50 MUG
    # (margin 20) save nothing at ONT1 and 50 x 20 = 1,000 at ONT8, more than any difference
    # in the cheapest route's cost for 0.5 cbm: the redirect sends it to ONT8.
    network, _ = load_network("demo")
    stock = pd.DataFrame(
        [
            ["US-ONT1", "MUG", 10_000.0, 36.5, 20.0, 0.01, np.nan],
            ["US-ONT8", "MUG", 0.0, 36.5, 20.0, 0.01, np.nan],
        ],
        columns=STOCK_COLUMNS,
    )
    lines = pd.DataFrame(
        [["S1", "US-ONT1", "MUG", 50.0]], columns=["shipment", "warehouse", "sku", "units"]
    )
    demand = np.full((2, 60), 5.0)
    data = ScenarioStock(T0, stock, lines, expected=demand, actual=demand)
    shipment = Shipment(
        id="S1",
        origin="CN-SHENZHEN-ORIGIN",
        destination="US-ONT1",
        units=0.5,
        ready_at=T0,
        due_at=T0 + 30 * DAY,
    )
    world = World(network, EffectBook.of((), END), seed=1)
    kept = StockPricer(data, network=network)([shipment], T0, world)
    assert [s.destination for s in kept] == ["US-ONT1"]  # off by default
    pricer = StockPricer(data, network=network, redirect=True)
    (sent,) = pricer([shipment], T0, world)
    assert sent.destination == "US-ONT8" and pricer.redirects == 1
    assert pricer.part_lines["S1"] == (0.5, [(1, 50.0)])
    # At ONT8 the 50 units are all that shelf has: a late day there costs its margin.
    assert sent.late_penalty_per_unit_day > 4.0


def test_replay_without_stock_leaves_out_only_the_stock_parts(
    short_scenario: LoadedScenario, playbooks: list
) -> None:
    """`replay(..., stock=False)` (Monte Carlo's): the five runs' KPIs as with stock data, less
    their sales; no stock-aware engine."""
    from twin.replay.run import replay

    spec = StockSpec(generate=StockGenerateSpec(skus=40, slack_days=(0, 7)))
    loaded = LoadedScenario(
        short_scenario.path,
        short_scenario.scenario.model_copy(update={"stock": spec}),
        short_scenario.network,
    )
    full = replay(loaded, playbooks, diagnostics=False)
    lean = replay(loaded, playbooks, diagnostics=False, stock=False)
    assert "engine_stock" in full and "engine_stock" not in lean
    assert "stock_saving" not in lean and "engine_stock_s" not in lean["timing"]
    for run in ("blind", "news", "engine", "forewarned", "hindsight"):
        assert "stock" in full[run] and "stock" not in lean[run]
        assert lean[run] == {k: v for k, v in full[run].items() if k != "stock"}
