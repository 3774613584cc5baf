"""A playbook's re-plan diverts freight under way when that costs less than meeting the risk."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from chain_world import NOW, mini_network, plan_of_record
from playbook_builders import make_alert

from twin.domain.alerts import Exposure
from twin.domain.records import Shipment
from twin.files.playbooks import load_playbooks
from twin.playbook.actions import ActionContext, OptimiseReplanner
from twin.playbook.match import match_alert
from twin.playbook.runner import propose
from twin.shipments.diversion import FEE_PER_UNIT

DAY = timedelta(days=1)
LIBRARY = Path(__file__).resolve().parents[2] / "playbooks"


def _context(departed_days_ago: float, suez_wait_days: float) -> ActionContext:
    network = mini_network()
    # Ready two road-days before it sails: on the water `departed_days_ago` days at NOW.
    ship = Shipment(
        id="S9",
        origin="CN-SZ",
        destination="NL-VENLO",
        units=10,
        ready_at=NOW - (1 + departed_days_ago) * DAY,
        due_at=NOW + 40 * DAY,
    )
    current = plan_of_record(network, {"S9": ship})
    sea = current["S9"][0].legs[1]
    assert sea.lane == "YTN-RTM-SUEZ" and sea.depart_at <= NOW < sea.arrive_at
    alert = make_alert(
        id="AL-SUEZ", target="SUEZ", kind="chokepoint", opened_at=NOW, updated_at=NOW
    )
    exposures = (
        Exposure(
            shipment="S9",
            target="SUEZ",
            dimension="security",
            score=1.0,
            units=10,
            at=NOW,
            lane="YTN-RTM-SUEZ",
            expected_delay_days=suez_wait_days,
        ),
    )
    return ActionContext(
        alert=alert,
        network=network,
        shipments={"S9": ship},
        current=current,
        now=NOW,
        exposures=exposures,
        replanner=OptimiseReplanner(),
        risk_days={"YTN-RTM-SUEZ": suez_wait_days},
    )


def _proposed_path(ctx: ActionContext) -> list[str] | None:
    matched = match_alert(ctx.alert, load_playbooks(LIBRARY))
    assert matched is not None and matched.playbook.id == "avoid-closed-chokepoint"
    incident = propose(matched, ctx)
    changes = {c.shipment: c for c in incident.diff.changes}
    routes = [a for a in incident.new_routes if a.shipment == "S9"]
    return list(routes[0].path) if "S9" in changes and routes else None


def test_a_ship_short_of_the_parting_point_turns_round_the_cape() -> None:
    ctx = _context(departed_days_ago=1, suez_wait_days=30)
    assert _proposed_path(ctx) == ["SZ-YTN-ROAD", "YTN-RTM-CAPE", "RTM-VENLO-ROAD"]
    matched = match_alert(ctx.alert, load_playbooks(LIBRARY))
    incident = propose(matched, ctx)  # type: ignore[arg-type]
    (turned,) = [a for a in incident.new_routes if a.shipment == "S9"]
    # The same ship, the same departure: only the course changes.
    assert turned.legs[1].depart_at == ctx.current["S9"][0].legs[1].depart_at
    # On-call sees what it costs: the Cape's price over Suez's and the fee, for 10 cbm (and a
    # day late on arrival), against 20 days of lateness avoided.
    (change,) = incident.diff.changes
    assert change.cost_delta >= 10 * (75 - 60 + FEE_PER_UNIT) and change.late_days_avoided == 20


def test_waiting_wins_when_the_wait_is_short() -> None:
    # Ten more days round the Cape and its price against a two-day wait: stay on course.
    assert _proposed_path(_context(departed_days_ago=1, suez_wait_days=2)) is None


def test_past_the_parting_point_the_ship_stays_on_course() -> None:
    assert _proposed_path(_context(departed_days_ago=8, suez_wait_days=30)) is None
