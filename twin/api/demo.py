"""A small, real data set for the console (tests, the load bench, a first look): the daemon's
own chain (`twin.engine.service.run_once`) run over a small Asia–Europe network, with signals
that close Suez dropped into a feed folder, so the avoid-closed-chokepoint playbook proposes
re-routing round the Cape. Everything is stored exactly as the daemon stores it (signals,
scores, alert state, the plan of record, the incident and its audit entry), so later
`run_once` passes on the same twin.toml apply what people approve in the console."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import yaml

from twin.domain.records import Network, Priority, Shipment
from twin.files.shipments import write_shipments
from twin.store.db import make_engine, session_scope
from twin.store.incidents import audit_log, list_incidents, save_incident

NETWORK = """\
name: console-demo
nodes:
  - {id: CN-SZ, kind: origin, name: Shenzhen, country: CN, lat: 22.54, lon: 114.06}
  - {id: CNYTN, kind: port, name: Yantian, country: CN, lat: 22.57, lon: 114.28, capacity: 6000}
  - {id: SZX, kind: airport, name: Shenzhen Bao'an, country: CN, lat: 22.64, lon: 113.81}
  - {id: MALACCA, kind: chokepoint, name: Strait of Malacca, lat: 2.5, lon: 101.2}
  - {id: BAB_EL_MANDEB, kind: chokepoint, name: Bab-el-Mandeb, lat: 12.6, lon: 43.3}
  - {id: SUEZ, kind: chokepoint, name: Suez Canal, lat: 30.58, lon: 32.27}
  - {id: CAPE_OF_GOOD_HOPE, kind: chokepoint, name: Cape of Good Hope, lat: -34.36, lon: 18.47}
  - {id: NLRTM, kind: port, name: Rotterdam, country: NL, lat: 51.95, lon: 4.14, clearance_days: 1}
  - {id: NLAMS, kind: airport, name: Schiphol, country: NL, lat: 52.31, lon: 4.76, clearance_days: 1}
  - {id: NL-VENLO, kind: warehouse, tier: fulfillment, name: Venlo FC, country: NL, lat: 51.37, lon: 6.17, capacity: 1500}
lanes:
  - {id: SZ-YTN-ROAD, from: CN-SZ, to: CNYTN, mode: road, transit_days: 1, cost_per_unit: 4}
  - {id: SZ-SZX-ROAD, from: CN-SZ, to: SZX, mode: road, transit_days: 1, cost_per_unit: 5}
  - {id: YTN-RTM-SUEZ, from: CNYTN, to: NLRTM, mode: sea, transit_days: 30, cost_per_unit: 60, capacity: 3000, via: [MALACCA, BAB_EL_MANDEB, SUEZ]}
  - {id: YTN-RTM-CAPE, from: CNYTN, to: NLRTM, mode: sea, transit_days: 40, cost_per_unit: 75, capacity: 3000, via: [MALACCA, CAPE_OF_GOOD_HOPE]}
  - {id: SZX-AMS-AIR, from: SZX, to: NLAMS, mode: air, transit_days: 2, cost_per_unit: 900, capacity: 50}
  - {id: RTM-VENLO-ROAD, from: NLRTM, to: NL-VENLO, mode: road, transit_days: 1, cost_per_unit: 8}
  - {id: AMS-VENLO-ROAD, from: NLAMS, to: NL-VENLO, mode: road, transit_days: 1, cost_per_unit: 10}
"""
# The library's own playbook, as shipped: an `auto` playbook whose 40% cost guardrail the Cape
# detour trips, so its incident waits for a person.
PLAYBOOK_FILE = Path(__file__).resolve().parents[2] / "playbooks" / "avoid-closed-chokepoint.yaml"


@dataclass(frozen=True)
class Seeded:
    network: Network
    config: Path  # the twin.toml the seed ran on: run_once(config, base=config.parent) continues it
    incident_id: str
    now: datetime


def demo_network() -> Network:
    return Network.model_validate(yaml.safe_load(NETWORK))


def demo_signals(start: datetime) -> list[dict[str, object]]:
    """Suez security worsening over a day: advisories 1 → 3 → 4, incidents 1 → 4 → 8."""
    return [
        {
            "ts": (start + timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "source": "demo-feed",
            "dimension": "security",
            "target": "SUEZ",
            "metric": metric,
            "value": value,
        }
        for h, metric, value in (
            (0, "advisory_level", 1),
            (0, "incidents_7d", 1),
            (12, "advisory_level", 3),
            (12, "incidents_7d", 4),
            (24, "advisory_level", 4),
            (24, "incidents_7d", 8),
        )
    ]


def write_stock(folder: Path, start: datetime) -> None:
    """Stock inputs for the demo's one warehouse (folder `stock/`, docs/stock.md): MUG with 15
    days of cover, LAMP with 600, each SKU's daily forecast given, and SKU lines on S1 and S2
    that add up to their cbm (S1: 2,000 MUG and 200 LAMP = 40 cbm; S2: 2,000 MUG = 20 cbm)."""
    stock = folder / "stock"
    stock.mkdir(exist_ok=True)
    (stock / "stock.csv").write_text(
        "warehouse,sku,on_hand,unit_value,unit_margin,cbm_per_unit,safety_days\n"
        "NL-VENLO,MUG,150,12,4,0.01,14\n"
        "NL-VENLO,LAMP,3000,40,15,0.1,\n",
        encoding="utf-8",
    )
    days = [(start + timedelta(days=d)).date().isoformat() for d in range(150)]
    (stock / "forecast.csv").write_text(
        "warehouse,sku,date,units\n"
        + "".join(
            f"NL-VENLO,{sku},{d},{units}\n"
            for sku, units in (("MUG", 10), ("LAMP", 5))
            for d in days
        ),
        encoding="utf-8",
    )
    (stock / "shipment_lines.csv").write_text(
        "shipment,sku,units\nS1,MUG,2000\nS1,LAMP,200\nS2,MUG,2000\n", encoding="utf-8"
    )


def write_demo(folder: Path, database_url: str, *, start: datetime, stock: bool = False) -> Path:
    """The demo's files in `folder`: network.yaml, playbooks/, shipments.csv, feeds/ and the
    twin.toml naming them and `database_url` (with `stock`, also the stock inputs of
    `write_stock` and their `[stock]` table). Returns the twin.toml's path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "network.yaml").write_text(NETWORK, encoding="utf-8")
    (folder / "playbooks").mkdir(exist_ok=True)
    shutil.copyfile(PLAYBOOK_FILE, folder / "playbooks" / PLAYBOOK_FILE.name)
    (folder / "feeds").mkdir(exist_ok=True)
    day = timedelta(days=1)
    write_shipments(
        [
            Shipment(
                id="S1",
                origin="CN-SZ",
                destination="NL-VENLO",
                units=40,
                ready_at=start + 3 * day,
                due_at=start + 45 * day,
            ),
            Shipment(
                id="S2",
                origin="CN-SZ",
                destination="NL-VENLO",
                units=20,
                priority=Priority.express,
                ready_at=start + 4 * day,
                due_at=start + 40 * day,
            ),
        ],
        folder / "shipments.csv",
    )
    if stock:
        write_stock(folder, start)
    config = folder / "twin.toml"
    config.write_text(
        "\n".join(
            [
                f"database_url = {json.dumps(database_url)}",
                'network = "network.yaml"',
                'playbooks = "playbooks"',
                'shipments = "shipments.csv"',
                "",
                "[[feeds]]",
                'name = "demo-feed"',
                'path = "feeds/*"',
                "",
                *(["[stock]", 'path = "stock"', ""] if stock else []),
            ]
        ),
        encoding="utf-8",
    )
    return config


def drop_feed_file(folder: Path, name: str, rows: list[dict[str, object]]) -> Path:
    """Write a feed file as a producer should: a hidden temp name, then rename."""
    target = folder / "feeds" / name
    tmp = target.with_name(f".{name}.tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    tmp.replace(target)
    return target


def seed_demo(
    database_url: str,
    folder: Path,
    *,
    now: datetime,
    extra_incidents: int = 0,
    stock: bool = False,
) -> Seeded:
    """Run the real chain on the demo: write the files (write_demo), drop the Suez signals in
    the feed folder and run `run_once` every 6 h of the two days before `now` until the Suez
    incident is proposed (waiting for approval: the Cape detour trips its cost guardrail).

    extra_incidents: also store that many copies of the incident under other alert ids (for
    the load bench's incident list; nothing runs passes over those). stock: with the stock
    inputs of `write_stock` monitored."""
    from twin.engine.service import run_once

    start = now - timedelta(days=2)
    config = write_demo(folder, database_url, start=start, stock=stock)
    drop_feed_file(folder, "suez.jsonl", demo_signals(start))
    incident_id = None
    for step in range(9):
        at = start + step * timedelta(hours=6)
        report = run_once(config, now=at, base=folder)
        incident_id = incident_id or next((i.id for i in report.incidents), None)
        if incident_id is not None:
            break
    if incident_id is None:
        raise RuntimeError("the demo signals opened no incident")
    if extra_incidents:
        db = make_engine(database_url)
        try:
            with session_scope(db) as session:
                incident = next(i for i in list_incidents(session) if i.id == incident_id)
                entries = audit_log(session, incident_id=incident_id)
                for k in range(extra_incidents):
                    alert = incident.alert.model_copy(
                        update={"id": f"{incident.alert.id}#bench{k}"}
                    )
                    copy = incident.model_copy(
                        update={
                            "id": f"{incident.id[:20]}-B{k:04d}",
                            "alert_id": alert.id,
                            "alert": alert,
                        }
                    )
                    save_incident(
                        session,
                        incident=copy,
                        audit=[e.model_copy(update={"incident_id": copy.id}) for e in entries],
                    )
        finally:
            db.dispose()
    return Seeded(network=demo_network(), config=config, incident_id=incident_id, now=now)
