"""Throughput: a throttled port serves freight first in, first out, across shipments.

The network: a Shenzhen factory trucks (half a day) to Yantian or to Shekou; both ports sail to
Rotterdam in 30 days; Rotterdam clears in 1 day; a truck to Venlo takes 1. Undisturbed, a
shipment arrives 32.5 days after it is ready, by either port. Waits below are counted by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.replay.effects import FakeEffect
from twin.domain.plans import Assignment, Leg
from twin.domain.records import Network, Shipment
from twin.files.networks import load_network
from twin.replay.hindsight import forewarned_world, hindsight_outcomes
from twin.replay.world import EffectBook, World, outcomes

T0 = datetime(2024, 1, 1, tzinfo=UTC)
END = T0 + timedelta(days=200)
DAY = timedelta(days=1)
PENALTY = 10_000.0

TWO_PORTS = """\
name: two-ports
unit: cbm
currency: USD
nodes:
  - {id: CN-SZ, kind: origin, name: Shenzhen, country: CN, lat: 22.54, lon: 114.06}
  - {id: CNYTN, kind: port, name: Yantian, country: CN, lat: 22.57, lon: 114.28}
  - {id: CNSHK, kind: port, name: Shekou, country: CN, lat: 22.48, lon: 113.91}
  - {id: NLRTM, kind: port, name: Rotterdam, country: NL, lat: 51.95, lon: 4.14, clearance_days: 1}
  - {id: NL-VENLO, kind: warehouse, tier: fulfillment, country: NL, lat: 51.37, lon: 6.17}
lanes:
  - {id: SZ-YTN-ROAD, from: CN-SZ, to: CNYTN, mode: road, transit_days: 0.5, cost_per_unit: 4}
  - {id: SZ-SHK-ROAD, from: CN-SZ, to: CNSHK, mode: road, transit_days: 0.5, cost_per_unit: 4}
  - {id: YTN-RTM-SEA, from: CNYTN, to: NLRTM, mode: sea, transit_days: 30, cost_per_unit: 60}
  - {id: SHK-RTM-SEA, from: CNSHK, to: NLRTM, mode: sea, transit_days: 30, cost_per_unit: 60}
  - {id: RTM-VENLO-ROAD, from: NLRTM, to: NL-VENLO, mode: road, transit_days: 1, cost_per_unit: 8}
"""
BY_YANTIAN = ["SZ-YTN-ROAD", "YTN-RTM-SEA", "RTM-VENLO-ROAD"]
BY_SHEKOU = ["SZ-SHK-ROAD", "SHK-RTM-SEA", "RTM-VENLO-ROAD"]


@pytest.fixture
def network(tmp_path: Path) -> Network:
    path = tmp_path / "two-ports.yaml"
    path.write_text(TWO_PORTS)
    return load_network(path)[0]


def _shipment(sid: str, ready_days: float, units: float = 20) -> Shipment:
    ready = T0 + ready_days * DAY
    return Shipment(
        id=sid,
        origin="CN-SZ",
        destination="NL-VENLO",
        units=units,
        ready_at=ready,
        due_at=ready + 33 * DAY,
    )


def _route(network: Network, shipment: Shipment, lanes: list[str]) -> Assignment:
    legs, t = [], shipment.ready_at
    for lane_id in lanes:
        lane = network.lane_by_id[lane_id]
        arrive = t + DAY * lane.transit_days
        legs.append(
            Leg(lane=lane_id, from_node=lane.from_, to_node=lane.to, depart_at=t, arrive_at=arrive)
        )
        t = arrive + DAY * network.node_by_id[lane.to].clearance_days
    return Assignment(
        shipment=shipment.id, units=shipment.units, legs=tuple(legs), eta=t, cost=0, late_days=0
    )


# Yantian shut for the whole window (everyone is sent to Shekou); Shekou serves 10 units a day.
YANTIAN_SHUT = FakeEffect(T0, "CNYTN", until=END, close=True)
SHEKOU_10_A_DAY = FakeEffect(T0, "CNSHK", until=T0 + 60 * DAY, throughput_units_per_day=10)
# Three shipments of 20 units, ready 6 hours apart: at Shekou at 0.5, 0.75 and 1.0 days.
READY = {"S1": 0.0, "S2": 0.25, "S3": 0.5}


def _delivered(world: World) -> dict[str, float]:
    return {o.shipment: (o.delivered_at - T0) / DAY for o in outcomes(world)}  # type: ignore[operator]


def _all_by_shekou(network: Network, effects: list, order: list[str], ticks=()) -> World:
    world = World(network, EffectBook.of(effects, END), seed=1)
    for sid in order:
        shipment = _shipment(sid, READY[sid])
        world.dispatch(shipment, [_route(network, shipment, BY_SHEKOU)])
    for tick in ticks:
        world.advance(T0 + tick * DAY)
    world.advance(END)
    return world


def test_everyone_sent_to_one_throttled_port_queues_first_in_first_out(network: Network) -> None:
    world = _all_by_shekou(network, [YANTIAN_SHUT, SHEKOU_10_A_DAY], ["S1", "S2", "S3"])
    # S1 arrives at 0.5 to an idle server: no wait; it holds the server 20/10 = 2 days (to 2.5).
    # S2 arrives at 0.75 and waits until 2.5 (1.75 days); served until 4.5.
    # S3 arrives at 1.0 and waits until 4.5 (3.5 days); served until 6.5.
    # Each then sails 30 days, clears 1 and trucks 1: delivered arrival + wait + 32.
    assert _delivered(world) == pytest.approx(
        {"S1": 0.5 + 32, "S2": 0.75 + 1.75 + 32, "S3": 1.0 + 3.5 + 32}, abs=1e-9
    )
    late = {o.shipment: o.late_days for o in outcomes(world)}
    # Due 33 days after ready: S2 is 1.25 days late (34.5 - 33.25), S3 3.0 (36.5 - 33.5).
    assert late == pytest.approx({"S1": 0.0, "S2": 1.25, "S3": 3.0}, abs=1e-9)


def test_the_queue_is_in_arrival_order_whatever_the_booking_order_or_the_ticks(
    network: Network,
) -> None:
    effects = [YANTIAN_SHUT, SHEKOU_10_A_DAY]
    in_order = _delivered(_all_by_shekou(network, effects, ["S1", "S2", "S3"]))
    reversed_ = _delivered(_all_by_shekou(network, effects, ["S3", "S2", "S1"]))
    # The engine run advances the world a tick at a time: arrivals between ticks still queue.
    ticked = _delivered(
        _all_by_shekou(network, effects, ["S3", "S1", "S2"], ticks=(0.6, 0.8, 0.9, 2.0, 5.0))
    )
    assert reversed_ == pytest.approx(in_order, abs=1e-9)
    assert ticked == pytest.approx(in_order, abs=1e-9)


def test_one_shipment_alone_never_waits_and_spreading_them_avoids_the_queue(
    network: Network,
) -> None:
    effects = [YANTIAN_SHUT, SHEKOU_10_A_DAY]
    alone = _all_by_shekou(network, effects, ["S3"])
    assert _delivered(alone) == {"S3": pytest.approx(1.0 + 32)}
    # Yantian open: S2 sent there passes freely, so S3 waits only behind S1 (S1 served until
    # 2.5; S3 arrives at 1.0 and waits 1.5 days).
    world = World(network, EffectBook.of([SHEKOU_10_A_DAY], END), seed=1)
    for sid, lanes in (("S1", BY_SHEKOU), ("S2", BY_YANTIAN), ("S3", BY_SHEKOU)):
        shipment = _shipment(sid, READY[sid])
        world.dispatch(shipment, [_route(network, shipment, lanes)])
    world.advance(END)
    assert _delivered(world) == pytest.approx(
        {"S1": 32.5, "S2": 32.75, "S3": 1.0 + 1.5 + 32}, abs=1e-9
    )


def test_a_backlog_left_when_the_throttle_ends_waits_only_for_the_part_in_service(
    network: Network,
) -> None:
    # Shekou throttled until day 1.2: S1 is served from 0.5 to 2.5 (it started under the
    # throttle); S2 and S3 start at 2.5, when no throttle is in force, and take no time.
    short = FakeEffect(T0, "CNSHK", until=T0 + 1.2 * DAY, throughput_units_per_day=10)
    world = _all_by_shekou(network, [YANTIAN_SHUT, short], ["S1", "S2", "S3"])
    assert _delivered(world) == pytest.approx(
        {"S1": 32.5, "S2": 2.5 + 32, "S3": 2.5 + 32}, abs=1e-9
    )


def test_a_throughput_not_in_force_when_freight_arrives_changes_nothing(network: Network) -> None:
    later = FakeEffect(T0 + 10 * DAY, "CNSHK", until=T0 + 20 * DAY, throughput_units_per_day=1)
    plain = _delivered(_all_by_shekou(network, [YANTIAN_SHUT], ["S1", "S2", "S3"]))
    throttled_later = _delivered(_all_by_shekou(network, [YANTIAN_SHUT, later], ["S1", "S2", "S3"]))
    assert plain == {"S1": 32.5, "S2": 32.75, "S3": 33.0}
    assert throttled_later == plain


def test_hindsight_charges_no_queue_and_stays_below_the_queued_world(network: Network) -> None:
    effects = [YANTIAN_SHUT, SHEKOU_10_A_DAY]
    shipments = [_shipment(sid, ready) for sid, ready in READY.items()]
    queued = _all_by_shekou(network, effects, list(READY))
    bound = hindsight_outcomes(
        World(network, EffectBook.of(effects, END), seed=1), shipments, PENALTY
    )
    # Each shipment alone: at Shekou by its ready time + 0.5, never waiting, on time.
    assert {o.shipment: o.late_days for o in bound} == {"S1": 0.0, "S2": 0.0, "S3": 0.0}
    total = sum(o.transport_cost + o.lateness_cost for o in outcomes(queued))
    assert sum(o.transport_cost + o.lateness_cost for o in bound) < total


def test_forewarned_plans_each_shipment_against_the_queue_the_earlier_ones_left(
    tmp_path: Path,
) -> None:
    # Yantian open but a unit dearer to reach; Shekou serves 10 a day. S1 books Shekou (idle
    # line). By Shekou S2 would wait 1.75 days behind S1 (1.25 late, 4 a unit-day) and S3 1.5
    # (1.0 late): more than a unit's dearer truck, so forewarned sends both by Yantian.
    path = tmp_path / "dear-yantian.yaml"
    path.write_text(
        TWO_PORTS.replace(
            "to: CNYTN, mode: road, transit_days: 0.5, cost_per_unit: 4",
            "to: CNYTN, mode: road, transit_days: 0.5, cost_per_unit: 5",
        )
    )
    network = load_network(path)[0]
    shipments = [_shipment(sid, ready) for sid, ready in READY.items()]
    world = World(network, EffectBook.of([SHEKOU_10_A_DAY], END), seed=1)
    sailed = outcomes(forewarned_world(world, shipments, PENALTY, until=END))
    assert {o.shipment: o.lanes[0] for o in sailed} == {
        "S1": "SZ-SHK-ROAD",
        "S2": "SZ-YTN-ROAD",
        "S3": "SZ-YTN-ROAD",
    }
    assert {o.shipment: o.late_days for o in sailed} == {"S1": 0.0, "S2": 0.0, "S3": 0.0}
    # Without the throughput every shipment takes the cheaper port.
    calm = World(network, EffectBook.of([], END), seed=1)
    plain = outcomes(forewarned_world(calm, shipments, PENALTY, until=END))
    assert {o.lanes[0] for o in plain} == {"SZ-SHK-ROAD"}


def test_yantians_throughputs_are_the_published_shares_of_its_normal_flow() -> None:
    # The scenario's figures, against the replay's own normal flow measured again: 30% of
    # capacity until 21 June, 75% until 23 June (docs/scenarios.md, *Throughput*).
    from twin.replay.run import normal_flow
    from twin.replay.scenario import load_scenario

    loaded = load_scenario(
        Path(__file__).resolve().parents[2] / "scenarios/yantian-covid-2021.yaml"
    )
    cut, recovery = loaded.scenario.effects
    assert cut.until is not None
    flow = normal_flow(loaded, "CNYTN", cut.at, cut.until)
    assert flow == pytest.approx(15.3, abs=0.05)
    assert cut.throughput_units_per_day == pytest.approx(0.30 * flow, abs=0.05)
    assert recovery.throughput_units_per_day == pytest.approx(0.75 * flow, abs=0.05)
