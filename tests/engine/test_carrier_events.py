"""DCSA Track & Trace ACT events move shipments in the twin, through the daemon's own pass:
the feed is read, the events stored once, the plan of record re-timed and the state moved."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from twin.api.demo import write_demo
from twin.engine.service import forget_services, routes_of, run_once, service_for
from twin.store.db import session_scope
from twin.store.shipments import get_shipment_states
from twin.store.tables import PlanRouteRow, ShipmentEventRow

T0 = datetime(2024, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def arrival(event_id: str, at: datetime, locode: str, reference: str) -> dict[str, object]:
    return {
        "eventID": event_id,
        "eventCreatedDateTime": at.isoformat().replace("+00:00", "Z"),
        "eventType": "TRANSPORT",
        "eventClassifierCode": "ACT",
        "eventDateTime": at.isoformat().replace("+00:00", "Z"),
        "transportEventTypeCode": "ARRI",
        "documentReferences": [
            {"documentReferenceType": "BKG", "documentReferenceValue": reference}
        ],
        "transportCall": {
            "transportCallID": f"CALL-{locode}",
            "UNLocationCode": locode,
            "modeOfTransport": "VESSEL",
        },
    }


def test_a_late_arrival_event_re_times_the_plan_and_moves_the_shipment(tmp_path: Path) -> None:
    forget_services()
    config = write_demo(tmp_path, f"sqlite:///{tmp_path / 'twin.db'}", start=T0)
    run_once(config, T0 + 4 * DAY, base=tmp_path)
    service = service_for(config, base=tmp_path)
    (planned,) = routes_of(service)["S1"]
    sea = next(leg for leg in planned.legs if leg.to_node == "NLRTM")

    late = sea.arrive_at + 3 * DAY
    feed = tmp_path / "feeds" / "tnt.json"
    events = [arrival("E1", late, "NLRTM", "S1"), arrival("E2", late, "NLRTM", "NOT-OURS")]
    feed.write_text(json.dumps({"events": events}), encoding="utf-8")
    run_once(config, late + timedelta(hours=6), base=tmp_path)

    (moved,) = routes_of(service)["S1"]
    assert next(leg for leg in moved.legs if leg.to_node == "NLRTM").arrive_at == late
    assert moved.eta == planned.eta + 3 * DAY
    assert moved.path == planned.path
    with session_scope(service.db) as session:
        state = get_shipment_states(session, network_name=service.network_name)["S1"]
        assert (state.status.value, state.at_node, state.at_time) == ("in_transit", "NLRTM", late)
        assert session.execute(select(func.count()).select_from(ShipmentEventRow)).scalar_one() == 2
        by = session.execute(
            select(PlanRouteRow.updated_by).where(PlanRouteRow.shipment == "S1")
        ).scalar_one()
        assert by == "carrier events"

    # The same events again (the file rewritten) add nothing and move nothing further.
    feed.write_text(json.dumps({"events": list(reversed(events))}), encoding="utf-8")
    run_once(config, late + DAY, base=tmp_path)
    assert routes_of(service)["S1"] == (moved,)
    with session_scope(service.db) as session:
        assert session.execute(select(func.count()).select_from(ShipmentEventRow)).scalar_one() == 2
    forget_services()
