"""The demo's stock (`twin demo`, twin.stock.demo): sized against the plan's arrivals, so the
first passes open no stock alert, and the Red Sea's delays raise stock alerts only at the
warehouses whose cover they break.

The demo's own book and scenario are run through an engine with the demo's `[stock]` table, a
pass every 8 simulated hours (the demo monitors every 2 s at 14,400x)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from twin.cli.demo_cmd import arrivals, plan_of_record
from twin.domain.settings import StockSettings
from twin.domain.stock import STOCK_COLUMNS, StockInputs
from twin.engine.engine import Engine, EngineSettings, TickReport
from twin.engine.state import EngineState
from twin.feeds.ingest import ingest_signals
from twin.replay.scenario import load_scenario
from twin.shipments.generate import generate_shipments
from twin.stock.demo import (
    DEMO_FORECAST_DAYS,
    DEMO_HORIZON_DAYS,
    DEMO_LEAD_TIME_DAYS,
    DEMO_MARGIN_AT_HALF,
    DemoPosition,
    demo_stock,
    stock_report,
)
from twin.stock.monitor import StockMonitor

ROOT = Path(__file__).resolve().parents[2]
PASS = timedelta(hours=8)


@pytest.fixture(scope="module")
def run() -> tuple[DemoPosition, list[TickReport]]:
    """The demo's first 15 days, as `twin demo` sets them up: each simulated day the stock
    file is reported again (`stock_report`, as the demo's restock thread writes it) and the
    engine takes the new stock monitor, as the daemon does when the file changes."""
    loaded = load_scenario(ROOT / "scenarios" / "red-sea-2024.yaml")
    signals = loaded.scenario.signal_records()
    start = min(s.ts for s in signals) - timedelta(hours=6)
    book = generate_shipments(
        loaded.network, start=start.replace(hour=0, minute=0), days=20, per_day=10,
        seed=loaded.scenario.seed,
    )  # fmt: skip
    sizing = {"start": start, "days": DEMO_FORECAST_DAYS, "seed": loaded.scenario.seed,
              "lead_time_days": DEMO_LEAD_TIME_DAYS}  # fmt: skip
    book = demo_stock(loaded.network, book, **sizing).shipments  # type: ignore[arg-type]
    plan = plan_of_record(loaded.network, book, start)
    demo = demo_stock(loaded.network, book, arrivals=arrivals(plan), **sizing)  # type: ignore[arg-type]
    settings = StockSettings(
        lead_time_days=DEMO_LEAD_TIME_DAYS,
        horizon_days=DEMO_HORIZON_DAYS,
        margin_at_half=DEMO_MARGIN_AT_HALF,
    )

    def monitor(days_elapsed: int) -> StockMonitor:
        # The engine keeps delivered freight as arrived inbound (day 0), so the report adds
        # none: the same units either way.
        stock = stock_report(demo, days_elapsed=days_elapsed, delivered=[])
        inputs = StockInputs(stock, demo.forecast.iloc[:0], demo.forecast, demo.lines)
        return StockMonitor(inputs, loaded.network, settings)

    midnight = start.replace(hour=0, minute=0)
    engine = Engine.from_state(
        loaded.network, [], EngineState(), EngineSettings(), stock=monitor(0)
    )
    engine.plan_shipments(demo.shipments, start)
    assert engine.routes == plan  # the plan of record the demo stores for the daemon
    reports, fed, day = [], 0, 0
    for k in range(45):
        at = start + k * PASS
        if (at - midnight).days != day:
            day = (at - midnight).days
            engine = Engine.from_state(
                loaded.network, [], engine.state(), EngineSettings(), stock=monitor(day)
            )
        new = [s for s in signals[fed:] if s.ts <= at]
        if new:
            engine.ingest(ingest_signals(new, loaded.network).frame)
            fed += len(new)
        reports.append(engine.tick(at))
    return demo, reports


def _opened(report: TickReport, dimension: str) -> list[str]:
    return [
        e.alert.target
        for e in report.events
        if e.alert.dimension == dimension and e.kind == "opened"
    ]


def test_first_passes_open_no_stock_alert_before_the_disruption(run) -> None:  # type: ignore[no-untyped-def]
    _, reports = run
    first = next(i for i, r in enumerate(reports) if _opened(r, "security"))
    assert first > 0
    for report in reports[: first + 1]:
        assert report.stock is not None and _opened(report, "stock") == []
    # The plan as booked loses no sale within any warehouse's lead time, on any day.
    for report in reports:
        assert report.stock is not None
        assert all(p.margin_at_risk_without_delays == 0 for p in report.stock.warehouses.values())


def test_the_closure_raises_stock_alerts_only_where_its_delay_breaks_cover(run) -> None:  # type: ignore[no-untyped-def]
    _, reports = run
    opened = {(r.at, w) for r in reports for w in _opened(r, "stock")}
    # The first warning (6.9 days expected) and the escalation (8.3) stay within the 8.5 days of
    # slack; the closure of 15 December (10 days expected) breaks cover.
    closure = datetime(2023, 12, 15, 12, tzinfo=UTC)
    assert opened and all(at > closure for at, _ in opened)
    last = reports[-1].stock
    assert last is not None
    for _, warehouse in opened:
        position = last.warehouses[warehouse]
        # All of it from the delays, and the chain names the Red Sea.
        assert position.margin_at_risk > 0 and position.margin_at_risk_without_delays == 0
        assert any("BAB_EL_MANDEB" in c.target for c in position.causes)
        assert any(lot.delay_days >= 10 for sku in position.at_risk for lot in sku.inbound)
    # Warehouses whose freight meets no delay raise nothing: the Americas' never.
    fed_by_delays = {w for w, p in last.warehouses.items() if p.causes}
    assert {w for _, w in opened} <= fed_by_delays
    assert not any(w.startswith(("US-", "CA-", "MX-", "BR-")) for _, w in opened)


def test_the_report_adds_deliveries_and_takes_off_what_was_sold() -> None:
    stock = pd.DataFrame(
        [
            ("NL-A", "MUG", 100.0, 12.0, 5.0, 0.01, None),
            ("NL-A", "CUP", 10.0, 8.0, 2.0, 0.01, None),
        ],
        columns=STOCK_COLUMNS,
    )
    days = pd.date_range("2026-12-01", periods=5)
    forecast = pd.DataFrame(
        [("NL-A", sku, d, units) for sku, units in (("MUG", 7.0), ("CUP", 4.0)) for d in days],
        columns=["warehouse", "sku", "date", "units"],
    )
    lines = pd.DataFrame(
        [("S1", "MUG", 50.0), ("S2", "MUG", 30.0)], columns=["shipment", "sku", "units"]
    )
    from twin.domain.records import Shipment

    ships = [
        Shipment(id=sid, origin="CN", destination="NL-A", units=0.5,
                 ready_at=datetime(2026, 12, 1, tzinfo=UTC), due_at=datetime(2026, 12, 9, tzinfo=UTC))
        for sid in ("S1", "S2")
    ]  # fmt: skip
    demo = DemoPosition(stock=stock, forecast=forecast, lines=lines, shipments=ships)
    report = stock_report(demo, days_elapsed=3, delivered=["S1"])
    # MUG: 100 + 50 delivered - 3 x 7 sold = 129; CUP: 10 - 3 x 4 < 0, so 0.
    assert report["on_hand"].tolist() == [129.0, 0.0]
    assert stock_report(demo, days_elapsed=0, delivered=[])["on_hand"].tolist() == [100.0, 10.0]
