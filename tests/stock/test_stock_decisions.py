"""Decisions priced by stock in the engine: a re-plan speeds the freight into the warehouse about
to run out and leaves the freight into the one with weeks of cover, and the bundled
`stock-out-expedite` playbook answers a stock alert with what it saves per SKU.

The world (worked by hand below): warehouses NL-A (20 MUG, 2 days of cover) and NL-B (600 MUG,
60 days), each selling 10 MUG a day at 5 margin and 12 value, each fed by a shipment of 300 MUG
(3 cbm) ready at Shenzhen tomorrow and due in 12 days. By sea through Suez it costs 7 per cbm
(road 1 + sea 5 + road 1); by air through Amsterdam 51 (air 50 + road 1). A security closure at
Suez is expected to add 10 days (`delay_days_full.security`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import yaml

from twin.domain.incidents import IncidentState
from twin.domain.records import Network, Shipment
from twin.domain.settings import StockSettings
from twin.domain.signals import Signal
from twin.domain.stock import STOCK_COLUMNS, StockInputs
from twin.engine.engine import Engine, EngineSettings, TickReport
from twin.engine.state import EngineState
from twin.feeds.ingest import ingest_signals
from twin.files.playbooks import load_playbooks
from twin.playbook.incidents import transition
from twin.playbook.schema import Playbook, parse_playbook
from twin.stock.monitor import StockMonitor
from twin.stock.pricing import FLOOR_PER_CBM_DAY, HOLDING_RATE_PER_YEAR

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 1, tzinfo=UTC)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)

NETWORK = """
name: stock-two-warehouses
nodes:
  - {id: CN-SZ, kind: origin, country: CN}
  - {id: CNYTN, kind: port, country: CN, handling_days: 1}
  - {id: SUEZ, kind: chokepoint}
  - {id: NLRTM, kind: port, country: NL, handling_days: 0.5, clearance_days: 2}
  - {id: NLAMS, kind: airport, country: NL}
  - {id: NL-A, kind: warehouse, country: NL}
  - {id: NL-B, kind: warehouse, country: NL}
lanes:
  - {id: SZ-YTN-ROAD, from: CN-SZ, to: CNYTN, mode: road, transit_days: 1, cost_per_unit: 1}
  - {id: YTN-RTM-SUEZ, from: CNYTN, to: NLRTM, mode: sea, transit_days: 2, cost_per_unit: 5,
     via: [SUEZ]}
  - {id: SZ-AMS-AIR, from: CN-SZ, to: NLAMS, mode: air, transit_days: 1, cost_per_unit: 50}
  - {id: RTM-A-ROAD, from: NLRTM, to: NL-A, mode: road, transit_days: 0.25, cost_per_unit: 1}
  - {id: RTM-B-ROAD, from: NLRTM, to: NL-B, mode: road, transit_days: 0.25, cost_per_unit: 1}
  - {id: AMS-A-ROAD, from: NLAMS, to: NL-A, mode: road, transit_days: 0.25, cost_per_unit: 1}
  - {id: AMS-B-ROAD, from: NLAMS, to: NL-B, mode: road, transit_days: 0.25, cost_per_unit: 1}
"""

MARGIN, VALUE, SOLD_PER_DAY, UNITS, CBM = 5.0, 12.0, 10.0, 300.0, 3.0


def network() -> Network:
    return Network.model_validate(yaml.safe_load(NETWORK))


def inputs() -> StockInputs:
    stock = pd.DataFrame(
        [
            ("NL-A", "MUG", 20.0, VALUE, MARGIN, 0.01, None),
            ("NL-B", "MUG", 600.0, VALUE, MARGIN, 0.01, None),
        ],
        columns=STOCK_COLUMNS,
    ).astype({"safety_days": float})
    days = pd.date_range("2026-12-01", periods=60)
    forecast = pd.DataFrame(
        [(w, "MUG", d, SOLD_PER_DAY) for w in ("NL-A", "NL-B") for d in days],
        columns=["warehouse", "sku", "date", "units"],
    )
    lines = pd.DataFrame({"shipment": ["S1", "S2"], "sku": ["MUG", "MUG"], "units": [UNITS] * 2})
    return StockInputs(stock, forecast.iloc[:0], forecast, lines)


def shipments() -> list[Shipment]:
    return [
        Shipment(
            id=sid,
            origin="CN-SZ",
            destination=warehouse,
            units=CBM,
            ready_at=NOW + DAY,
            due_at=NOW + 12 * DAY,
        )
        for sid, warehouse in (("S1", "NL-A"), ("S2", "NL-B"))
    ]


def monitor() -> StockMonitor:
    settings = StockSettings(lead_time_days=30, margin_at_half=150, horizon_days=40)
    return StockMonitor(inputs(), network(), settings)


REPLAN_AT_SUEZ = parse_playbook(
    {
        "id": "suez-replan",
        "description": "re-plan what meets a Suez closure, risk priced",
        "match": {"dimension": "security", "ids": ["SUEZ"]},
        "actions": [{"replan": {"scope": "exposed"}}],
        "approval": "auto",
    },
    "test.yaml",
)


def engine(playbooks: list[Playbook], stock: StockMonitor | None) -> Engine:
    made = Engine.from_state(network(), playbooks, EngineState(), EngineSettings(), stock=stock)
    made.plan_shipments(shipments(), NOW)
    return made


def close_suez(made: Engine, ticks: int = 4) -> list[TickReport]:
    signals = [
        Signal(ts=NOW, source="t", dimension="security", target="SUEZ", metric=m, value=v)
        for m, v in (("advisory_level", 4), ("incidents_7d", 8))
    ]
    made.ingest(ingest_signals(signals, made.network).frame)
    return [made.tick(NOW + k * HOUR) for k in range(ticks)]


def lanes(made: Engine, sid: str) -> list[str]:
    return [leg.lane for a in made.routes[sid] for leg in a.legs]


SEA = {"S1": ["SZ-YTN-ROAD", "YTN-RTM-SUEZ", "RTM-A-ROAD"]}
SEA_B = ["SZ-YTN-ROAD", "YTN-RTM-SUEZ", "RTM-B-ROAD"]


def test_the_calm_plan_sails_both_shipments() -> None:
    made = engine([], monitor())
    assert lanes(made, "S1") == SEA["S1"] and lanes(made, "S2") == SEA_B


def test_rates_are_the_margin_a_late_day_loses_into_the_short_warehouse_only() -> None:
    prices = monitor().prices({s.id: s for s in shipments()}, NOW)
    # NL-A: 20 on hand last days 0-1; S1 due on day 12 lands into an empty shelf, so each day
    # late loses a day of sales: 10 units x 5 = 50 margin, less the holding of the 300 units
    # the later arrival saves. The probe that sets the rate is 28 days (arriving on day 40, the
    # horizon's end): 1,400 margin lost; on time the shelf would have held 290, 280, ... 20
    # over days 12..39 (4,340 unit-days), at 12 x 25% a year.
    held = 28 * (290 + 20) / 2 * VALUE * HOLDING_RATE_PER_YEAR / 365
    a = prices["S1"]
    assert a.probe_days == 28 and a.margin_lost == pytest.approx(28 * SOLD_PER_DAY * MARGIN)
    assert a.holding_saved == pytest.approx(held)
    assert a.per_cbm_day == pytest.approx((1400 - held) / 28 / CBM)  # ~16.2 per cbm-day
    # NL-B: 600 on hand cover 60 days: a late S2 loses no sale within the horizon.
    assert prices["S2"].per_cbm_day == FLOOR_PER_CBM_DAY and prices["S2"].margin_lost == 0


def test_a_replan_flies_the_freight_into_the_short_warehouse_and_sails_the_other() -> None:
    made = engine([REPLAN_AT_SUEZ], monitor())
    reports = close_suez(made)
    (incident,) = {i.id: i for r in reports for i in r.incidents}.values()
    assert incident.state is IncidentState.applied
    # Risk priced per cbm: 10 days x the rate. S1: ~162 > 44 the air route adds; S2: 4 < 44.
    assert lanes(made, "S1") == ["SZ-AMS-AIR", "AMS-A-ROAD"]
    assert lanes(made, "S2") == SEA_B
    assert [c.shipment for c in incident.diff.changes] == ["S1"]
    # The incident's stock impact (worked in the next test): 17 days short -> 1.
    (impact,) = incident.stock
    assert (impact.warehouse, impact.days_short_before, impact.days_short_after) == ("NL-A", 17, 1)


def test_without_stock_pricing_the_same_replan_sails_both() -> None:
    # Priced per cbm-day (4 for standard freight), 10 days of risk cost 40 < 44: no change.
    made = engine([REPLAN_AT_SUEZ], None)
    close_suez(made)
    assert lanes(made, "S1") == SEA["S1"] and lanes(made, "S2") == SEA_B


def test_the_bundled_playbook_expedites_the_chain_of_a_stock_alert_for_approval() -> None:
    bundled = [p for p in load_playbooks(ROOT / "playbooks") if p.id == "stock-out-expedite"]
    made = engine(bundled, monitor())
    reports = close_suez(made)
    # The Suez alerts page unmatched; NL-A's stock alert (S1 late into two days of cover) is
    # answered by the playbook. NL-B (60 days of cover) raises none.
    stock_alerts = {
        e.alert.target for r in reports for e in r.events if e.alert.dimension == "stock"
    }
    assert stock_alerts == {"NL-A"}
    (incident,) = {i.id: i for r in reports for i in r.incidents}.values()
    assert incident.playbook_id == "stock-out-expedite"
    assert incident.state is IncidentState.proposed  # approval required: nothing moves yet
    assert lanes(made, "S1") == SEA["S1"]
    (change,) = incident.diff.changes
    assert change.shipment == "S1" and change.new_path == ("SZ-AMS-AIR", "AMS-A-ROAD")
    # 3 cbm x (air 50 + road 1 - road 1 - sea 5 - road 1) = 132 more.
    assert change.cost_delta == pytest.approx(132.0)
    # Per SKU, by hand (the plan books whole days): by sea S1 lands on day 9, +10 days of
    # Suez risk = day 19, so NL-A (20 MUG, 10 a day) is short on days 2..18: 17 days, 170
    # units, 850 margin. By air it lands on day 3: short on day 2 only (10 units, 50 margin).
    (impact,) = incident.stock
    assert (impact.warehouse, impact.sku) == ("NL-A", "MUG")
    assert (impact.units_short_before, impact.units_short_after) == (170.0, 10.0)
    assert (impact.days_short_before, impact.days_short_after) == (17, 1)
    assert impact.days_short_avoided == 16 and impact.units_short_avoided == 160.0
    assert impact.margin_saved == 800.0 and impact.added_cost == pytest.approx(132.0)
    # Approved (as the store brings a person's decision), it applies: S1 flies, S2 (not in
    # the chain) still sails.
    approved, _ = transition(incident, IncidentState.approved, at=NOW, by="ana", why="fly it")
    state = made.state()
    state.incidents[approved.id] = approved
    made = Engine.from_state(made.network, made.playbooks, state, made.settings, stock=monitor())
    applied = made.tick(NOW + 4 * HOUR)
    assert [i.state for i in applied.incidents] == [IncidentState.applied]
    assert lanes(made, "S1") == ["SZ-AMS-AIR", "AMS-A-ROAD"] and lanes(made, "S2") == SEA_B


def test_playbooks_validate_accepts_the_stock_dimension_and_names_a_typo(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from twin.cli.app import app

    runner = CliRunner()
    ok = runner.invoke(app, ["playbooks", "validate", str(ROOT / "playbooks"), "--json"])
    assert ok.exit_code == 0, ok.output
    assert "stock-out-expedite" in ok.output
    typo = (ROOT / "playbooks" / "stock-out-expedite.yaml").read_text()
    (tmp_path / "typo.yaml").write_text(typo.replace("dimension: stock", "dimension: stok"))
    bad = runner.invoke(app, ["playbooks", "validate", str(tmp_path)])
    assert bad.exit_code == 2
    assert "unknown dimension 'stok' (did you mean 'stock'?)" in " ".join(bad.output.split())
