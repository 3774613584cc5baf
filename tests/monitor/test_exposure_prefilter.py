"""`exposure` passes over assignments that reach no scored place (the daemon's 50,000 routes):
it finds exactly what the check of every point of every assignment finds."""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor_helpers import T0, row

from twin.domain.alerts import Exposure
from twin.domain.plans import Assignment
from twin.domain.records import Network
from twin.files.networks import load_network
from twin.network.geo import passage_time
from twin.scoring.config import ScoringConfig
from twin.scoring.exposure import _as_records, _in_force, cheapest_assignments, delay_days, exposure
from twin.scoring.propagate import assess
from twin.scoring.scorers import signals_frame
from twin.shipments.generate import generate_shipments

HORIZON = timedelta(days=45)


def every_point(
    scores: object, assignments: list[Assignment], network: Network, now: datetime
) -> list[Exposure]:
    """The check of every point of every assignment, with no passing over (the reference)."""
    config = ScoringConfig()
    by_target: dict[str, list] = {}
    for item in _as_records(scores, now):  # type: ignore[arg-type]
        if item.score >= config.exposure_threshold:
            by_target.setdefault(item.target, []).append(item)
    nodes, found = network.node_by_id, {}
    for a in assignments:
        if not a.legs:
            continue
        origin = nodes.get(a.legs[0].from_node)
        country = origin.country if origin is not None else None
        points = [(a.legs[0].from_node, a.legs[0].depart_at, a.legs[0].lane)]
        for leg in a.legs:
            points.append((leg.lane, leg.depart_at, leg.lane))
            lane = network.lane_by_id.get(leg.lane)
            for member in lane.via if lane is not None else ():
                points.append((member, passage_time(leg, member, network), leg.lane))
            points.append((leg.to_node, leg.arrive_at, leg.lane))
        for target, when, lane_id in points:
            if not (now <= when <= now + HORIZON):
                continue
            node = nodes.get(target)
            for item in by_target.get(target, ()):
                if item.kind == "lane" and target not in item.sources:
                    continue
                if (
                    item.dimension == "customs"
                    and node is not None
                    and not node.is_customs_entry_for(country)
                ):
                    continue
                if not _in_force(item, when):
                    continue
                key = (a.shipment, target, item.dimension, lane_id)
                if key in found:
                    prev = found[key]
                    found[key] = prev.model_copy(
                        update={"units": prev.units + a.units, "at": min(prev.at, when)}
                    )
                    continue
                found[key] = Exposure(
                    shipment=a.shipment,
                    target=target,
                    dimension=item.dimension,
                    score=item.score,
                    units=a.units,
                    at=when,
                    lane=lane_id,
                    expected_delay_days=round(delay_days(item.dimension, item.score, config), 3),
                    explain=item.explain,
                )
    return sorted(found.values(), key=lambda e: (e.at, e.shipment, e.target, e.dimension))


def test_passing_over_unscored_routes_finds_what_checking_every_point_finds() -> None:
    network, _ = load_network("demo")
    shipments = generate_shipments(network, start=T0, days=6, per_day=120, seed=5)
    assignments = cheapest_assignments(network, shipments)
    chokepoints = [n.id for n in network.nodes if n.kind.value == "chokepoint"]
    ports = [n.id for n in network.nodes if n.kind.value == "port"]
    rows = [row(c, "incidents_7d", 9.0, "security") for c in chokepoints[:3]]
    rows += [row(p, "eta_drift_hours", 80.0, "transit") for p in ports[:4]]
    rows += [row(p, "inspection_rate", 0.4, "customs") for p in ports[4:7]]
    rows += [row(network.lanes[0].id, "utilization", 1.0)]  # a lane's own reading
    scores = assess(signals_frame(rows), network, T0).frame
    found = exposure(scores, assignments, network, T0, HORIZON)
    expected = every_point(scores, assignments, network, T0)
    assert len(expected) > 50  # the case exposes freight of several kinds
    assert {e.dimension for e in expected} >= {"security", "transit"}
    assert found == expected
    # Most routes reach no scored place, so passing over them is what makes it fast.
    assert len({e.shipment for e in expected}) < len(assignments)
