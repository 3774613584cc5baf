"""CO2e in an incident's diff (per shipment and in total) and the `max_co2e_increase_pct`
guardrail, on the real planner: Suez closed, freight goes round the Cape and emits more."""

from __future__ import annotations

import pytest
from chain_world import NOW, mini_network, plan_of_record, shipments
from playbook_builders import make_alert, make_playbook

from twin.domain.problems import InputError
from twin.domain.records import Network
from twin.emissions import Emissions
from twin.files.emissions import load_emission_table
from twin.playbook.actions import ActionContext, OptimiseReplanner
from twin.playbook.match import match_alert
from twin.playbook.runner import opening_moves, propose
from twin.playbook.schema import parse_playbook

DIST = {"YTN-RTM-SUEZ": 18500.0, "YTN-RTM-CAPE": 24500.0, "RTM-VENLO-ROAD": 160.0,
        "SZ-YTN-ROAD": 30.0}  # fmt: skip
# The bundled defaults, g CO2e per tonne-km WTW (docs/emissions.md). Yantian-Rotterdam is on
# the Asia-North Europe trade lane: Clean Cargo 37.9 g per TEU-km / 0.70 / 10 t x 1.15, plus
# WTT in DESNZ's container-ship proportion; road is DESNZ 2026 TTW + WTT.
SEA = 37.9 / 0.70 / 10 * 1.15 * (12.66 + 2.87) / 12.66
ROAD = 79.26 + 18.23


def network() -> Network:
    base = mini_network()
    lanes = tuple(
        lane.model_copy(update={"distance_km": DIST[lane.id]}) if lane.id in DIST else lane
        for lane in base.lanes
    )
    return base.model_copy(update={"lanes": lanes})


def propose_with(replan: dict[str, object]):  # type: ignore[no-untyped-def]
    net, ships = network(), shipments()
    playbook = make_playbook(
        id="carbon-suez",
        match={"targets": ["SUEZ"]},
        approval="auto",
        actions=[{"avoid": {}}, {"replan": replan}],
    )
    alert = make_alert(id="AL-1", target="SUEZ", kind="chokepoint", opened_at=NOW, updated_at=NOW)
    ctx = ActionContext(
        alert=alert,
        network=net,
        shipments=ships,
        current=plan_of_record(net, ships),
        now=NOW,
        replanner=OptimiseReplanner(),
        emissions=Emissions(net, load_emission_table()),
    )
    incident = propose(match_alert(alert, [playbook]), ctx)  # type: ignore[arg-type]
    return opening_moves(incident, at=NOW)[0], ships


def test_the_diff_carries_co2e_worked_by_hand() -> None:
    incident, ships = propose_with({"max_cost_increase_pct": 80})
    changes = {c.shipment: c for c in incident.diff.changes}
    assert set(changes) == {"S1", "S2"}
    for sid, change in changes.items():
        tonnes = ships[sid].units * 0.167  # 167 kg per cbm, the table's default density
        # Only the sea leg changes: 6,000 km more at the sea intensity per tonne-km.
        assert change.co2e_delta_kg == pytest.approx(tonnes * 6000 * SEA / 1000, rel=1e-6)
        old = tonnes * (30 * ROAD + 18500 * SEA + 160 * ROAD) / 1000
        assert change.old_co2e_kg == pytest.approx(old, rel=1e-6)
    summary = incident.diff.summary()
    assert summary["co2e_delta_kg"] == pytest.approx(60 * 0.167 * 6000 * SEA / 1000, abs=0.01)
    assert summary["co2e_increase_pct"] == pytest.approx(
        100 * 6000 * SEA / (30 * ROAD + 18500 * SEA + 160 * ROAD), abs=0.01
    )


def test_max_co2e_increase_pct_holds_an_auto_playbook_for_approval() -> None:
    held, _ = propose_with({"max_cost_increase_pct": 80, "max_co2e_increase_pct": 10})
    assert held.state.value == "proposed"
    assert any("max_co2e_increase_pct 10" in r for r in held.needs_approval)
    passed, _ = propose_with({"max_cost_increase_pct": 80, "max_co2e_increase_pct": 60})
    assert passed.state.value == "auto_approved" and not passed.needs_approval


def test_the_schema_validates_the_guardrail() -> None:
    doc = {
        "id": "x",
        "description": "a playbook with a carbon guardrail",
        "match": {"targets": ["SUEZ"]},
        "actions": [{"replan": {"max_co2e_increase_pct": -5}}],
    }
    with pytest.raises(InputError) as err:
        parse_playbook(doc, "x.yaml")
    assert "max_co2e_increase_pct" in str(err.value)
    doc["actions"] = [{"replan": {"max_co2e_increase_pct": 25}}]
    doc["guardrails"] = {"max_co2e_increase_pct": 15}
    assert parse_playbook(doc, "x.yaml").max_co2e_increase_pct() == 15
