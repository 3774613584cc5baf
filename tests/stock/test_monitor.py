"""The stock dimension: hand-counted shortages within the lead time, the score, the chain, the
lead times from the network, an incident's before/after, and the engine alerting on it.

The world: warehouses NL-A (20 units of MUG, 2 days of cover) and NL-B (600 units, 60 days),
each selling 10 MUG a day (a given forecast), each fed by a shipment of 300 MUG sailing
Yantian -> Rotterdam through Suez and arriving on day 1. A closure at Suez delays both.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
import yaml

from twin.domain.alerts import Alert, Exposure
from twin.domain.plans import Assignment, Leg
from twin.domain.records import Network, Shipment
from twin.domain.settings import StockSettings
from twin.domain.signals import Signal
from twin.domain.stock import STOCK_COLUMNS, StockInputs
from twin.engine.engine import Engine, EngineSettings
from twin.feeds.ingest import ingest_signals
from twin.stock.monitor import StockMonitor, replenishment_lead_times, shipment_delays

NOW = datetime(2026, 12, 1, tzinfo=UTC)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)

NETWORK = """
name: stock-mini
nodes:
  - {id: CN-SZ, kind: origin, country: CN}
  - {id: CNYTN, kind: port, country: CN, handling_days: 1}
  - {id: SUEZ, kind: chokepoint}
  - {id: NLRTM, kind: port, country: NL, handling_days: 0.5, clearance_days: 2}
  - {id: NLAMS, kind: airport, country: NL}
  - {id: NL-A, kind: warehouse, country: NL}
  - {id: NL-B, kind: warehouse, country: NL}
  - {id: NL-C, kind: warehouse, country: NL}
lanes:
  - {id: SZ-YTN-ROAD, from: CN-SZ, to: CNYTN, mode: road, transit_days: 1, cost_per_unit: 1}
  - {id: YTN-RTM-SUEZ, from: CNYTN, to: NLRTM, mode: sea, transit_days: 2, cost_per_unit: 5,
     via: [SUEZ]}
  - {id: SZ-AMS-AIR, from: CN-SZ, to: NLAMS, mode: air, transit_days: 1, cost_per_unit: 50}
  - {id: RTM-A-ROAD, from: NLRTM, to: NL-A, mode: road, transit_days: 0.25, cost_per_unit: 1}
  - {id: RTM-B-ROAD, from: NLRTM, to: NL-B, mode: road, transit_days: 0.25, cost_per_unit: 1}
  - {id: AMS-A-ROAD, from: NLAMS, to: NL-A, mode: road, transit_days: 0.25, cost_per_unit: 1}
  - {id: AMS-C-ROAD, from: NLAMS, to: NL-C, mode: road, transit_days: 0.5, cost_per_unit: 1}
"""


def network() -> Network:
    return Network.model_validate(yaml.safe_load(NETWORK))


def inputs() -> StockInputs:
    stock = pd.DataFrame(
        [
            ("NL-A", "MUG", 20.0, 12.0, 5.0, 0.01, None),
            ("NL-B", "MUG", 600.0, 12.0, 5.0, 0.01, None),
        ],
        columns=STOCK_COLUMNS,
    ).astype({"safety_days": float})
    days = pd.date_range("2026-12-01", periods=60)
    forecast = pd.DataFrame(
        [(w, "MUG", d, 10.0) for w in ("NL-A", "NL-B") for d in days],
        columns=["warehouse", "sku", "date", "units"],
    )
    lines = pd.DataFrame({"shipment": ["S1", "S2"], "sku": ["MUG", "MUG"], "units": [300.0, 300]})
    return StockInputs(stock, forecast.iloc[:0], forecast, lines)


def shipments() -> dict[str, Shipment]:
    return {
        sid: Shipment(
            id=sid,
            origin="CN-SZ",
            destination=warehouse,
            units=3.0,
            ready_at=NOW - 2 * DAY,
            due_at=NOW + 5 * DAY,
        )
        for sid, warehouse in (("S1", "NL-A"), ("S2", "NL-B"))
    }


def sea_route(sid: str, warehouse: str) -> tuple[Assignment, ...]:
    """At sea since half a day ago: passes Suez in half a day, at the warehouse at 18:00 on
    day 1 (sellable on day 1)."""
    sea = Leg(
        lane="YTN-RTM-SUEZ",
        from_node="CNYTN",
        to_node="NLRTM",
        depart_at=NOW - DAY / 2,
        arrive_at=NOW + 1.5 * DAY,
    )
    road = Leg(
        lane=f"RTM-{warehouse[-1]}-ROAD",
        from_node="NLRTM",
        to_node=warehouse,
        depart_at=NOW + 1.5 * DAY,
        arrive_at=NOW + 1.75 * DAY,
    )
    return (
        Assignment(
            shipment=sid, units=3, legs=(sea, road), eta=road.arrive_at, cost=0, late_days=0
        ),
    )


def routes() -> dict[str, tuple[Assignment, ...]]:
    return {"S1": sea_route("S1", "NL-A"), "S2": sea_route("S2", "NL-B")}


def suez_delay(sid: str, days: float = 10.0) -> Exposure:
    return Exposure(
        shipment=sid,
        target="SUEZ",
        dimension="security",
        score=1.0,
        units=3,
        at=NOW + DAY / 2,
        lane="YTN-RTM-SUEZ",
        expected_delay_days=days,
    )


def monitor(**settings: object) -> StockMonitor:
    values: dict[str, object] = {"lead_time_days": 30, "margin_at_half": 150, "horizon_days": 40}
    return StockMonitor(inputs(), network(), StockSettings(**(values | settings)))


def test_lead_times_follow_the_fastest_surface_route_with_handling_and_clearance() -> None:
    times = replenishment_lead_times(network())
    # road 1 + Yantian handling 1 + sea 2 + Rotterdam handling 0.5 and clearance 2 + road 0.25;
    # the air route to NL-A (1.25 days) is what an expedite buys, not replenishment.
    assert times["NL-A"] == pytest.approx(6.75)
    assert times["NL-B"] == pytest.approx(6.75)
    # NL-C is reached only by air: 1 + 0.5 (Amsterdam is no customs entry without clearance).
    assert times["NL-C"] == pytest.approx(1.5)


def test_settings_override_lead_times_per_warehouse() -> None:
    made = monitor(lead_time_days=None, lead_times={"NL-B": 12.0})
    assert made.lead_times == {"NL-A": 6.75, "NL-B": 12.0, "NL-C": 1.5}


def test_delays_take_the_worst_dimension_per_target_and_add_over_targets() -> None:
    rows = [
        suez_delay("S1", 10.0),
        suez_delay("S1", 4.0).model_copy(update={"dimension": "capacity"}),
        suez_delay("S1", 2.0).model_copy(update={"target": "NLRTM", "dimension": "customs"}),
    ]
    days, causes = shipment_delays(rows)["S1"]
    assert days == 12.0
    assert causes == (("NLRTM", "customs", 2.0), ("SUEZ", "security", 10.0))


def test_nothing_at_risk_when_the_freight_arrives_as_planned() -> None:
    found = monitor().assess(shipments(), routes(), [], NOW)
    a = found.warehouses["NL-A"]
    # A: 20 on hand serve days 0 and 1; 300 arrive on day 1 and last to day 31, past the
    # 30-day lead time.
    assert a.margin_at_risk == 0 and a.skus_short == 0 and a.median_cover_days == 2
    assert found.scores.set_index("target")["score"].to_dict() == {"NL-A": 0.0, "NL-B": 0.0}


def test_a_closure_breaks_the_short_warehouse_only() -> None:
    found = monitor().assess(shipments(), routes(), [suez_delay("S1"), suez_delay("S2")], NOW)
    a, b = found.warehouses["NL-A"], found.warehouses["NL-B"]
    # A: 300 arrive on day 11 instead of day 1: days 2..10 sell nothing, 9 days x 10 units,
    # x 5 margin = 450; the score is 450 / (450 + 150).
    (mug,) = a.at_risk
    assert (mug.days_short, mug.units_short, mug.margin_at_risk) == (9, 90.0, 450.0)
    assert mug.days_short_without_delays == 0 and mug.stockout_on.isoformat() == "2026-12-03"
    assert a.margin_at_risk == 450.0 and a.margin_at_risk_without_delays == 0.0
    scores = found.scores.set_index("target")["score"]
    assert scores["NL-A"] == pytest.approx(0.75)
    # B: 600 on hand last 60 days whatever the delay.
    assert b.margin_at_risk == 0 and b.at_risk == () and scores["NL-B"] == 0.0
    # The chain: cause -> shipment -> warehouse x SKU -> days short.
    (cause,) = a.causes
    assert (cause.target, cause.dimension, cause.delay_days, cause.shipments) == (
        "SUEZ",
        "security",
        10.0,
        ("S1",),
    )
    (lot,) = mug.inbound
    assert lot.shipment == "S1" and lot.delay_days == 10 and lot.causes == ("SUEZ",)
    assert lot.expected_eta == NOW + 11.75 * DAY
    assert a.chain() == [
        "SUEZ -> S1 (+10 d) -> NL-A x MUG: 9 days short (0 without the delays), 90 units, 450 margin"
    ]


def test_only_shortage_within_the_lead_time_counts() -> None:
    # With a 5-day lead time only days 2, 3 and 4 count: 30 units, 150 margin, score 0.5.
    found = monitor(lead_time_days=5).assess(shipments(), routes(), [suez_delay("S1")], NOW)
    (mug,) = found.warehouses["NL-A"].at_risk
    assert (mug.days_short, mug.units_short, mug.margin_at_risk) == (3, 30.0, 150.0)
    assert found.scores.set_index("target")["score"]["NL-A"] == pytest.approx(0.5)


def test_incident_impact_before_and_after_its_plan() -> None:
    # The incident flies S1's MUG in: at NL-A on day 3 with no risk on the way, so only day 2
    # is short (10 units, 50 margin) instead of days 2..10.
    air = (
        Assignment(
            shipment="S1",
            units=3,
            legs=(
                Leg(
                    lane="AMS-A-ROAD",
                    from_node="NLAMS",
                    to_node="NL-A",
                    depart_at=NOW + 3 * DAY,
                    arrive_at=NOW + 3.25 * DAY,
                ),
            ),
            eta=NOW + 3.25 * DAY,
            cost=0,
            late_days=0,
        ),
    )
    before = routes()
    after = {**before, "S1": air}
    exposures = [suez_delay("S1"), suez_delay("S2")]
    (impact,) = monitor().impact(
        shipments(), before, after, exposures, [suez_delay("S2")], ["S1"], NOW
    )
    assert (impact.warehouse, impact.sku) == ("NL-A", "MUG")
    assert (impact.days_short_before, impact.units_short_before, impact.margin_at_risk_before) == (
        9,
        90.0,
        450.0,
    )
    assert (impact.days_short_after, impact.units_short_after, impact.margin_at_risk_after) == (
        1,
        10.0,
        50.0,
    )


def _closure(at: datetime, level: int = 4) -> list[Signal]:
    return [
        Signal(ts=at, source="t", dimension="security", target="SUEZ", metric=m, value=v)
        for m, v in (("advisory_level", level), ("incidents_7d", 2 * level))
    ]


def test_engine_alerts_the_warehouse_whose_cover_the_closure_breaks() -> None:
    from twin.engine.state import EngineState

    state = EngineState(shipments=shipments(), routes=routes())
    engine = Engine.from_state(network(), [], state, EngineSettings(), stock=monitor())
    assert engine.tick(NOW).events == []  # calm: nothing short
    engine.ingest(ingest_signals(_closure(NOW), engine.network).frame)

    def stock_events(at: datetime) -> dict[tuple[str, str], Alert]:
        report = engine.tick(at)
        assert report.stock is not None
        return {
            (e.alert.target, e.kind): e.alert for e in report.events if e.alert.dimension == "stock"
        }

    # The stock rule's `for`: two passes at or above warn before the episode opens.
    assert stock_events(NOW + HOUR) == {}
    opened = stock_events(NOW + 2 * HOUR)
    assert set(opened) == {("NL-A", "opened")}
    alert = opened[("NL-A", "opened")]
    assert alert.stock is not None and alert.stock.causes[0].target == "SUEZ"
    (mug,) = alert.stock.at_risk
    # A security closure at Suez is expected to cost `delay_days_full.security` days.
    delay = EngineSettings().scoring.delay_days_full["security"]
    assert mug.inbound[0].delay_days == pytest.approx(delay)
    assert mug.days_short == 1 + int(delay) - 2  # arrives on day 1 + delay, sold out from day 2
    # Stock scores are alerted on, but never priced as a transit risk.
    assert "stock" not in set(engine.scores["dimension"])
    # Suez reopens: no delay, nothing short, the score falls below clear_below and it clears.
    engine.ingest(ingest_signals(_closure(NOW + 3 * HOUR, level=0), engine.network).frame)
    cleared = stock_events(NOW + 3 * HOUR)
    assert set(cleared) == {("NL-A", "cleared")} and cleared[("NL-A", "cleared")].score == 0


def test_stock_rule_defaults_and_overrides_are_those_documented() -> None:
    from twin.alerting.rules import AlertRules
    from twin.files.config import alert_rules, parse_config

    rule = AlertRules().for_dimension("stock")
    assert (rule.warn, rule.critical, rule.clear_below, rule.for_passes) == (0.5, 0.8, 0.3, 2)
    # With the default scale the rule warns at 10,000 of margin at risk, critical at 40,000.
    half = StockSettings().margin_at_half
    assert half / (half + half) == rule.warn and 4 * half / (5 * half) == rule.critical
    config = parse_config(
        '[stock]\npath = "stock"\nlead_times = {NL-A = 12}\n'
        "[alerts.dimensions.stock]\nwarn = 0.4\ncritical = 0.7\nclear_below = 0.2\nfor_passes = 3\n",
        environ={},
    )
    assert config.stock.path == "stock" and config.stock.lead_times == {"NL-A": 12.0}
    tuned = alert_rules(config).for_dimension("stock")
    assert (tuned.warn, tuned.critical, tuned.clear_below, tuned.for_passes) == (0.4, 0.7, 0.2, 3)
