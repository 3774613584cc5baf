"""A small, real data set for the console (tests, the load bench, a first look): the engine run
on a small Asia–Europe network with signals that close Suez, so the avoid-closed-chokepoint
playbook proposes re-routing round the Cape, stored as the daemon stores it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import yaml
from sqlalchemy.engine import Engine as Database

from twin.domain.records import Network, Shipment
from twin.domain.signals import Signal
from twin.engine.engine import Engine
from twin.feeds.ingest import ingest_signals
from twin.playbook.schema import parse_playbook
from twin.scoring.scorers import to_risk_scores
from twin.store.alerts import save_alerts, save_scores
from twin.store.db import session_scope
from twin.store.incidents import save_incident
from twin.store.networks import save_network
from twin.store.signals import save_signals

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
# The library's playbooks/avoid-closed-chokepoint.yaml: an `auto` playbook whose 40% cost
# guardrail the Cape detour trips, so its incident waits for a person.
PLAYBOOK = {
    "id": "avoid-closed-chokepoint",
    "description": "Re-route sea freight round a closed or unsafe chokepoint.",
    "match": {"dimension": ["security", "weather"], "target_kind": "chokepoint", "severity": "critical"},
    "actions": [
        {"avoid": {"target": "{{ alert.target }}", "until": "clear"}},
        {"replan": {"scope": "exposed", "max_cost_increase_pct": 40}},
        {"notify": {"channel": "oncall", "message": "{{ alert.target }} closed or unsafe: exposed freight re-planned round it"}},
    ],
    "approval": "auto", "cooldown": "12h", "rollback": "on_clear",
}


@dataclass(frozen=True)
class Seeded:
    network: Network
    engine: Engine  # the in-memory engine after the seeding ticks (its plan of record)
    incident_id: str
    now: datetime


def demo_network() -> Network:
    return Network.model_validate(yaml.safe_load(NETWORK))


def seed_demo(database: Database, *, now: datetime, extra_incidents: int = 0) -> Seeded:
    """Store the demo network, its signals, scores, alert episodes and the Suez incident
    (proposed, waiting for approval) as of about `now`; returns the incident's id.

    extra_incidents: also store that many copies of the incident under other alert ids (for
    the load bench's incident list)."""
    network = demo_network()
    engine = Engine(network, [parse_playbook(PLAYBOOK, "avoid-closed-chokepoint.yaml")])
    start = now - timedelta(days=2)
    day = timedelta(days=1)
    ships = [
        Shipment(id="S1", origin="CN-SZ", destination="NL-VENLO", units=40, ready_at=start + 3 * day, due_at=start + 45 * day),
        Shipment(id="S2", origin="CN-SZ", destination="NL-VENLO", units=20, priority="express",
                 ready_at=start + 4 * day, due_at=start + 40 * day),
    ]
    made = engine.plan_shipments(ships, start)
    if made.status.value != "optimal":
        raise RuntimeError(f"demo plan is {made.status.value}: {made.message}")
    signals = [
        Signal(ts=start + timedelta(hours=h), source="demo-feed", dimension="security", target="SUEZ",
               metric=metric, value=value)
        for h, metric, value in ((0, "advisory_level", 1), (0, "incidents_7d", 1), (12, "advisory_level", 3),
                                 (12, "incidents_7d", 4), (24, "advisory_level", 4), (24, "incidents_7d", 8))
    ]
    frame = ingest_signals(signals, network).frame
    incident_id = None
    with session_scope(database) as session:
        save_network(session, network=network)
        save_signals(session, frame=frame, ingested_at=start)
    for step in range(12):
        at = start + step * timedelta(hours=6)
        engine.ingest(frame[(frame["ts"] > at - timedelta(hours=6)) & (frame["ts"] <= at)])
        report = engine.tick(at)
        with session_scope(database) as session:
            if not report.scores.empty:
                save_scores(session, scores=to_risk_scores(report.scores, at))
            save_alerts(session, alerts=[e.alert for e in report.events])
            for incident in report.incidents:
                entries = [a for a in report.audit if a.incident_id == incident.id]
                save_incident(session, incident=incident, audit=entries)
                incident_id = incident_id or incident.id
                for k in range(extra_incidents):
                    alert = incident.alert.model_copy(update={"id": f"{incident.alert.id}#bench{k}"})
                    copy = incident.model_copy(update={"id": f"{incident.id[:20]}-B{k:04d}", "alert_id": alert.id, "alert": alert})
                    save_incident(session, incident=copy,
                                  audit=[e.model_copy(update={"incident_id": copy.id}) for e in entries])
        if incident_id is not None and step >= 8:
            break
    if incident_id is None:
        raise RuntimeError("the demo signals opened no incident")
    return Seeded(network=network, engine=engine, incident_id=incident_id, now=now)
