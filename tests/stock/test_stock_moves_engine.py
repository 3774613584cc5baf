"""Stock moves through the engine: a stock alert answered by the moves a playbook offers, the
optimiser's choice on the incident with its impact per SKU, apply and rollback.

The world of test_stock_decisions (worked by hand there): NL-A (20 MUG, 2 days of cover) and
NL-B (600 MUG, 60 days), 10 MUG a day each at 5 margin; S1 (300 MUG, 3 cbm) for NL-A and S2
for NL-B by sea through Suez, which a closure is expected to hold 10 days: S1 lands on day
19, so NL-A is short on days 2..18 (17 days, 170 units, 850 margin). Added here: a truck
NL-B -> NL-A (1 day, 2 per cbm).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from tests.stock.test_stock_decisions import (
    CBM,
    DAY,
    HOUR,
    MARGIN,
    NETWORK,
    NOW,
    SOLD_PER_DAY,
    UNITS,
    VALUE,
    close_suez,
    lanes,
    shipments,
)
from twin.cli.app import app
from twin.domain.incidents import Incident, IncidentState
from twin.domain.records import Network, Shipment
from twin.domain.settings import StockSettings
from twin.domain.stock import STOCK_COLUMNS, StockInputs
from twin.engine.engine import Engine, EngineSettings, TickReport
from twin.engine.state import EngineState
from twin.playbook.runner import rollback
from twin.playbook.schema import Playbook, parse_playbook
from twin.stock.monitor import StockMonitor
from twin.stock.projection import project

ROOT = Path(__file__).resolve().parents[2]
TRUCK = [
    {"id": "B-A-ROAD", "from": "NL-B", "to": "NL-A", "mode": "road", "transit_days": 1,
     "cost_per_unit": 2},
]  # fmt: skip


def network(*, truck: bool = True) -> Network:
    raw = yaml.safe_load(NETWORK)
    if truck:
        raw["lanes"] += TRUCK
    return Network.model_validate(raw)


def inputs(*, b_on_hand: float = 600.0, plates: bool = False) -> StockInputs:
    rows = [
        ("NL-A", "MUG", 20.0, VALUE, MARGIN, 0.01, None),
        ("NL-B", "MUG", b_on_hand, VALUE, MARGIN, 0.01, None),
    ]
    if plates:
        rows.append(("NL-A", "PLATE", 600.0, VALUE, MARGIN, 0.01, None))
    stock = pd.DataFrame(rows, columns=STOCK_COLUMNS).astype({"safety_days": float})
    days = pd.date_range("2026-12-01", periods=60)
    forecast = pd.DataFrame(
        [(w, sku, d, SOLD_PER_DAY) for w, sku, *_ in rows for d in days],
        columns=["warehouse", "sku", "date", "units"],
    )
    lines = [("S1", "MUG", UNITS), ("S2", "MUG", UNITS)]
    if plates:
        lines.append(("S1", "PLATE", 100.0))
    return StockInputs(
        stock,
        forecast.iloc[:0],
        forecast,
        pd.DataFrame(lines, columns=["shipment", "sku", "units"]),
    )


def monitor(net: Network, *, b_on_hand: float = 600.0, plates: bool = False) -> StockMonitor:
    settings = StockSettings(lead_time_days=30, margin_at_half=150, horizon_days=40)
    return StockMonitor(inputs(b_on_hand=b_on_hand, plates=plates), net, settings)


def moves_playbook(*actions: str, rollback_on: str = "never") -> Playbook:
    return parse_playbook(
        {
            "id": "stock-moves",
            "description": "answer a stock alert with the moves the optimiser chooses",
            "match": {"dimension": "stock"},
            "actions": [{name: {}} for name in actions],
            "approval": "auto",
            "rollback": rollback_on,
        },
        "test.yaml",
    )


def engine(
    playbooks: list[Playbook], stock: object, *, truck: bool = True, plates: bool = False
) -> Engine:
    made = Engine.from_state(
        network(truck=truck),
        playbooks,
        EngineState(),
        EngineSettings(),
        stock=stock,  # type: ignore[arg-type]
    )
    book = shipments()
    if plates:  # S1 carries 100 PLATE too: 1 cbm more
        book[0] = book[0].model_copy(update={"units": CBM + 1})
    made.plan_shipments(book, NOW)
    return made


def the_incident(reports: list[TickReport]) -> Incident:
    (incident,) = {i.id: i for r in reports for i in r.incidents}.values()
    return incident


def test_a_sister_with_cover_and_a_truck_lane_is_chosen_over_flying_the_shipment() -> None:
    stock = monitor(network())
    made = engine([moves_playbook("split", "redirect", "transfer", "replenish")], stock)
    reports = close_suez(made)
    incident = made.incidents[the_incident(reports).id]
    assert incident.state is IncidentState.applied  # approval: auto, within guardrails
    (move,) = incident.moves
    # The truck lands on day 1, before the first lost sale (day 2): 170 units cover days
    # 2..18; S1 refills from day 19. 1.7 cbm x 2 = 3.4. Flying S1's MUG (split) would cost
    # 3 x (51 - 7) = 132 for the same 850; the sea replenishment lands too late.
    assert (move.kind, move.source, move.warehouse, move.mode) == (
        "transfer",
        "NL-B",
        "NL-A",
        "road",
    )
    assert [(line.sku, line.units) for line in move.lines] == [("MUG", 170.0)]
    assert (move.cost, move.margin_saved, move.net_saving) == (3.4, 850.0, 846.6)
    impact = {(i.warehouse, i.sku): i for i in incident.stock}
    a, b = impact[("NL-A", "MUG")], impact[("NL-B", "MUG")]
    assert (a.units_short_before, a.units_short_after, a.days_short_avoided) == (170, 0, 17)
    assert (a.margin_saved, a.added_cost) == (850.0, 3.4)
    # NL-B gives 170 of its 600 (and S2 lands on day 19): it still loses nothing.
    assert (b.units_short_before, b.units_short_after, b.added_cost) == (0, 0, 0)
    # Applied: the transfer is a shipment of the twin with its route; S1 still sails.
    (change,) = incident.diff.changes
    assert change.shipment == move.shipment and change.new_path == ("B-A-ROAD",)
    assert made.shipments[move.shipment].origin == "NL-B"
    assert lanes(made, move.shipment) == ["B-A-ROAD"]
    assert lanes(made, "S1")[1] == "YTN-RTM-SUEZ"
    # The monitor counts the transfer's units: NL-A is no longer short under the closure.
    after = made.tick(NOW + 5 * HOUR).stock
    assert after is not None and after.warehouses["NL-A"].units_short == 0


def test_rollback_removes_the_transfer_before_it_leaves() -> None:
    stock = monitor(network())
    made = engine([moves_playbook("transfer", "replenish")], stock)
    incident = made.incidents[the_incident(close_suez(made)).id]
    (move,) = incident.moves
    assert move.shipment in made.shipments
    rolled, _, _ = rollback(incident, made, at=NOW + 5 * HOUR, by="ana")
    assert rolled.state is IncidentState.rolled_back
    assert move.shipment not in made.shipments and move.shipment not in made.routes


def _projected_stock(
    stock: StockMonitor, made: Engine, at: datetime, key: tuple[str, str]
) -> list[float]:
    """The pair's stock day by day as the next moves weigh it (the monitor's situation)."""
    pair = stock.situation(made.shipments, made.routes, [], at, {key[0]}).pairs[key]
    leaving = None if pair.outflow is None else [pair.outflow]
    run = project([pair.on_hand], [pair.demand], [pair.inbound], [1.0], at, outflow=leaving)
    return run.stock[0].tolist()


def test_an_applied_transfer_leaves_its_source_and_a_rollback_puts_it_back() -> None:
    stock = monitor(network())
    made = engine([moves_playbook("transfer", "replenish")], stock)
    at = NOW + 5 * HOUR
    before = _projected_stock(stock, made, at, ("NL-B", "MUG"))
    incident = made.incidents[the_incident(close_suez(made)).id]
    (move,) = incident.moves  # 170 MUG by truck from NL-B, leaving on day 0
    assert (move.kind, move.source, move.lines[0].units) == ("transfer", "NL-B", 170.0)
    after = made.tick(at).stock
    assert after is not None
    # NL-B's 600 MUG (10 sold a day, S2's 300 landing later) never run dry: the transfer
    # takes exactly its 170 off the shelf from day 0 on, every day of the horizon.
    moved = _projected_stock(stock, made, at, ("NL-B", "MUG"))
    assert [b - m for b, m in zip(before, moved)] == pytest.approx([170.0] * len(before))
    assert after.warehouses["NL-B"].outbound_units == 170
    assert after.warehouses["NL-A"].units_short == 0  # ... and lands at NL-A
    rolled, _, _ = rollback(incident, made, at=at, by="ana")
    assert rolled.state is IncidentState.rolled_back
    restored = made.tick(at + HOUR).stock
    assert restored is not None and restored.warehouses["NL-B"].outbound_units == 0
    assert _projected_stock(stock, made, at, ("NL-B", "MUG")) == before


def _stock_events(reports: list[TickReport]) -> list[tuple[str, str]]:
    return [
        (e.alert.target, e.kind) for r in reports for e in r.events if e.alert.dimension == "stock"
    ]


def test_rollback_on_clear_keeps_the_moves_whose_refill_cleared_the_alert() -> None:
    # `rollback: on_clear` on a stock-move playbook: the transfer refills NL-A, so the alert
    # clears on the next pass. Rolling the transfer back then (it has not left yet) would
    # empty the shelf again with the alert cleared: NL-A would lose its 850 unwatched.
    stock = monitor(network())
    made = engine([moves_playbook("transfer", "replenish", rollback_on="on_clear")], stock)
    reports = close_suez(made)
    incident = made.incidents[the_incident(reports).id]
    (move,) = incident.moves
    reports += [made.tick(NOW + k * HOUR) for k in range(4, 8)]
    assert ("NL-A", "cleared") in _stock_events(reports)
    kept = made.incidents[incident.id]
    assert kept.state is IncidentState.applied
    assert move.shipment in made.shipments and move.shipment in made.routes
    last = reports[-1].stock
    assert last is not None and last.warehouses["NL-A"].margin_at_risk == 0


def test_a_restocked_warehouse_clears_its_alert_and_the_waiting_incident_expires() -> None:
    # The stock file says NL-A was restocked (600 MUG) while the moves wait for a person: the
    # alert clears, and the incident expires unapplied (nothing booked).
    waiting = parse_playbook(
        {
            "id": "stock-moves",
            "description": "answer a stock alert with moves, asking first",
            "match": {"dimension": "stock"},
            "actions": [{"transfer": {}}],
            "approval": "required",
            "rollback": "on_clear",
        },
        "test.yaml",
    )
    made = engine([waiting], monitor(network()))
    incident = the_incident(close_suez(made))
    assert incident.state is IncidentState.proposed and incident.moves
    restocked = inputs()
    restocked.stock.loc[restocked.stock["warehouse"] == "NL-A", "on_hand"] = 600.0
    settings = StockSettings(lead_time_days=30, margin_at_half=150, horizon_days=40)
    made = Engine.from_state(
        network(),
        [waiting],
        made.state(),
        EngineSettings(),
        stock=StockMonitor(restocked, network(), settings),
    )
    reports = [made.tick(NOW + k * HOUR) for k in range(4, 8)]
    assert ("NL-A", "cleared") in _stock_events(reports)
    expired = made.incidents[incident.id]
    assert expired.state is IncidentState.expired
    assert incident.moves[0].shipment not in made.shipments


def test_without_sister_stock_the_urgent_lines_fly_apart_and_rollback_restores_them() -> None:
    # No truck, and NL-B has no MUG (it raises its own alert). S1 carries 300 MUG (urgent: a
    # late day of them loses 16.2 a cbm) and 100 PLATE (NL-A holds 60 days of them: not
    # urgent). The playbook offers only the split: S1's MUG lines fly apart from its ready
    # day (1), 1.25 d, landing on day 2 before the first lost sale: the 850 saved for
    # 3 cbm x (51 - 7) = 132.
    stock = monitor(network(truck=False), b_on_hand=0.0, plates=True)
    split_only = moves_playbook("split")
    made = engine([split_only], stock, truck=False, plates=True)
    reports = close_suez(made)
    (incident,) = {
        i.id: made.incidents[i.id] for r in reports for i in r.incidents if i.alert.target == "NL-A"
    }.values()
    (move,) = incident.moves
    assert (move.kind, move.shipment, move.parent) == ("split", "S1~urgent", "S1")
    assert [(line.sku, line.units) for line in move.lines] == [("MUG", 300.0)]
    assert (move.cbm, move.cost, move.margin_saved) == (3.0, 132.0, 850.0)
    assert move.lanes == ("SZ-AMS-AIR", "AMS-A-ROAD")
    # Applied: S1 keeps its PLATE (1 cbm) at sea, S1~urgent flies the MUG.
    assert made.shipments["S1"].units == pytest.approx(1.0)
    assert made.shipments["S1~urgent"].units == pytest.approx(3.0)
    assert lanes(made, "S1~urgent") == ["SZ-AMS-AIR", "AMS-A-ROAD"]
    assert sum(a.units for a in made.routes["S1"]) == pytest.approx(1.0)
    costs = {c.shipment: c.cost_delta for c in incident.diff.changes}
    assert sum(costs.values()) == pytest.approx(132.0)
    rollback(incident, made, at=NOW + 5 * HOUR, by="ana")
    assert made.shipments["S1"].units == pytest.approx(CBM + 1)
    assert "S1~urgent" not in made.shipments
    assert sum(a.units for a in made.routes["S1"]) == pytest.approx(CBM + 1)


def test_playbooks_validate_names_bad_stock_moves(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["playbooks", "validate", str(ROOT / "playbooks"), "--json"])
    assert ok.exit_code == 0, ok.output
    assert "stock-out-rebalance" in ok.output
    text = (ROOT / "playbooks" / "stock-out-rebalance.yaml").read_text()
    (tmp_path / "modes.yaml").write_text(text.replace("modes: [road, rail, air]", "modes: [truck]"))
    bad = runner.invoke(app, ["playbooks", "validate", str(tmp_path)])
    assert bad.exit_code == 2
    out = " ".join(bad.output.split())
    assert "modes.yaml" in out and "actions.2.transfer.modes.0" in out and "truck" in out
    (tmp_path / "modes.yaml").unlink()
    (tmp_path / "dim.yaml").write_text(text.replace("dimension: stock", "dimension: customs"))
    bad = runner.invoke(app, ["playbooks", "validate", str(tmp_path)])
    assert bad.exit_code == 2
    assert "answer stock alerts" in " ".join(bad.output.split())


REDIRECT_NETWORK = """
name: stock-redirect
nodes:
  - {id: CN-SZ, kind: origin, country: CN}
  - {id: CNYTN, kind: port, country: CN, lat: 22.6, lon: 114.3}
  - {id: SUEZ, kind: chokepoint, lat: 30.0, lon: 32.5}
  - {id: NLRTM, kind: port, country: NL, lat: 51.9, lon: 4.1}
  - {id: NLVLI, kind: port, country: NL, lat: 51.4, lon: 3.6}
  - {id: NLAMS, kind: airport, country: NL}
  - {id: NL-A, kind: warehouse, country: NL}
  - {id: NL-B, kind: warehouse, country: NL}
lanes:
  - {id: SZ-YTN-ROAD, from: CN-SZ, to: CNYTN, mode: road, transit_days: 1, cost_per_unit: 1}
  - {id: YTN-RTM-SEA, from: CNYTN, to: NLRTM, mode: sea, transit_days: 20, cost_per_unit: 5,
     via: [SUEZ]}
  - {id: YTN-VLI-SEA, from: CNYTN, to: NLVLI, mode: sea, transit_days: 20, cost_per_unit: 5,
     via: [SUEZ]}
  - {id: SZ-AMS-AIR, from: CN-SZ, to: NLAMS, mode: air, transit_days: 1, cost_per_unit: 200}
  - {id: RTM-A-ROAD, from: NLRTM, to: NL-A, mode: road, transit_days: 0.25, cost_per_unit: 1}
  - {id: VLI-B-ROAD, from: NLVLI, to: NL-B, mode: road, transit_days: 0.25, cost_per_unit: 1}
  - {id: AMS-A-ROAD, from: NLAMS, to: NL-A, mode: road, transit_days: 0.25, cost_per_unit: 1}
  - {id: AMS-B-ROAD, from: NLAMS, to: NL-B, mode: road, transit_days: 0.25, cost_per_unit: 1}
"""


def test_freight_at_sea_for_a_covered_warehouse_is_redirected_to_its_short_sister() -> None:
    # S2 (300 MUG, 3 cbm) sails Yantian -> Rotterdam for NL-A (600 MUG: 60 days of cover),
    # planned into Rotterdam on Dec 12. NL-B holds 20 MUG and nothing is coming: short on days
    # 2..29 (280 units, 1,400). The sister service to Vlissingen from the same departure lands
    # the same day; on by road to NL-B on Dec 12 06:00 (day 11): NL-B is then short on days
    # 2..10 only (90 units), 950 saved; NL-A loses nothing. Cost: 3 cbm x (road 1 + fee 10 -
    # the Rotterdam road 1 no longer taken) = 30. Air from Shenzhen (200 per cbm) lands day 3
    # and saves 1,350 for 2.7 x 201 = 542.7: nets 807.3 < 920. There is no truck A -> B.
    net = Network.model_validate(yaml.safe_load(REDIRECT_NETWORK))
    stock_rows = [("NL-A", "MUG", 600.0, VALUE, MARGIN, 0.01, None)]
    stock_rows.append(("NL-B", "MUG", 20.0, VALUE, MARGIN, 0.01, None))
    stock = pd.DataFrame(stock_rows, columns=STOCK_COLUMNS).astype({"safety_days": float})
    days = pd.date_range("2026-11-20", periods=80)
    forecast = pd.DataFrame(
        [(w, "MUG", d, SOLD_PER_DAY) for w in ("NL-A", "NL-B") for d in days],
        columns=["warehouse", "sku", "date", "units"],
    )
    lines = pd.DataFrame({"shipment": ["S2"], "sku": ["MUG"], "units": [UNITS]})
    settings = StockSettings(lead_time_days=30, margin_at_half=150, horizon_days=40)
    watch = StockMonitor(StockInputs(stock, forecast.iloc[:0], forecast, lines), net, settings)
    playbook = moves_playbook("redirect", "transfer", "replenish")
    made = Engine.from_state(net, [playbook], EngineState(), EngineSettings(), stock=watch)
    s2 = Shipment(
        id="S2", origin="CN-SZ", destination="NL-A", units=CBM, ready_at=NOW - 10 * DAY,
        due_at=NOW + 15 * DAY,
    )  # fmt: skip
    made.plan_shipments([s2], NOW - 10 * DAY)
    assert lanes(made, "S2") == ["SZ-YTN-ROAD", "YTN-RTM-SEA", "RTM-A-ROAD"]
    reports = [made.tick(NOW + k * HOUR) for k in range(4)]
    incident = made.incidents[the_incident(reports).id]
    assert incident.alert.target == "NL-B" and incident.state is IncidentState.applied
    (move,) = incident.moves
    assert (move.kind, move.shipment, move.source, move.warehouse) == (
        "redirect",
        "S2",
        "NLVLI",
        "NL-B",
    )
    assert (move.cost, move.margin_saved, move.arrival_on.isoformat()) == (
        30.0,
        950.0,
        "2026-12-12",
    )
    impact = {i.warehouse: i for i in incident.stock}
    assert (impact["NL-B"].units_short_before, impact["NL-B"].units_short_after) == (280, 90)
    assert impact["NL-B"].days_short_avoided == 19 and impact["NL-B"].added_cost == 30.0
    assert impact["NL-A"].margin_saved == 0
    # Applied: S2 is bound for NL-B by the sister service, kept from its departure on.
    assert made.shipments["S2"].destination == "NL-B"
    assert lanes(made, "S2") == ["SZ-YTN-ROAD", "YTN-VLI-SEA", "VLI-B-ROAD"]
    # The port change was made at sea: past its point of no return, rollback keeps it.
    rollback(incident, made, at=NOW + 5 * HOUR, by="ana")
    assert made.shipments["S2"].destination == "NL-B"


def test_one_truck_carries_every_sku_the_sister_sends_and_the_monitor_counts_both() -> None:
    # NL-A also sells 10 BOWL a day from 20, with none inbound; NL-B holds 600 BOWL. The
    # closure leaves NL-A short of both: the truck from NL-B brings MUG and BOWL together.
    base = inputs()
    bowls = base.stock[base.stock["sku"] == "MUG"].assign(sku="BOWL")
    days = pd.date_range("2026-12-01", periods=60)
    forecast = pd.DataFrame(
        [(w, "BOWL", d, SOLD_PER_DAY) for w in ("NL-A", "NL-B") for d in days],
        columns=["warehouse", "sku", "date", "units"],
    )
    both = StockInputs(
        pd.concat([base.stock, bowls], ignore_index=True),
        base.history,
        pd.concat([base.forecast, forecast], ignore_index=True),
        base.lines,
    )
    settings = StockSettings(lead_time_days=30, margin_at_half=150, horizon_days=40)
    made = engine([moves_playbook("transfer")], StockMonitor(both, network(), settings))
    incident = made.incidents[the_incident(close_suez(made)).id]
    (move,) = incident.moves
    assert (move.kind, move.source, move.mode) == ("transfer", "NL-B", "road")
    assert sorted(line.sku for line in move.lines) == ["BOWL", "MUG"]
    (change,) = incident.diff.changes
    assert change.shipment == move.shipment and "BOWL+1" in move.shipment
    booked = made.shipments[move.shipment]
    assert booked.units == pytest.approx(sum(line.units for line in move.lines) * 0.01)
    after = made.tick(NOW + 5 * HOUR).stock
    assert after is not None and after.warehouses["NL-A"].units_short == 0
    assert after.warehouses["NL-B"].outbound_units == sum(line.units for line in move.lines)
