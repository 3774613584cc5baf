"""The daemon's batched store paths agree with the one-at-a-time ones they replace.

- `set_shipment_states` (one executemany) leaves every shipment as `set_shipment_state` on each.
- `get_routes` / `get_shipments` with a memo (`DecodedRows`) read the same records as without
  it, decode a changed row afresh, and re-use the unchanged rows' records; so do incidents
  (`list_incidents` with a memo) as people and the engine move them.
- Routes and incidents written as JSON text encoded once (`JSONText`) read back as the values
  written the old way (a model_dump round-tripped through `JSONValue`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from twin.domain.plans import Assignment, Leg
from twin.store.common import DecodedRows
from twin.store.db import session_scope
from twin.store.networks import save_network
from twin.store.routes import get_routes, save_routes
from twin.store.shipments import (
    ShipmentState,
    get_shipment_states,
    get_shipments,
    save_shipments,
    set_shipment_state,
    set_shipment_states,
)
from twin.store.tables.base import JSONText
from twin.store.tables.shipments import ShipmentStatus

T0 = datetime(2024, 1, 3, 6, tzinfo=UTC)
MOVES = (
    ShipmentState("S1", ShipmentStatus.in_transit, "CNYTN", T0),
    ShipmentState("S2", ShipmentStatus.delivered, "NL-VENLO", T0 + timedelta(days=31)),
    ShipmentState("S3", ShipmentStatus.in_transit, None, None),
    ShipmentState("S4", ShipmentStatus.planned, "CN-SZ", T0 - timedelta(hours=1)),
)


@pytest.fixture
def stored(make_network: Any, make_shipment: Any, engine: Engine) -> Engine:
    with session_scope(engine) as session:
        save_network(session, network=make_network())
        save_shipments(
            session,
            network_name="small",
            shipments=[make_shipment(f"S{i}", po=f"PO-{i}") for i in range(1, 7)],
        )
    return engine


def _states(engine: Engine) -> dict[str, ShipmentState]:
    with session_scope(engine) as session:
        return get_shipment_states(session, network_name="small")


def test_moving_many_at_once_equals_moving_each(stored: Engine) -> None:
    before = _states(stored)
    with session_scope(stored) as session:
        assert set_shipment_states(session, network_name="small", states=MOVES) == len(MOVES)
    batched = _states(stored)
    assert {sid: batched[sid] for sid in ("S1", "S2", "S3", "S4")} == {m.shipment: m for m in MOVES}
    assert batched["S5"] == before["S5"] and batched["S6"] == before["S6"]  # untouched
    with session_scope(stored) as session:  # back as it was, then one at a time
        set_shipment_states(
            session, network_name="small", states=[before[m.shipment] for m in MOVES]
        )
    assert _states(stored) == before
    with session_scope(stored) as session:
        for move in MOVES:
            set_shipment_state(
                session,
                network_name="small",
                shipment_id=move.shipment,
                status=move.status,
                at_node=move.at_node,
                at_time=move.at_time,
            )
    assert _states(stored) == batched


def test_moving_none_or_an_unknown_shipment_changes_nothing(stored: Engine) -> None:
    before = _states(stored)
    unknown = ShipmentState("S404", ShipmentStatus.delivered, None, None)
    with session_scope(stored) as session:
        assert set_shipment_states(session, network_name="small", states=[]) == 0
        set_shipment_states(session, network_name="small", states=[unknown])
    assert _states(stored) == before


def _route(shipment: str, units: float, start: datetime) -> tuple[Assignment, ...]:
    legs = (
        Leg(lane="SZ-YTN-ROAD", from_node="CN-SZ", to_node="CNYTN", depart_at=start,
            arrive_at=start + timedelta(hours=12)),
        Leg(lane="YTN-RTM-SUEZ", from_node="CNYTN", to_node="NLRTM",
            depart_at=start + timedelta(days=1), arrive_at=start + timedelta(days=31)),
    )  # fmt: skip
    return (
        Assignment(
            shipment=shipment,
            units=units,
            legs=legs,
            eta=legs[-1].arrive_at,
            cost=64.125 * units,
            late_days=0.0,
        ),
    )


def test_routes_read_through_a_memo_are_the_stored_ones(stored: Engine) -> None:
    routes = {
        "S1": _route("S1", 3, T0),
        "S2": _route("S2", 4.5, T0 + timedelta(days=1)),
        "S3": (),  # planned, nothing routable
    }
    memo: DecodedRows[tuple[Assignment, ...]] = DecodedRows()
    with session_scope(stored) as session:
        save_routes(session, network_name="small", routes=routes, at=T0)
    with session_scope(stored) as session:
        first = get_routes(session, network_name="small", memo=memo)
        plain = get_routes(session, network_name="small")
    assert first == plain == routes
    assert first["S1"][0].legs[0].depart_at.utcoffset() == timedelta(0)
    changed = _route("S1", 7, T0 + timedelta(days=2))
    with session_scope(stored) as session:
        save_routes(session, network_name="small", routes={"S1": changed}, at=T0)
        set_shipment_state(
            session,
            network_name="small",
            shipment_id="S3",
            status=ShipmentStatus.delivered,
            at_node="NL-VENLO",
            at_time=T0,
        )
    active = (ShipmentStatus.planned, ShipmentStatus.in_transit)
    with session_scope(stored) as session:
        second = get_routes(session, network_name="small", status=active, memo=memo)
    assert second == {"S1": changed, "S2": routes["S2"]}  # S3 delivered: not read
    assert second["S2"] is first["S2"]  # unchanged: not decoded again


def test_shipments_read_through_a_memo_are_the_stored_ones(
    stored: Engine, make_shipment: Any
) -> None:
    memo: DecodedRows[Any] = DecodedRows()
    with session_scope(stored) as session:
        first = get_shipments(session, network_name="small", memo=memo)
        plain = get_shipments(session, network_name="small")
    assert first == plain
    assert first[0].extras == {"po": "PO-1"}
    with session_scope(stored) as session:
        save_shipments(
            session,
            network_name="small",
            shipments=[make_shipment("S1", units=99, po="PO-1b")],
        )
    with session_scope(stored) as session:
        second = get_shipments(session, network_name="small", memo=memo)
    assert second[0].units == 99 and second[0].extras == {"po": "PO-1b"}
    assert second[1] is first[1]  # unchanged: not validated again
    assert second[1:] == plain[1:]


def _legs(n: int) -> tuple[Assignment, ...]:
    leg = Leg(
        lane="CNYTN-NLRTM-SEA",
        from_node="CNYTN",
        to_node="NLRTM",
        depart_at=T0 + timedelta(hours=n),
        arrive_at=T0 + timedelta(days=31.37, hours=n),
    )
    return (
        Assignment(shipment=f"S{n}", units=5.123456789 + n, legs=(leg,), eta=leg.arrive_at,
                   cost=1e-7 * n, late_days=0.1 + 0.2),
        Assignment(shipment=f"S{n}", units=2.0, legs=(), eta=T0, cost=0.0, late_days=0.0),
    )  # fmt: skip


def test_routes_written_as_json_text_read_back_as_written_one_by_one(stored: Engine) -> None:
    # save_routes encodes each plan of record once (JSONText); the same routes written the
    # old way (a model_dump per assignment, round-tripped by JSONValue) read back equal.
    routes = {f"S{n}": _legs(n) for n in range(1, 7)}
    with session_scope(stored) as session:
        save_routes(session, network_name="small", routes=routes, at=T0)
    with session_scope(stored) as session:
        read = get_routes(session, network_name="small")
    assert read == routes
    from twin.store.routes import ROUTES
    from twin.store.tables.base import JSONValue

    with session_scope(stored) as session:
        raw = dict(session.execute(sa.select(ROUTES.c.shipment, ROUTES.c.assignments)).all())
    dumped = {sid: [a.model_dump(mode="json") for a in r] for sid, r in routes.items()}
    assert raw == dumped
    # An engine without make_engine's serializer gets the value, not a JSON string.
    text = JSONText('[{"a": 1.5}]')
    assert JSONValue().process_bind_param(text, stored.dialect) is text
    foreign = sa.create_engine("sqlite://")
    assert JSONValue().process_bind_param(text, foreign.dialect) == [{"a": 1.5}]


def test_an_incident_written_as_json_text_reads_back_equal(stored: Engine) -> None:
    from twin.domain.alerts import Alert
    from twin.domain.incidents import Incident, PlanDiff
    from twin.store.incidents import get_incident, save_incident

    alert = Alert(
        id="a1", target="CNYTN", dimension="security", severity="critical",
        score=0.9, peak=0.9, opened_at=T0, updated_at=T0,
    )  # fmt: skip
    incident = Incident(
        id="i1", alert_id="a1", playbook_id="p", alert=alert, why="w", actions=(),
        diff=PlanDiff(changes=(), status="optimal"), approval="auto",
        old_routes=_legs(1) + _legs(2), new_routes=_legs(3), created_at=T0, updated_at=T0,
    )  # fmt: skip
    with session_scope(stored) as session:
        save_incident(session, incident=incident)
    with session_scope(stored) as session:
        back = get_incident(session, id="i1")
    assert back.old_routes == incident.old_routes and back.new_routes == incident.new_routes


def test_bulk_inserted_plan_changes_are_stored_as_an_insert_stores_them(engine: Engine) -> None:
    """`bulk_insert` (COPY on PostgreSQL) stores each column as an INSERT binds it."""
    from datetime import timezone

    from twin.domain.alerts import Alert
    from twin.domain.incidents import Incident, PlanDiff, ShipmentChange
    from twin.store.common import bulk_insert
    from twin.store.incidents import CHANGES, _change_row, get_incident, save_incident

    east = timezone(timedelta(hours=8))
    changes = tuple(
        ShipmentChange(
            shipment=f"S{i}",
            units=12.5 + i / 3,
            action="replan",
            old_path=("SZ-YTN-ROAD", "YTN-RTM-SUEZ", 'Zürich ✓ "q"'),
            new_path=() if i % 3 == 0 else ("SZ-YTN-ROAD", "YTN-RTM-CAPE"),
            held=i % 3 == 0,
            old_cost=1000.125 + i,
            new_cost=1400.0000001 * i,
            old_eta=T0 + timedelta(days=30, microseconds=i),
            new_eta=None if i % 2 else (T0 + timedelta(days=40)).astimezone(east),
            eta_delta_days=10.123456,
            late_days_avoided=-0.0 if i == 1 else 3.5,
            no_return_at=(T0 + timedelta(hours=i)).astimezone(east),
            old_co2e_kg=150.25 + i,
            new_co2e_kg=0.0 if i % 3 == 0 else 6235.4 * i,
        )
        for i in range(7)
    )
    alert = Alert(
        id="A1", target="SUEZ", dimension="security", severity="critical", score=0.9,
        peak=0.9, opened_at=T0, updated_at=T0,
    )  # fmt: skip
    incident = Incident(
        id="INC-bulk", alert_id="A1", playbook_id="p", alert=alert, why="w",
        diff=PlanDiff(changes=changes, status="optimal"), created_at=T0, updated_at=T0,
    )  # fmt: skip
    columns = [sa.cast(c, sa.Text) if c.name in ("old_path", "new_path") else c for c in CHANGES.c]

    def stored(session: Any) -> list[Any]:
        query = sa.select(*columns).order_by(CHANGES.c.shipment)
        return [tuple(r) for r in session.execute(query)]

    with session_scope(engine) as session:
        save_incident(session, incident=incident)  # its changes through bulk_insert
        bulked = stored(session)
        session.execute(sa.delete(CHANGES))
        session.execute(sa.insert(CHANGES), [_change_row(incident.id, c) for c in changes])
        inserted = stored(session)
        session.execute(sa.delete(CHANGES))
        bulk_insert(session, CHANGES, [])  # nothing to insert: nothing happens
        assert stored(session) == []
    assert len(bulked) == len(changes) and bulked == inserted
    # Every field of a change is a column, so a stored incident reads back whole (its CO2e
    # figures were once dropped on the way in).
    assert set(ShipmentChange.model_fields) <= {c.name for c in CHANGES.c}
    with session_scope(engine) as session:
        # Another alert's incident: one per alert episode and playbook is kept.
        other = alert.model_copy(update={"id": "A2"})
        save_incident(
            session,
            incident=incident.model_copy(
                update={"id": "INC-back", "alert_id": "A2", "alert": other}
            ),
        )
    with session_scope(engine) as session:
        back = get_incident(session, id="INC-back")
    assert back.diff.changes == changes
    assert back.diff.co2e_delta_kg == pytest.approx(incident.diff.co2e_delta_kg)


def test_incidents_read_through_a_memo_are_the_stored_ones(stored: Engine) -> None:
    from twin.domain.alerts import Alert
    from twin.domain.incidents import Incident, IncidentState, PlanDiff, ShipmentChange
    from twin.playbook.incidents import reproposed, transition
    from twin.store.incidents import list_incidents, save_incident, save_reproposal

    alert = Alert(
        id="a1", target="CNYTN", dimension="security", severity="critical",
        score=0.9, peak=0.9, opened_at=T0, updated_at=T0,
    )  # fmt: skip
    changes = tuple(
        ShipmentChange(
            shipment=f"S{i}",
            units=10.0,
            action="replan",
            old_path=("A",),
            new_path=("B",),
            old_cost=1.0,
            new_cost=2.0,
        )
        for i in range(3)
    )
    incidents = [
        Incident(
            id=f"i{n}",
            alert_id=f"a{n}",
            playbook_id="p",
            alert=alert.model_copy(update={"id": f"a{n}"}),
            why="w",
            actions=(),
            diff=PlanDiff(changes=changes, status="optimal"),
            approval="required",
            old_routes=_legs(1),
            new_routes=_legs(2),
            created_at=T0 + timedelta(minutes=n),
            updated_at=T0 + timedelta(minutes=n),
        )
        for n in (1, 2)
    ]
    with session_scope(stored) as session:
        for incident in incidents:
            save_incident(session, incident=incident)
    memo: DecodedRows[Incident] = DecodedRows()

    def both() -> tuple[list[Incident], list[Incident]]:
        with session_scope(stored) as session:
            return list_incidents(session, memo=memo), list_incidents(session)

    first, truth = both()
    assert first == truth and [i.id for i in first] == ["i2", "i1"]
    again, _ = both()
    assert all(a is b for a, b in zip(again, first, strict=True)), "unchanged: not read again"
    # A person approves one, the engine re-proposes the other: each is read afresh.
    approved, entry = transition(
        first[1], IncidentState.approved, at=T0 + timedelta(hours=1), by="alice"
    )
    fewer = first[0].model_copy(
        update={"diff": PlanDiff(changes=changes[:1], status="feasible"), "why": "again",
                "updated_at": T0 + timedelta(hours=2)}
    )  # fmt: skip
    with session_scope(stored) as session:
        from twin.store.incidents import save_transition

        save_transition(session, incident=approved, entry=entry)
        save_reproposal(session, incident=fewer, entry=reproposed(fewer, at=fewer.updated_at,
                                                                   why="test"))  # fmt: skip
    later, truth = both()
    assert later == truth
    assert later[1].state is IncidentState.approved and later[0].diff.changes == changes[:1]
    assert all(a is not b for a, b in zip(later, first, strict=True))
