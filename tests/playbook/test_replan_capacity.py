"""A playbook's re-plan leaves the lane capacity the rest of the plan of record uses alone.

Hand-counted: YTN-RTM-CAPE carries 3,000 units a day. BIG (2,500 units) is booked round the
Cape on the day it leaves Yantian; X (1,000 units, the same day) goes through Suez. When Suez
closes and X is re-planned round the Cape, only 500 units are left on BIG's day: a re-plan that
ignored BIG would put 3,500 units on a 3,000-unit sailing.
"""

from __future__ import annotations

from datetime import timedelta

from tests.playbook.chain_world import NOW, mini_network
from twin.domain.alerts import Alert
from twin.domain.records import Shipment
from twin.network.graph import NetworkView, WhatIf
from twin.optimise import PlanRequest, plan
from twin.playbook.actions import ActionContext, OptimiseReplanner, preview
from twin.playbook.schema import AvoidParams, ReplanParams
from twin.shipments.capacity import reserved_lane_capacity

DAY = timedelta(days=1)
CAPE = "YTN-RTM-CAPE"


def _ship(sid: str, units: int) -> Shipment:
    return Shipment(
        id=sid,
        origin="CN-SZ",
        destination="NL-VENLO",
        units=units,
        ready_at=NOW + 3 * DAY,
        due_at=NOW + 60 * DAY,
    )


def test_a_replan_does_not_overfill_a_lane_the_plan_of_record_uses() -> None:
    network = mini_network()
    big, x = _ship("BIG", 2500), _ship("X", 1000)
    round_cape = plan(
        NetworkView(network, WhatIf(avoid=frozenset({"SUEZ"}))),
        PlanRequest(now=NOW, shipments=(big,)),
    )
    via_suez = plan(NetworkView(network), PlanRequest(now=NOW, shipments=(x,)))
    record = {
        "BIG": tuple(round_cape.for_shipment("BIG")),
        "X": tuple(via_suez.for_shipment("X")),
    }
    sailings = {
        (sid, leg.lane, leg.depart_at)
        for sid, routes in record.items()
        for a in routes
        for leg in a.legs
        if leg.lane in (CAPE, "YTN-RTM-SUEZ")
    }
    (day,) = {at for _, _, at in sailings}
    assert {(sid, lane) for sid, lane, _ in sailings} == {("BIG", CAPE), ("X", "YTN-RTM-SUEZ")}
    alert = Alert(
        id="A1",
        target="SUEZ",
        dimension="security",
        severity="critical",
        score=0.9,
        peak=0.9,
        opened_at=NOW,
        updated_at=NOW,
    )
    ctx = ActionContext(
        alert=alert,
        network=network,
        shipments={"BIG": big, "X": x},
        current=record,
        now=NOW,
        replanner=OptimiseReplanner(),
    )
    proposal = preview(
        [("avoid", AvoidParams(target="SUEZ", until="clear")), ("replan", ReplanParams())], ctx
    )
    assert set(proposal.new_routes) == {"X"} and proposal.status == "optimal"
    # The plan of record after the re-plan: BIG as booked, X as re-planned.
    after = {"BIG": record["BIG"], "X": proposal.new_routes["X"]}
    loads = reserved_lane_capacity(after, NOW)
    capacity = network.lane_by_id[CAPE].capacity
    assert capacity == 3000
    overfull = {key: units for key, units in loads.items() if key[0] == CAPE and units > capacity}
    assert not overfull, f"re-plan overfills {CAPE}: {overfull}"
    # X still goes round the Cape, all 1,000 units: at most the 500 left on BIG's sailing.
    on_big_day = sum(
        a.units for a in after["X"] for leg in a.legs if leg.lane == CAPE and leg.depart_at == day
    )
    assert on_big_day <= 500 and sum(a.units for a in after["X"]) == 1000
    assert any(leg.lane == CAPE for a in after["X"] for leg in a.legs)
