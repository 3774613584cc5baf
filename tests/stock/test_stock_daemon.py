"""The stock dimension through the daemon's own passes (`run_once` over a twin.toml with a
`[stock]` table), and what people see of it: `twin alerts list` and the stored position.

Two warehouses are fed through Suez: NL-A holds 2 days of MUG, NL-B 60 days. Both shipments
are at sea when Suez closes; only NL-A's cover breaks, so only NL-A raises a stock alert.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twin.cli.app import app
from twin.engine.service import forget_services, run_once, service_for
from twin.store.alerts import list_alerts
from twin.store.db import session_scope
from twin.store.stock import load_stock_position

T0 = datetime(2026, 12, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)

NETWORK = """\
name: stock-daemon
nodes:
  - {id: CN-SZ, kind: origin, country: CN}
  - {id: CNYTN, kind: port, country: CN}
  - {id: SUEZ, kind: chokepoint}
  - {id: NLRTM, kind: port, country: NL}
  - {id: NL-A, kind: warehouse, country: NL}
  - {id: NL-B, kind: warehouse, country: NL}
lanes:
  - {id: SZ-YTN-ROAD, from: CN-SZ, to: CNYTN, mode: road, transit_days: 2, cost_per_unit: 1}
  - {id: YTN-RTM-SUEZ, from: CNYTN, to: NLRTM, mode: sea, transit_days: 1, cost_per_unit: 5,
     via: [SUEZ]}
  - {id: RTM-A-ROAD, from: NLRTM, to: NL-A, mode: road, transit_days: 0.25, cost_per_unit: 1}
  - {id: RTM-B-ROAD, from: NLRTM, to: NL-B, mode: road, transit_days: 0.25, cost_per_unit: 1}
"""


def _write(folder: Path) -> Path:
    (folder / "network.yaml").write_text(NETWORK, encoding="utf-8")
    (folder / "playbooks").mkdir()
    (folder / "feeds").mkdir()
    (folder / "shipments.csv").write_text(
        "id,origin,destination,units,ready_at,due_at\n"
        "S1,CN-SZ,NL-A,3,2026-12-01T00:00:00Z,2026-12-10T00:00:00Z\n"
        "S2,CN-SZ,NL-B,3,2026-12-01T00:00:00Z,2026-12-10T00:00:00Z\n",
        encoding="utf-8",
    )
    stock = folder / "stock"
    stock.mkdir()
    (stock / "stock.csv").write_text(
        "warehouse,sku,on_hand,unit_value,unit_margin,cbm_per_unit,safety_days\n"
        "NL-A,MUG,20,12,5,0.01,\n"
        "NL-B,MUG,600,12,5,0.01,\n",
        encoding="utf-8",
    )
    days = [(T0 + timedelta(days=d)).date().isoformat() for d in range(90)]
    (stock / "forecast.csv").write_text(
        "warehouse,sku,date,units\n"
        + "".join(f"{w},MUG,{d},10\n" for w in ("NL-A", "NL-B") for d in days),
        encoding="utf-8",
    )
    (stock / "shipment_lines.csv").write_text(
        "shipment,sku,units\nS1,MUG,300\nS2,MUG,300\n", encoding="utf-8"
    )
    config = folder / "twin.toml"
    config.write_text(
        f'database_url = "sqlite:///{folder / "twin.db"}"\n'
        'network = "network.yaml"\nplaybooks = "playbooks"\nshipments = "shipments.csv"\n\n'
        '[[feeds]]\nname = "drop"\npath = "feeds/*"\n\n'
        '[stock]\npath = "stock"\nlead_time_days = 30\nmargin_at_half = 150\n',
        encoding="utf-8",
    )
    return config


def _closure(folder: Path, at: datetime) -> None:
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = [
        {
            "ts": stamp,
            "source": "t",
            "dimension": "security",
            "target": "SUEZ",
            "metric": m,
            "value": v,
        }
        for m, v in (("advisory_level", 4), ("incidents_7d", 8))
    ]
    (folder / "feeds" / "suez.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8"
    )


@pytest.fixture
def world(tmp_path: Path) -> Path:
    forget_services()
    yield _write(tmp_path)
    forget_services()


def test_a_closure_alerts_only_the_warehouse_whose_cover_it_breaks(
    world: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = world.parent
    # Planned at T0 (the planner counts whole days): 2 days by road to Yantian, sailing on
    # Dec 3, through Suez at noon, in Rotterdam on Dec 4, at the warehouses on Dec 5: two
    # days after the passes below (their day 0 is Dec 3), when NL-A's 20 MUG have just sold.
    run_once(world, T0, base=base)
    calm = run_once(world, T0 + 53 * HOUR, base=base)
    assert calm.stock is not None
    assert calm.stock.warehouses["NL-A"].margin_at_risk == 0
    assert calm.stock.warehouses["NL-A"].at_risk == ()
    _closure(base, T0 + 53 * HOUR)
    events = []
    for hours in (54, 55, 56):
        events += run_once(world, T0 + hours * HOUR, base=base).events
    opened = {e.alert.target for e in events if e.alert.dimension == "stock"}
    assert opened == {"NL-A"}

    service = service_for(world, base=base)
    with session_scope(service.db) as session:
        (alert,) = [a for a in list_alerts(session, open_only=True) if a.dimension == "stock"]
        position = load_stock_position(session)
    assert alert.target == "NL-A" and alert.stock is not None
    (mug,) = alert.stock.at_risk
    # MUG sold out from day 2 (20 on hand, 10 a day) until S1 lands 10 days late, on day 12.
    assert mug.stockout_on.isoformat() == "2026-12-05"
    assert mug.days_short == 10 and mug.days_short_without_delays == 0
    assert alert.stock.causes[0].target == "SUEZ" and alert.stock.causes[0].shipments == ("S1",)
    assert position is not None and position.warehouses[0].warehouse == "NL-A"
    assert {w.warehouse: w.margin_at_risk for w in position.warehouses} == {
        "NL-A": 500.0,
        "NL-B": 0.0,
    }

    # `twin alerts list` shows the chain, in JSON and for people.
    monkeypatch.setenv("TWIN_DATABASE_URL", f"sqlite:///{base / 'twin.db'}")
    runner = CliRunner()
    listed = runner.invoke(app, ["alerts", "list", "--open", "--json"])
    assert listed.exit_code == 0, listed.output
    (doc,) = [a for a in json.loads(listed.stdout) if a["dimension"] == "stock"]
    assert doc["stock"]["at_risk"][0]["days_short"] == 10
    assert doc["chain"] == [
        "SUEZ -> S1 (+10 d) -> NL-A x MUG: 10 days short (0 without the delays), 100 units, 500 margin"
    ]
    shown = runner.invoke(app, ["alerts", "list", "--open"], env={"COLUMNS": "200"})
    assert "SUEZ -> S1 (+10 d) -> NL-A x MUG: 10 days short" in shown.output


def test_bad_stock_inputs_stop_the_service_naming_the_row(world: Path) -> None:
    stock = world.parent / "stock" / "stock.csv"
    stock.write_text(stock.read_text().replace("NL-B,MUG,600", "NL-B,MUG,-5"), encoding="utf-8")
    from twin.domain.problems import InputError

    with pytest.raises(InputError) as raised:
        service_for(world, base=world.parent)
    assert "stock.csv" in str(raised.value) and "on_hand" in str(raised.value)


def test_twin_monitor_scores_stock_from_options_and_twin_toml(world: Path) -> None:
    base = world.parent
    stock_csv = base / "stock" / "stock.csv"  # 6 days of cover: the freight lands before it ends
    stock_csv.write_text(stock_csv.read_text().replace("NL-A,MUG,20", "NL-A,MUG,60"), "utf-8")
    _closure(base, T0)
    args = ["monitor", "--network", str(base / "network.yaml"), "--signals", str(base / "feeds")]
    args += ["--shipments", str(base / "shipments.csv"), "--at", "2026-12-01T01:00:00Z"]
    runner = CliRunner()
    result = runner.invoke(app, [*args, "--config", str(world), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    stock_alerts = {a["target"]: a for a in doc["alerts"] if a["dimension"] == "stock"}
    assert set(stock_alerts) == {"NL-A"}
    (a_position,) = [w for w in doc["stock"] if w["warehouse"] == "NL-A"]
    (mug,) = a_position["at_risk"]
    (lot,) = mug["inbound"]
    assert lot["causes"] == ["SUEZ"] and lot["delay_days"] == 10
    # Sold out from day 6 (60 MUG, 10 a day) until the delayed freight lands.
    landed = (datetime.fromisoformat(lot["expected_eta"]) - T0).days
    assert mug["days_short"] == landed - 6 and mug["stockout_on"] == "2026-12-07"
    assert stock_alerts["NL-A"]["chain"][0].startswith("SUEZ -> S1 (+10 d) -> NL-A x MUG")

    # --stock without --shipments is bad input, exit 2 with the reason.
    bare = runner.invoke(
        app, [*args[:5], "--stock", str(base / "stock"), "--at", "2026-12-01T01:00:00Z"]
    )
    assert bare.exit_code == 2 and "--shipments" in bare.output


def test_changed_stock_files_are_read_again_and_a_bad_change_keeps_the_last_good(
    world: Path, caplog: pytest.LogCaptureFixture
) -> None:
    base = world.parent
    stock_csv = base / "stock" / "stock.csv"
    run_once(world, T0, base=base)
    before = run_once(world, T0 + HOUR, base=base).stock
    assert before is not None and before.warehouses["NL-B"].margin_at_risk == 0
    # NL-B down to 5 MUG: half a day of cover, and its freight lands on day 4.
    stock_csv.write_text(stock_csv.read_text().replace("NL-B,MUG,600", "NL-B,MUG,5"), "utf-8")
    after = run_once(world, T0 + 2 * HOUR, base=base).stock
    assert after is not None
    (mug,) = after.warehouses["NL-B"].at_risk
    assert mug.on_hand == 5 and mug.cover_days == 0
    stock_csv.write_text(stock_csv.read_text().replace("NL-B,MUG,5", "NL-B,MUG,-1"), "utf-8")
    kept = run_once(world, T0 + 3 * HOUR, base=base).stock
    assert kept is not None and kept.warehouses["NL-B"].at_risk[0].on_hand == 5
    assert "keeping the last good ones" in caplog.text and "on_hand" in caplog.text
