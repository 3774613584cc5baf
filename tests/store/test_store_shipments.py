"""Shipments in the store: round trips, idempotent loads by id, state kept across reloads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from twin.domain.problems import InputError
from twin.store.common import NotFound
from twin.store.db import session_scope
from twin.store.networks import save_network
from twin.store.shipments import (
    get_shipment_states,
    get_shipments,
    save_shipments,
    set_shipment_state,
)
from twin.store.tables.shipments import ShipmentRow, ShipmentStatus

READY = datetime(2024, 1, 2, 6, tzinfo=UTC)


@pytest.fixture
def stored(make_network: Any, engine: Engine) -> Engine:
    with session_scope(engine) as session:
        save_network(session, network=make_network())
    return engine


def _rows(engine: Engine) -> int:
    with session_scope(engine) as session:
        return int(session.execute(select(func.count()).select_from(ShipmentRow)).scalar_one())


def test_round_trip_is_exact(make_shipment: Any, stored: Engine) -> None:
    shipments = [
        make_shipment(
            "S2",
            priority="critical",
            late_penalty_per_unit_day=80,
            split=False,
            po="PO-7",
            tags=["fragile", 2],
        ),
        make_shipment("S1", origin="CNYTN", units=0.001),
    ]
    with session_scope(stored) as session:
        report = save_shipments(session, network_name="small", shipments=shipments)
    assert report.inserted == {"shipments": 2}
    with session_scope(stored) as session:
        back = get_shipments(session, network_name="small")
    assert back == sorted(shipments, key=lambda s: s.id)
    assert [s.to_row() for s in back] == [s.to_row() for s in sorted(shipments, key=lambda s: s.id)]
    assert back[0].ready_at.tzinfo is not None and back[0].due_at == datetime(
        2024, 2, 9, 16, tzinfo=UTC
    )


def test_same_shipments_again_change_nothing(make_shipment: Any, stored: Engine) -> None:
    shipments = [make_shipment(f"S{i}") for i in range(50)]
    with session_scope(stored) as session:
        save_shipments(session, network_name="small", shipments=shipments)
    with session_scope(stored) as session:
        report = save_shipments(session, network_name="small", shipments=shipments)
    assert not report.changed and report.unchanged == {"shipments": 50}
    assert _rows(stored) == 50


def test_reload_updates_plan_data_and_keeps_the_state(make_shipment: Any, stored: Engine) -> None:
    with session_scope(stored) as session:
        save_shipments(
            session, network_name="small", shipments=[make_shipment("S1"), make_shipment("S2")]
        )
        set_shipment_state(
            session,
            network_name="small",
            shipment_id="S1",
            status=ShipmentStatus.in_transit,
            at_node="CNYTN",
            at_time=READY,
        )
    with session_scope(stored) as session:
        report = save_shipments(
            session,
            network_name="small",
            shipments=[
                make_shipment("S1", units=99),
                make_shipment("S2", origin="CNYTN"),
                make_shipment("S3"),
            ],
        )
    assert (report.inserted, report.updated, report.unchanged) == (
        {"shipments": 1},
        {"shipments": 2},
        {"shipments": 0},
    )
    with session_scope(stored) as session:
        states = get_shipment_states(session, network_name="small")
        assert get_shipments(session, network_name="small", ids=["S1"])[0].units == 99
        in_transit = get_shipments(session, network_name="small", status=ShipmentStatus.in_transit)
    assert states["S1"].status is ShipmentStatus.in_transit and states["S1"].at_node == "CNYTN"
    assert (
        states["S2"].status is ShipmentStatus.planned and states["S2"].at_node == "CNYTN"
    )  # follows its origin
    assert states["S3"].at_node == "CN-SZ" and states["S3"].at_time == READY
    assert [s.id for s in in_transit] == ["S1"]


def test_a_bad_shipment_saves_none_of_the_file(make_shipment: Any, stored: Engine) -> None:
    with pytest.raises(InputError) as raised, session_scope(stored) as session:
        save_shipments(
            session,
            network_name="small",
            shipments=[
                make_shipment("S1"),
                make_shipment("S2", destination="NOWHERE"),
                make_shipment("S1"),
            ],
        )
    messages = str(raised.value)
    assert "unknown node 'NOWHERE'" in messages and "duplicate shipment id 'S1'" in messages
    assert _rows(stored) == 0


def test_unknown_network_or_shipment_is_not_found(make_shipment: Any, stored: Engine) -> None:
    with session_scope(stored) as session:
        with pytest.raises(NotFound):
            save_shipments(session, network_name="nope", shipments=[make_shipment("S1")])
        with pytest.raises(NotFound):
            set_shipment_state(
                session,
                network_name="small",
                shipment_id="S404",
                status=ShipmentStatus.delivered,
                at_node=None,
                at_time=None,
            )
