"""The simulated world: closures hold freight, capacity cuts queue it, delays add, all seeded."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.replay.effects import FakeEffect
from twin.domain.plans import Assignment, Leg
from twin.domain.records import Shipment
from twin.files.networks import load_network
from twin.replay.world import EffectBook, World, outcomes

T0 = datetime(2024, 1, 1, tzinfo=UTC)
END = T0 + timedelta(days=120)
DAY = timedelta(days=1)


def _route(network, shipment: Shipment, lanes: list[str]) -> Assignment:
    legs, t = [], shipment.ready_at
    for lane_id in lanes:
        lane = network.lane_by_id[lane_id]
        arrive = t + DAY * lane.transit_days
        legs.append(
            Leg(lane=lane_id, from_node=lane.from_, to_node=lane.to, depart_at=t, arrive_at=arrive)
        )
        node = network.node_by_id[lane.to]
        t = arrive + DAY * (node.handling_days + node.clearance_days)
    return Assignment(
        shipment=shipment.id, units=shipment.units, legs=tuple(legs), eta=t, cost=0, late_days=0
    )


@pytest.fixture
def setup(mini_network_file: Path):
    network, _ = load_network(mini_network_file)
    shipment = Shipment(
        id="S1", origin="CN-SZ", destination="NL-VENLO", units=10, ready_at=T0, due_at=T0 + 35 * DAY
    )
    route = _route(network, shipment, ["SZ-YTN-ROAD", "YTN-RTM-SUEZ", "RTM-VENLO-ROAD"])
    return network, shipment, route


def _run(network, shipment, route, effects) -> list:
    world = World(network, EffectBook.of(effects, END), seed=1)
    world.dispatch(shipment, [route])
    world.advance(END)
    return outcomes(world)


def test_undisturbed_route_arrives_as_planned(setup) -> None:
    network, shipment, route = setup
    (done,) = _run(network, shipment, route, [])
    # 0.5 road + 30 sea + 1 clearance at Rotterdam + 1 road = 32.5 days
    assert done.delivered_at == T0 + 32.5 * DAY
    assert done.late_days == 0
    assert done.transport_cost == pytest.approx(10 * (4 + 60 + 8))


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    (la1, lo1), (la2, lo2) = [(math.radians(x), math.radians(y)) for x, y in (a, b)]
    h = (
        math.sin((la2 - la1) / 2) ** 2
        + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def test_closed_chokepoint_holds_freight_when_it_gets_there(setup) -> None:
    network, shipment, route = setup
    # Yantian -> Suez -> Rotterdam: the ship reaches Suez this share of the way along.
    share = _km((22.57, 114.28), (30.58, 32.27)) / (
        _km((22.57, 114.28), (30.58, 32.27)) + _km((30.58, 32.27), (51.95, 4.14))
    )
    at_suez = 0.5 + 30 * share
    reopen = at_suez + 4.0
    (done,) = _run(
        network,
        shipment,
        route,
        [FakeEffect(at=T0, until=T0 + reopen * DAY, target="SUEZ", close=True)],
    )
    assert (done.delivered_at - T0) / DAY == pytest.approx(32.5 + 4.0, abs=1e-6)
    assert done.late_days == pytest.approx(1.5, abs=1e-6)
    assert done.lateness_cost == pytest.approx(1.5 * 10 * shipment.penalty_per_unit_day, abs=1e-4)
    # A closure that ends before the ship gets there costs nothing.
    (early,) = _run(
        network,
        shipment,
        route,
        [FakeEffect(at=T0, until=T0 + (at_suez - 1) * DAY, target="SUEZ", close=True)],
    )
    assert early.delivered_at == T0 + 32.5 * DAY


def test_closed_port_holds_departure_until_reopening(setup) -> None:
    network, shipment, route = setup
    reopen = T0 + 10 * DAY
    (done,) = _run(
        network, shipment, route, [FakeEffect(at=T0, until=reopen, target="CNYTN", close=True)]
    )
    # Yantian is shut: the truck does not leave Shenzhen for it until it reopens on day 10.
    assert done.delivered_at == reopen + 32.5 * DAY


def test_capacity_cut_queues_and_delays_add(setup) -> None:
    network, shipment, route = setup
    effects = [
        FakeEffect(at=T0, until=T0 + 60 * DAY, target="YTN-RTM-SUEZ", capacity_pct=50),
        FakeEffect(at=T0, until=T0 + 60 * DAY, target="NLRTM", clearance_days=2),
        FakeEffect(at=T0, until=T0 + 60 * DAY, target="SUEZ", delay_days=3),
    ]
    (done,) = _run(network, shipment, route, effects)
    # queue 7 * (100/50 - 1) = 7 days, +3 at Suez, +2 clearance
    assert done.delivered_at == T0 + (32.5 + 7 + 3 + 2) * DAY


def test_closure_to_the_end_leaves_freight_undelivered_and_late(setup) -> None:
    network, shipment, route = setup
    (done,) = _run(network, shipment, route, [FakeEffect(at=T0, target="SUEZ", close=True)])
    assert done.delivered_at is None
    assert done.late_days == pytest.approx((END - shipment.due_at) / DAY)
    assert done.transport_cost == pytest.approx(10 * (4 + 60 + 8))  # still owes its whole route


def test_reroute_from_current_position(setup) -> None:
    network, shipment, route = setup
    world = World(
        network, EffectBook.of([FakeEffect(at=T0, target="YTN-RTM-SUEZ", close=True)], END), seed=1
    )
    world.dispatch(shipment, [route])
    world.advance(T0 + 2 * DAY)
    progress = world.journeys["S1"][0]
    assert progress.node == "CNYTN" and progress.legs_done == 1
    detour = Shipment(
        id="S1",
        origin="CNYTN",
        destination="NL-VENLO",
        units=10,
        ready_at=progress.available_at,
        due_at=shipment.due_at,
    )
    known = world.as_known("S1", T0 + 2 * DAY)[0]
    assert [leg.lane for leg in known.legs] == ["SZ-YTN-ROAD", "YTN-RTM-SUEZ", "RTM-VENLO-ROAD"]
    assert known.legs[0].arrive_at == T0 + 0.5 * DAY  # travelled: as it happened
    assert known.legs[1].depart_at > T0 + 2 * DAY  # held: not before now
    onward = _route(network, detour, ["YTN-RTM-CAPE", "RTM-VENLO-ROAD"])
    world.reroute("S1", [onward.model_copy(update={"legs": known.legs[:1] + onward.legs})])
    world.advance(END)
    (done,) = outcomes(world)
    assert done.lanes == ("SZ-YTN-ROAD", "YTN-RTM-CAPE", "RTM-VENLO-ROAD")
    assert done.delivered_at == T0 + (0.5 + 40 + 1 + 1) * DAY


def test_transit_variability_is_seeded_and_bounded(mini_network_file: Path) -> None:
    network, _ = load_network(mini_network_file)
    lane = network.lane_by_id["YTN-RTM-SUEZ"].model_copy(update={"transit_days_p90": 36.0})
    world = World(network, EffectBook.of([], END), seed=3)
    draws = [world.transit_days(f"S{i}", 1, lane) for i in range(2000)]
    assert draws == [
        World(network, EffectBook.of([], END), seed=3).transit_days(f"S{i}", 1, lane)
        for i in range(2000)
    ]
    assert all(d >= 30 for d in draws)
    share_within_p90 = sum(d <= 36 for d in draws) / len(draws)
    assert 0.86 < share_within_p90 < 0.94


def _diverted(world, network, now):
    """The route the engine would send: travelled legs, the sea leg turned round the Cape."""
    from twin.shipments.diversion import diverted_leg

    known = world.as_known("S1", now)[0]
    turned = diverted_leg(known.legs[1], network.lane_by_id["YTN-RTM-CAPE"], network)
    road = network.lane_by_id["RTM-VENLO-ROAD"]
    last = Leg(
        lane=road.id,
        from_node=road.from_,
        to_node=road.to,
        depart_at=turned.arrive_at,
        arrive_at=turned.arrive_at + DAY * road.transit_days,
    )
    return known.model_copy(update={"legs": (known.legs[0], turned, last)})


def test_freight_under_way_is_diverted_until_the_courses_part(setup) -> None:
    from twin.shipments.diversion import FEE_PER_UNIT, divert_by

    network, shipment, route = setup
    closed = [FakeEffect(at=T0, until=T0 + 80 * DAY, target="SUEZ", close=True)]
    world = World(network, EffectBook.of(closed, END), seed=1)
    world.dispatch(shipment, [route])
    now = T0 + 2 * DAY  # sailing since day 0.5
    world.advance(now)
    deadline = divert_by(
        world.journeys["S1"][0].sailing, network.lane_by_id["YTN-RTM-CAPE"], network
    )
    assert deadline is not None and now < deadline < T0 + 10 * DAY
    assert world.reroute("S1", [_diverted(world, network, now)], now=now) == 0
    world.advance(END)
    (done,) = outcomes(world)
    # Round the Cape from the same departure: 0.5 road + 40 sea + 1 clearance + 1 road.
    assert done.lanes == ("SZ-YTN-ROAD", "YTN-RTM-CAPE", "RTM-VENLO-ROAD")
    assert done.delivered_at == T0 + 42.5 * DAY
    assert done.transport_cost == pytest.approx(10 * (4 + 75 + 8) + 10 * FEE_PER_UNIT)


def test_past_the_parting_point_a_diversion_is_refused(setup) -> None:
    network, shipment, route = setup
    world = World(network, EffectBook.of([], END), seed=1)
    world.dispatch(shipment, [route])
    late = T0 + 12 * DAY
    world.advance(late)
    turned = _diverted(world, network, late)
    assert world.reroute("S1", [turned], now=late) == 1
    assert world.reroute("S1", [turned]) == 1  # without a time, never
    world.advance(END)
    (done,) = outcomes(world)
    assert done.lanes == ("SZ-YTN-ROAD", "YTN-RTM-SUEZ", "RTM-VENLO-ROAD")


def test_a_leg_under_way_is_known_by_its_schedule_not_its_future(setup) -> None:
    network, shipment, route = setup
    # Suez shuts on day 10 for a month: the world already knows the ship will wait there.
    world = World(
        network,
        EffectBook.of(
            [FakeEffect(at=T0 + 10 * DAY, until=T0 + 40 * DAY, target="SUEZ", close=True)], END
        ),
        seed=1,
    )
    world.dispatch(shipment, [route])
    now = T0 + 2 * DAY
    world.advance(now)
    assert world.journeys["S1"][0].legs_taken[1].arrive_at > T0 + 40 * DAY
    known = world.as_known("S1", now)[0]
    assert known.legs[1].arrive_at == route.legs[1].arrive_at  # departed on time: as planned
    assert known.legs[2].depart_at == route.legs[2].depart_at


def test_as_known_does_not_foretell_an_effect_dwell(setup) -> None:
    """Track and trace reports freight arrived at Rotterdam, not that a customs backlog will
    keep it there five more days: the next leg is shown leaving after the usual stop."""
    network, shipment, route = setup
    backlog = FakeEffect(at=T0, target="NLRTM", clearance_days=5)
    world = World(network, EffectBook.of([backlog], END), seed=1)
    world.dispatch(shipment, [route])
    arrived = T0 + (0.5 + 30) * DAY  # road, then Suez (no variability on the mini network)
    now = arrived + DAY
    world.advance(now)
    (part,) = world.journeys["S1"]
    assert part.node == "NLRTM" and part.legs_done == 2
    assert part.available_at == arrived + (1 + 5) * DAY  # really: clearance 1 day + 5 more
    known = world.as_known("S1", now)[0]
    usual = arrived + 1 * DAY  # Rotterdam's usual stop: clearance 1 day, no handling
    assert known.legs[2].depart_at == max(usual, now + timedelta(minutes=1))
