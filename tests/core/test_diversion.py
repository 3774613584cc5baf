"""Diverting freight under way (twin.shipments.diversion): which services are sisters, until when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from twin.domain.plans import Leg
from twin.domain.records import Network
from twin.files.networks import load_network
from twin.network.geo import passage_time
from twin.shipments.diversion import NOTICE, divert_by, diverted_leg, is_sister, sisters

DEMO = Path(__file__).resolve().parents[2] / "twin" / "data" / "networks" / "demo.yaml"
T0 = datetime(2025, 3, 1, tzinfo=UTC)
DAY = timedelta(days=1)


@cache
def _demo() -> Network:
    return load_network(DEMO)[0]


@pytest.fixture
def demo() -> Network:
    return _demo()


def _leg(network: Network, lane_id: str, depart: datetime = T0) -> Leg:
    lane = network.lane_by_id[lane_id]
    return Leg(
        lane=lane.id,
        from_node=lane.from_,
        to_node=lane.to,
        depart_at=depart,
        arrive_at=depart + DAY * lane.transit_days,
    )


def test_suez_and_sunda_courses_part_before_malacca(demo: Network) -> None:
    leg = _leg(demo, "CNYTN-NLRTM-SUEZ")
    at_malacca = passage_time(leg, "MALACCA", demo)
    for other in ("CNYTN-NLRTM-SUNDA", "CNYTN-NLRTM-CAPE"):
        deadline = divert_by(leg, demo.lane_by_id[other], demo)
        assert deadline is not None and T0 + 0.4 * (at_malacca - T0) < deadline < at_malacca


def test_courses_heading_apart_part_at_once(demo: Network) -> None:
    # Across the Pacific to Panama, or west to Malacca and Suez: apart from the start.
    leg = _leg(demo, "CNNSA-USSAV-PANAMA")
    assert divert_by(leg, demo.lane_by_id["CNNSA-USSAV-SUEZ"], demo) == T0
    assert "CNNSA-USSAV-SUEZ" not in {lane.id for lane in sisters(leg, demo, T0 + DAY)}


def test_a_change_of_port_on_one_coast_needs_notice(demo: Network) -> None:
    leg = _leg(demo, "CNNSA-USLGB-SEA")
    assert divert_by(leg, demo.lane_by_id["CNNSA-USOAK-SEA"], demo) == leg.arrive_at - NOTICE
    near = {lane.id for lane in sisters(leg, demo, leg.arrive_at - NOTICE - DAY)}
    assert near == {"CNNSA-USLAX-SEA", "CNNSA-USOAK-SEA", "CNNSA-USSEA-SEA"}
    assert sisters(leg, demo, leg.arrive_at - NOTICE) == []
    # Tokyo is not on the coast, the air lane is no ship, another port's lane is another ship.
    for other in ("CNNSA-JPTYO-SEA", "CAN-LAX-AIR", "CNYTN-USOAK-SEA"):
        assert not is_sister(demo.lane_by_id["CNNSA-USLGB-SEA"], demo.lane_by_id[other], demo)


def test_the_diverted_leg_keeps_the_departure_and_moves_the_arrival(demo: Network) -> None:
    leg = _leg(demo, "CNYTN-NLRTM-SUEZ")
    cape = demo.lane_by_id["CNYTN-NLRTM-CAPE"]
    turned = diverted_leg(leg, cape, demo)
    assert (turned.lane, turned.depart_at) == (cape.id, T0)
    assert turned.arrive_at - leg.arrive_at == DAY * (
        cape.transit_days - demo.lane_by_id[leg.lane].transit_days
    )


@given(st.data())
def test_a_deadline_is_never_after_the_notice_nor_before_the_departure_of_a_long_enough_leg(
    data,
) -> None:
    demo = _demo()
    sea = [lane for lane in demo.lanes if lane.mode.value == "sea"]
    lane = data.draw(st.sampled_from(sea))
    leg = _leg(demo, lane.id, T0 + DAY * data.draw(st.floats(0, 30)))
    for other in demo.lanes:
        deadline = divert_by(leg, other, demo)
        if deadline is None:
            assert not is_sister(lane, other, demo)
            continue
        assert deadline <= leg.arrive_at - NOTICE
        if leg.arrive_at - NOTICE >= leg.depart_at:
            assert deadline >= leg.depart_at
