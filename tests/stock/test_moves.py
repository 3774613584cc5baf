"""Stock moves against a stock-out (twin.stock.moves): on small networks worked by hand, the
optimiser picks the move that is the right answer, with the margins and costs counted below.

The world: NL-A and NL-B, warehouses of one market (NL), each selling 10 MUG a day (margin 5,
0.01 cbm a unit); lead times 30 days (the window in which margin is at risk). From Shenzhen
by sea through Rotterdam: road 1 d + Yantian handling 1 d + sea 2 d + Rotterdam 0.5 d handling
and 2 d clearance + road 0.25 d = 6.75 d, 7 per cbm. By air through Amsterdam: 1 d + road
0.25 d = 1.25 d, 51 per cbm. Between the warehouses a truck: 1 d, 2 per cbm.

NL-A holds 20 MUG: it sells on days 0 and 1, then loses 10 a day: days 2..29 are 28 days
short, 280 units, 1,400 margin within the lead time.
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from twin.domain.records import Network
from twin.stock.moves import (
    Inbound,
    MoveSettings,
    Pair,
    TurningPoint,
    candidates,
    choose,
    fastest_way,
)

HORIZON, WINDOW, SOLD, MARGIN, CBM_PER_UNIT = 40, 30, 10.0, 5.0, 0.01

NETWORK = """
name: stock-moves
nodes:
  - {id: CN-SZ, kind: origin, country: CN}
  - {id: CNYTN, kind: port, country: CN, handling_days: 1, lat: 22.6, lon: 114.3}
  - {id: SUEZ, kind: chokepoint}
  - {id: NLRTM, kind: port, country: NL, handling_days: 0.5, clearance_days: 2, lat: 51.9, lon: 4.1}
  - {id: NLVLI, kind: port, country: NL, handling_days: 0.5, clearance_days: 2, lat: 51.4, lon: 3.6}
  - {id: NLAMS, kind: airport, country: NL}
  - {id: NL-A, kind: warehouse, country: NL}
  - {id: NL-B, kind: warehouse, country: NL}
lanes:
  - {id: SZ-YTN-ROAD, from: CN-SZ, to: CNYTN, mode: road, transit_days: 1, cost_per_unit: 1}
  - {id: YTN-RTM-SEA, from: CNYTN, to: NLRTM, mode: sea, transit_days: 2, cost_per_unit: 5, via: [SUEZ]}
  - {id: YTN-VLI-SEA, from: CNYTN, to: NLVLI, mode: sea, transit_days: 2, cost_per_unit: 5, via: [SUEZ]}
  - {id: SZ-AMS-AIR, from: CN-SZ, to: NLAMS, mode: air, transit_days: 1, cost_per_unit: AIR_COST}
  - {id: RTM-A-ROAD, from: NLRTM, to: NL-A, mode: road, transit_days: 0.25, cost_per_unit: 1}
  - {id: VLI-B-ROAD, from: NLVLI, to: NL-B, mode: road, transit_days: 0.25, cost_per_unit: 1}
  - {id: AMS-A-ROAD, from: NLAMS, to: NL-A, mode: road, transit_days: 0.25, cost_per_unit: 1}
  - {id: AMS-B-ROAD, from: NLAMS, to: NL-B, mode: road, transit_days: 0.25, cost_per_unit: 1}
"""
TRUCK = (
    "  - {id: B-A-ROAD, from: NL-B, to: NL-A, mode: road, transit_days: 1, cost_per_unit: TRUCK}\n"
)


def network(*, truck: float | None = 2.0, air: float = 50.0) -> Network:
    text = NETWORK.replace("AIR_COST", str(air))
    if truck is not None:
        text += TRUCK.replace("TRUCK", str(truck))
    return Network.model_validate(yaml.safe_load(text))


def pair(
    warehouse: str,
    on_hand: float,
    *,
    sku: str = "MUG",
    margin: float = MARGIN,
    inbound: dict[int, float] | None = None,
    sold: float = SOLD,
) -> Pair:
    arriving = np.zeros(HORIZON)
    for day, units in (inbound or {}).items():
        arriving[day] += units
    return Pair(
        warehouse=warehouse,
        sku=sku,
        on_hand=on_hand,
        unit_margin=margin,
        unit_value=12.0,
        cbm_per_unit=CBM_PER_UNIT,
        demand=np.full(HORIZON, sold),
        inbound=arriving,
        window=WINDOW,
    )


def book(*pairs: Pair) -> dict[tuple[str, str], Pair]:
    return {(p.warehouse, p.sku): p for p in pairs}


def test_the_ways_are_counted_as_the_lead_times_are() -> None:
    net = network()
    sea = fastest_way(net, "CN-SZ", "NL-A", {"sea"})
    air = fastest_way(net, "CN-SZ", "NL-A", {"air"})
    assert sea is not None and air is not None
    assert (sea.days, sea.cost_per_cbm, sea.mode) == (6.75, 7.0, "sea")
    assert (air.days, air.cost_per_cbm, air.mode) == (1.25, 51.0, "air")
    assert air.lanes == ("SZ-AMS-AIR", "AMS-A-ROAD")
    # Each leg starts when the one before ended, plus the handling where it lands.
    assert [leg[3:] for leg in sea.legs] == [(0.0, 1.0), (2.0, 4.0), (6.5, 6.75)]


def test_a_sister_with_sixty_days_of_cover_and_a_truck_beats_air_from_origin() -> None:
    pairs = book(pair("NL-A", 20), pair("NL-B", 600))
    found = candidates(network(), pairs, [("NL-A", "MUG")], [], now_day=0.0)
    by_kind = {(c.kind, c.way.mode): c for c in found}
    transfer = by_kind[("transfer", "road")]
    # The truck lands on day 1; 280 units cover days 1..29 (every sale otherwise lost).
    # NL-B keeps 320: its own 30 days take 300, so it loses nothing.
    assert (transfer.arrival_day, transfer.lines, transfer.source) == (1, (("MUG", 280.0),), "NL-B")
    assert transfer.cost == pytest.approx(280 * 0.01 * 2)  # 5.6
    gained, given = transfer.effects
    assert (gained.units_before, gained.units_after, gained.days_before) == (280, 0, 28)
    assert gained.margin_saved == pytest.approx(1400)
    assert given.margin_saved == 0
    assert transfer.net == pytest.approx(1394.4)
    # By air from Shenzhen (ready in 2 days, 1.25 d on the way): lands day 3, saves days
    # 3..29 (270 units, 1,350) for 2.7 cbm x 51 = 137.7.
    air = by_kind[("replenish", "air")]
    assert (air.arrival_day, air.lines) == (3, (("MUG", 270.0),))
    assert (air.margin_saved, air.cost) == (pytest.approx(1350), pytest.approx(137.7))
    choice = choose(found)
    assert [(c.kind, c.source) for c in choice.chosen] == [("transfer", "NL-B")]
    assert choice.net == pytest.approx(1394.4)


def test_without_sister_stock_replenishment_by_air_beats_sea() -> None:
    pairs = book(pair("NL-A", 20), pair("NL-B", 0))
    found = candidates(network(), pairs, [("NL-A", "MUG")], [], now_day=0.0)
    assert not [c for c in found if c.kind == "transfer"]  # NL-B has nothing to spare
    modes = {c.way.mode: c for c in found if c.kind == "replenish"}
    # Sea: ready day 2 + 6.75 d lands day 8: 220 units, 1,100 saved for 2.2 x 7 = 15.4.
    assert (modes["sea"].arrival_day, modes["sea"].net) == (8, pytest.approx(1100 - 15.4))
    # Air: day 3, 270 units, 1,350 saved for 137.7: net 1,212.3 against 1,084.6.
    assert modes["air"].net == pytest.approx(1350 - 137.7)
    choice = choose(found)
    assert [(c.kind, c.way.mode) for c in choice.chosen] == [("replenish", "air")]


def test_sea_wins_when_air_costs_more_than_the_days_it_saves() -> None:
    # At 100 per cbm, air costs 2.7 x 101 = 272.7 and nets 1,077.3: sea's 1,084.6 wins.
    pairs = book(pair("NL-A", 20), pair("NL-B", 0))
    found = candidates(network(air=100), pairs, [("NL-A", "MUG")], [], now_day=0.0)
    assert [(c.kind, c.way.mode) for c in choose(found).chosen] == [("replenish", "sea")]


def test_freight_bound_for_a_congested_port_is_redirected_to_the_short_sister() -> None:
    # S2 (300 MUG, 3 cbm) sails Yantian -> Rotterdam for NL-A, which holds 600 (60 days);
    # Rotterdam's queue is expected to hold it 10 days, so it reaches NL-A on day 15. NL-B
    # holds 20 and nothing is coming: 280 units short. The sister service to Vlissingen from
    # the same departure lands on day 5.5 (+10 fee per cbm); the road on to NL-B 0.25 d.
    pairs = book(pair("NL-A", 600, inbound={15: 300}), pair("NL-B", 20))
    s2 = Inbound(
        shipment="S2",
        origin="CN-SZ",
        destination="NL-A",
        cbm=3.0,
        lines=(("MUG", 300.0),),
        arrival_day=15,
        ready_day=0.0,
        cost_per_cbm=7.0,
        departed=True,
        points=(TurningPoint("NLVLI", 5.5, 1.0, 1, "YTN-VLI-SEA", 10.0),),
    )
    found = candidates(network(truck=None, air=80), pairs, [("NL-B", "MUG")], [s2], now_day=0.0)
    redirect = next(c for c in found if c.kind == "redirect")
    # Lands day 5: NL-B still loses days 2..4 (30 units), 250 units saved = 1,250 margin.
    # NL-A without S2 still has 600 for 30 days of 10: it loses nothing. Cost: 3 cbm x (road
    # 1 + fee 10 - the Rotterdam road 1 no longer taken) = 30.
    assert (redirect.arrival_day, redirect.cost) == (5, pytest.approx(30.0))
    saved = {(e.warehouse, e.sku): e.margin_saved for e in redirect.effects}
    assert saved == {("NL-B", "MUG"): pytest.approx(1250), ("NL-A", "MUG"): 0}
    # Air from Shenzhen at 80 per cbm: 1,350 - 2.7 x 81 = 1,131.3 < 1,220.
    air = next(c for c in found if c.kind == "replenish" and c.way.mode == "air")
    assert air.net == pytest.approx(1350 - 2.7 * 81)
    choice = choose(found)
    assert [(c.kind, c.shipment) for c in choice.chosen] == [("redirect", "S2")]
    assert choice.net == pytest.approx(1220)


def test_a_redirect_that_empties_its_old_destination_is_not_chosen() -> None:
    # NL-A holds only 100 now: without S2 it runs out on day 10 and loses 200 units (1,000)
    # within its lead time; NL-B saves 1,250; net of the 30 it costs the redirect still pays
    # 220, but air into NL-B nets 1,131.3, so the optimiser flies rather than robs NL-A.
    pairs = book(pair("NL-A", 100, inbound={15: 300}), pair("NL-B", 20))
    s2 = Inbound(
        "S2", "CN-SZ", "NL-A", 3.0, (("MUG", 300.0),), 15, 0.0, 7.0, True,
        (TurningPoint("NLVLI", 5.5, 1.0, 1, "YTN-VLI-SEA", 10.0),),
    )  # fmt: skip
    found = candidates(network(truck=None, air=80), pairs, [("NL-B", "MUG")], [s2], now_day=0.0)
    redirect = next(c for c in found if c.kind == "redirect")
    lost = {e.warehouse: e.margin_saved for e in redirect.effects}
    # NL-A: 100 covers days 0..9; S2 on day 15 would have refilled it: days 10..14 lost (50
    # units, 250) either way; without S2, days 10..29 (200 units, 1,000).
    assert lost == {"NL-B": pytest.approx(1250), "NL-A": pytest.approx(-750)}
    assert redirect.net == pytest.approx(1250 - 750 - 30)
    assert [(c.kind, c.way.mode) for c in choose(found).chosen] == [("replenish", "air")]


def test_the_urgent_lines_of_a_shipment_are_flown_apart() -> None:
    # S1 (300 MUG urgent, 100 PLATE not) is booked by sea for NL-A, ready on day 1 and
    # expected on day 19 (a closure's +10 d). NL-A: 20 MUG, short on days 2..18 (170 units,
    # 850); from day 19 its 300 last beyond the window. PLATE has 60 days of cover.
    # Flown apart from day 1: 1.25 d, lands day 2, nothing short. Cost: 3 cbm x (51 - 7).
    pairs = book(
        pair("NL-A", 20, inbound={19: 300}),
        pair("NL-A", 600, sku="PLATE", inbound={19: 100}),
    )
    s1 = Inbound(
        shipment="S1",
        origin="CN-SZ",
        destination="NL-A",
        cbm=4.0,
        lines=(("MUG", 300.0), ("PLATE", 100.0)),
        arrival_day=19,
        ready_day=1.0,
        cost_per_cbm=7.0,
        urgent=("MUG",),
    )
    settings = MoveSettings(kinds={"split": ("air",)})
    found = candidates(
        network(truck=None), pairs, [("NL-A", "MUG")], [s1], now_day=0.0, settings=settings
    )
    (split,) = found
    assert (split.kind, split.lines, split.cbm, split.arrival_day) == (
        "split",
        (("MUG", 300.0),),
        3.0,
        2,
    )
    assert split.cost == pytest.approx(3 * 44)
    (effect,) = split.effects
    assert (effect.units_before, effect.days_before, effect.units_after) == (170, 17, 0)
    assert choose(found).chosen == (split,)


def test_when_every_move_costs_more_than_it_saves_nothing_is_chosen() -> None:
    # A cheap SKU (margin 0.05): 280 units short are 14 of margin. The truck at 100 per cbm
    # costs 280; air 137.7; sea 15.4 for 11 saved. Every move loses money: do nothing.
    pairs = book(pair("NL-A", 20, margin=0.05), pair("NL-B", 600, margin=0.05))
    found = candidates(network(truck=100), pairs, [("NL-A", "MUG")], [], now_day=0.0)
    assert {c.kind for c in found} == {"transfer", "replenish"}
    assert all(c.net < 0 for c in found)
    choice = choose(found)
    assert choice.chosen == () and choice.net == 0


def test_a_budget_keeps_the_choice_within_it() -> None:
    pairs = book(pair("NL-A", 20), pair("NL-B", 0))
    found = candidates(network(), pairs, [("NL-A", "MUG")], [], now_day=0.0)
    # Air (137.7) is best, but with 100 to spend the optimiser takes sea (15.4).
    assert [c.way.mode for c in choose(found, max_cost=100).chosen] == ["sea"]


def test_one_source_is_not_drawn_twice() -> None:
    # NL-A and NL-C are both short of MUG; NL-B can spare 300 (600 less its 30 days' 300).
    # Each alone would take 280 from NL-B; together they would leave it short, so the MIP
    # takes one transfer and replenishes the other.
    text = NETWORK.replace("AIR_COST", "50") + TRUCK.replace("TRUCK", "2")
    raw = yaml.safe_load(text)
    raw["nodes"].append({"id": "NL-C", "kind": "warehouse", "country": "NL"})
    raw["lanes"].append(
        {"id": "B-C-ROAD", "from": "NL-B", "to": "NL-C", "mode": "road", "transit_days": 1,
         "cost_per_unit": 2}
    )  # fmt: skip
    raw["lanes"].append(
        {"id": "AMS-C-ROAD", "from": "NLAMS", "to": "NL-C", "mode": "road",
         "transit_days": 0.25, "cost_per_unit": 1}
    )  # fmt: skip
    net = Network.model_validate(raw)
    pairs = book(pair("NL-A", 20), pair("NL-B", 600), pair("NL-C", 20))
    found = candidates(net, pairs, [("NL-A", "MUG"), ("NL-C", "MUG")], [], now_day=0.0)
    kinds = sorted((c.kind, c.warehouse) for c in choose(found).chosen)
    assert len([k for k in kinds if k[0] == "transfer"]) == 1
    assert {w for _, w in kinds} == {"NL-A", "NL-C"}


def test_a_redirect_that_only_saves_transport_is_no_answer() -> None:
    # S2 can go to NL-B for less than it costs to NL-A (the Rotterdam road costs 30 per cbm
    # here), but it lands on day 35, after NL-B's lead time: it saves no sale there. Net of
    # its negative cost it "gains" 87, yet a stock move must fill the short shelf.
    raw = yaml.safe_load(NETWORK.replace("AIR_COST", "50"))
    for lane in raw["lanes"]:
        if lane["id"] == "RTM-A-ROAD":
            lane["cost_per_unit"] = 30
    pairs = book(pair("NL-A", 600, inbound={35: 300}), pair("NL-B", 20))
    s2 = Inbound(
        "S2", "CN-SZ", "NL-A", 3.0, (("MUG", 300.0),), 35, 0.0, 36.0, True,
        (TurningPoint("NLVLI", 34.5, 30.0, 1, "YTN-VLI-SEA", 0.0),),
    )  # fmt: skip
    settings = MoveSettings(kinds={"redirect": ("sea", "road")})
    found = candidates(
        Network.model_validate(raw), pairs, [("NL-B", "MUG")], [s2], now_day=0.0, settings=settings
    )
    (redirect,) = found
    assert redirect.margin_saved == 0 and redirect.cost == pytest.approx(3 * (1 - 30))
    assert redirect.net > 0 and choose(found).chosen == ()


def test_transfers_from_one_sister_by_one_truck_are_booked_as_one_shipment() -> None:
    from twin.stock.moves import consolidate

    # NL-A is short of MUG and of BOWL (20 each, 10 sold a day); NL-B holds 600 of each.
    pairs = book(
        pair("NL-A", 20), pair("NL-A", 20, sku="BOWL"), pair("NL-B", 600),
        pair("NL-B", 600, sku="BOWL"),
    )  # fmt: skip
    short = [("NL-A", "MUG"), ("NL-A", "BOWL")]
    choice = choose(candidates(network(), pairs, short, [], now_day=0.0))
    assert sorted((m.kind, m.source, m.lines) for m in choice.chosen) == [
        ("transfer", "NL-B", (("BOWL", 280.0),)),
        ("transfer", "NL-B", (("MUG", 280.0),)),
    ]
    (truck,) = consolidate(choice.chosen)
    # One truck carries both lines: 5.6 cbm x 2 per cbm, the same cost as two, and both savings.
    assert sorted(truck.lines) == [("BOWL", 280.0), ("MUG", 280.0)]
    assert (truck.cbm, truck.cost, truck.arrival_day) == (5.6, pytest.approx(11.2), 1)
    assert truck.margin_saved == pytest.approx(2 * 1400)
    # A transfer and a replenishment, or moves from two sources, stay apart.
    other = next(
        c for c in candidates(network(), pairs, short, [], now_day=0.0) if c.kind == "replenish"
    )
    assert len(consolidate([choice.chosen[0], other])) == 2
