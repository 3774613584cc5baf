"""Which shipments' remaining planned paths meet a risky node or lane while the risk is on, and
how many days of delay a score means (the planner's risk cost)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from itertools import pairwise
from typing import TypeAlias

import networkx as nx
import pandas as pd

from twin.domain.alerts import Exposure, RiskScore
from twin.domain.plans import Assignment, Leg
from twin.domain.records import Network, Shipment
from twin.network.geo import passage_time
from twin.scoring.config import ScoringConfig
from twin.scoring.scorers import to_risk_scores

Scores: TypeAlias = Iterable[RiskScore] | pd.DataFrame


def _as_records(scores: Scores, now: datetime) -> list[RiskScore]:
    if isinstance(scores, pd.DataFrame):
        return to_risk_scores(scores, now)
    return list(scores)


def delay_days(dimension: str, score: float, config: ScoringConfig | None = None) -> float:
    """Expected delay of a score: full_days[dimension] x clip((score - floor) / (1 - floor), 0, 1).

    E.g. security 1.0 (closure level) at the defaults gives 10 days, a Cape detour.
    """
    config = config or ScoringConfig()
    full = config.delay_days_full.get(dimension, 0.0)
    share = (score - config.delay_floor) / (1.0 - config.delay_floor)
    return full * min(max(share, 0.0), 1.0)


def expected_delay_days(
    scores: Scores, config: ScoringConfig | None = None, now: datetime | None = None
) -> dict[str, float]:
    """Expected extra days per target id, summed over dimensions (a customs hold and congestion
    add up). Lane entries already include the risk propagated from their `via` members and ends
    (see twin.scoring.propagate), so a planner pricing a route should add its lanes' values and
    not again those of the nodes the lanes touch.
    """
    config = config or ScoringConfig()
    if isinstance(scores, pd.DataFrame):
        out: dict[str, float] = {}
        for target, dimension, score in zip(scores["target"], scores["dimension"], scores["score"]):
            out[target] = out.get(target, 0.0) + delay_days(dimension, float(score), config)
        return out
    result: dict[str, float] = {}
    for item in scores:
        result[item.target] = result.get(item.target, 0.0) + delay_days(
            item.dimension, item.score, config
        )
    return result


def _in_force(score: RiskScore, when: datetime) -> bool:
    if score.starts_at is not None and when < score.starts_at:
        return False
    return score.until is None or when <= score.until


def exposure(
    scores: Scores,
    assignments: Sequence[Assignment],
    network: Network,
    now: datetime,
    horizon: timedelta,
    config: ScoringConfig | None = None,
) -> list[Exposure]:
    """Exposures of the remaining planned paths to risks scored at or above the threshold.

    Each assignment is checked at the points its freight will reach between `now` and
    `now + horizon`: every `via` node of each leg (at the passage time), every node a leg arrives
    at (arrive_at; customs only if it is a customs entry for the shipment's origin country, the
    first leg's start), the first node (depart_at) and each lane's own readings (depart_at).
    A risk counts when it is in force at that time (from starts_at, until `until`; open-ended
    risks are taken to last). Lane scores propagated from nodes are not counted again: the
    node itself is checked. Pure: no clock, no I/O.

    Returns exposures sorted by time, shipment, target and dimension.
    """
    config = config or ScoringConfig()
    by_target: dict[str, list[RiskScore]] = {}
    for item in _as_records(scores, now):
        if item.score >= config.exposure_threshold:
            by_target.setdefault(item.target, []).append(item)
    if not by_target:
        return []
    end = now + horizon
    nodes = network.node_by_id
    found: dict[tuple[str, str, str, str], Exposure] = {}

    def check(
        assignment: Assignment, target: str, when: datetime, lane: str, origin_country: str | None
    ) -> None:
        if not (now <= when <= end):
            return
        node = nodes.get(target)
        for item in by_target.get(target, ()):
            if item.kind == "lane" and target not in item.sources:
                continue  # propagated onto the lane: its node is checked on its own
            if (
                item.dimension == "customs"
                and node is not None
                and not node.is_customs_entry_for(origin_country)
            ):
                continue
            if not _in_force(item, when):
                continue
            key = (assignment.shipment, target, item.dimension, lane)
            if key in found:
                # Split routes of one shipment meeting the same risk: add their units.
                prev = found[key]
                found[key] = prev.model_copy(
                    update={"units": prev.units + assignment.units, "at": min(prev.at, when)}
                )
                continue
            found[key] = Exposure(
                shipment=assignment.shipment,
                target=target,
                dimension=item.dimension,
                score=item.score,
                units=assignment.units,
                at=when,
                lane=lane,
                expected_delay_days=round(delay_days(item.dimension, item.score, config), 3),
                explain=item.explain,
            )

    # Only places with a score at or above the threshold can expose freight: an assignment that
    # reaches none of them is passed over without timing its passages (most of them, at scale).
    # (A lane's score propagated from its nodes is not counted on the lane: see `check`.)
    hot = {
        target
        for target, items in by_target.items()
        if any(item.kind != "lane" or target in item.sources for item in items)
    }
    hot_via = {lane.id for lane in network.lanes if any(v in hot for v in lane.via)}
    for assignment in assignments:
        if not assignment.legs:
            continue
        first = assignment.legs[0]
        if first.from_node not in hot and not any(
            leg.lane in hot or leg.to_node in hot or leg.lane in hot_via for leg in assignment.legs
        ):
            continue
        origin = nodes.get(first.from_node)
        country = origin.country if origin is not None else None
        # (Each place is checked only if it is scored: most of a route's places are not.)
        if first.from_node in by_target:
            check(assignment, first.from_node, first.depart_at, first.lane, country)
        for leg in assignment.legs:
            if leg.lane in by_target:
                check(assignment, leg.lane, leg.depart_at, leg.lane, country)
            lane = network.lane_by_id.get(leg.lane) if leg.lane in hot_via else None
            for member in lane.via if lane is not None else ():
                if member in hot:
                    check(assignment, member, passage_time(leg, member, network), leg.lane, country)
            if leg.to_node in by_target:
                check(assignment, leg.to_node, leg.arrive_at, leg.lane, country)
    return sorted(found.values(), key=lambda e: (e.at, e.shipment, e.target, e.dimension))


def cheapest_assignments(network: Network, shipments: Sequence[Shipment]) -> list[Assignment]:
    """Stand-in plan until the optimiser plans shipments: each shipment's cheapest path
    (Dijkstra on cost_per_unit, cheapest of parallel lanes), whole, leaving at ready_at; at each
    node it waits handling_days, plus clearance_days where it is a customs entry for the origin.
    Shipments with no path are left out.
    """
    graph = nx.MultiDiGraph()
    graph.add_nodes_from(network.node_by_id)
    for lane in network.lanes:
        graph.add_edge(lane.from_, lane.to, key=lane.id, lane=lane)

    def cost(u: str, v: str, edges: dict) -> float:
        return min(d["lane"].cost_per_unit for d in edges.values()) + 1e-9

    out: list[Assignment] = []
    for shipment in shipments:
        if shipment.origin not in graph or shipment.destination not in graph:
            continue
        try:
            path = nx.dijkstra_path(graph, shipment.origin, shipment.destination, weight=cost)
        except nx.NetworkXNoPath:
            continue
        origin = network.node_by_id[shipment.origin]
        clock, legs, money = shipment.ready_at, [], 0.0
        for a, b in pairwise(path):
            lane = min(
                (d["lane"] for d in graph[a][b].values()), key=lambda x: (x.cost_per_unit, x.id)
            )
            arrive = clock + timedelta(days=lane.transit_days)
            legs.append(
                Leg(lane=lane.id, from_node=a, to_node=b, depart_at=clock, arrive_at=arrive)
            )
            money += lane.cost_per_unit * shipment.units
            node = network.node_by_id[b]
            stop = node.handling_days + (
                node.clearance_days if node.is_customs_entry_for(origin.country) else 0.0
            )
            clock = arrive + timedelta(days=stop)
        late = max(0.0, (clock - shipment.due_at).total_seconds() / 86400.0)
        out.append(
            Assignment(
                shipment=shipment.id,
                units=shipment.units,
                legs=tuple(legs),
                eta=clock,
                cost=money,
                late_days=late,
            )
        )
    return out
