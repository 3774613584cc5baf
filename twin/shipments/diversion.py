"""Diverting freight under way: a sea leg switched to a sister service from the same departure.

A ship's cargo can change course while sailing — a change of destination to another port, or
a turn away from a closed strait — but only until the ship has passed the point where the two
courses part. The twin's rule, shared by the engine (what it may propose) and the replay world
(what really happens):

- a sister service is another sea lane from the same port, either to the same port by another
  course (round the Cape instead of through Suez), or along the same course to another port of
  the same coast (Oakland instead of Long Beach: at most `NEAR_PORT_KM` apart);
- the courses part where they head apart: at the first waypoint (chokepoint, or the end) where
  they differ, the leg's waypoint `a` and the sister's `b`, the part from the last shared point
  `p` to `a` is shared for the share 1 - |ab| / |pa| (great circles; none if negative). Suez and
  Sunda courses from Yantian part some 60% of the way to Malacca; Panama and Suez courses to
  Savannah part at once; Long Beach and Oakland about a day out. The request must also reach
  the carrier `NOTICE` before the arrival;
- diverted freight arrives when the sister service from the same departure would have (the
  difference of the two courses added to the leg), and pays the sister's price instead of the
  old one, plus `FEE_PER_UNIT`.

Pure: times come from the legs given; no clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from twin.domain.plans import Leg
from twin.domain.records import Lane, Mode, Network
from twin.network.geo import has_coordinates, node_distance_km, passage_time

# Carriers take change-of-destination requests until a few days before arrival; two days is
# the shortest usual cut-off (an assumption: no published figure in our facts).
NOTICE = timedelta(days=2)
# Per cbm: the sea lanes' fixed cost (USD 20, terminal handling and documents at both ends,
# twin/data/lane_parameters.yaml) has its destination half paid again at the new port.
FEE_PER_UNIT = 10.0
# Ports a ship can be re-routed between along one course: Long Beach-Oakland 560 km,
# Long Beach-Seattle 1,550 km, Savannah-New York 1,100 km, Rotterdam-Hamburg 410 km.
NEAR_PORT_KM = 2000.0


def is_sister(lane: Lane, other: Lane, network: Network) -> bool:
    """Whether freight under way on `lane` could be sent on `other` from the same departure."""
    if (
        lane.mode != Mode.sea
        or other.mode != Mode.sea
        or other.id == lane.id
        or other.from_ != lane.from_
    ):
        return False
    if other.to == lane.to:
        return True
    a, b = network.node_by_id.get(lane.to), network.node_by_id.get(other.to)
    if tuple(other.via) != tuple(lane.via) or a is None or b is None:
        return False
    if not (has_coordinates(a) and has_coordinates(b)):
        return False
    return node_distance_km(a, b) <= NEAR_PORT_KM


def divert_by(leg: Leg, other: Lane, network: Network) -> datetime | None:
    """The last moment freight on `leg` can switch to `other` (None: `other` is no sister)."""
    lane = network.lane_by_id.get(leg.lane)
    if lane is None or not is_sister(lane, other, network):
        return None
    ours, theirs = [*lane.via, lane.to], [*other.via, other.to]
    differ = next((i for i, (x, y) in enumerate(zip(ours, theirs)) if x != y), None)
    if differ is None:
        return leg.arrive_at - NOTICE
    nodes = network.node_by_id

    def reached(i: int) -> datetime:  # when the leg passes waypoint i (-1: its start)
        if i < 0:
            return leg.depart_at
        return leg.arrive_at if i == len(ours) - 1 else passage_time(leg, ours[i], network)

    last = nodes.get(lane.from_ if differ == 0 else ours[differ - 1])
    a, b = nodes.get(ours[differ]), nodes.get(theirs[differ])
    share = 0.0
    if (
        last is not None
        and a is not None
        and b is not None
        and all(has_coordinates(n) for n in (last, a, b))
    ):
        ahead = node_distance_km(last, a)
        share = max(0.0, 1.0 - node_distance_km(a, b) / ahead) if ahead > 0 else 0.0
    start, end = reached(differ - 1), reached(differ)
    return min(start + (end - start) * share, leg.arrive_at - NOTICE)


def sisters(leg: Leg, network: Network, now: datetime) -> list[Lane]:
    """The sister services freight on `leg` can still switch to at `now`, by lane id."""
    found = []
    for other in network.lanes_from.get(leg.from_node, ()):
        deadline = divert_by(leg, other, network)
        if deadline is not None and now < deadline:
            found.append(other)
    return sorted(found, key=lambda lane: lane.id)


def diverted_leg(leg: Leg, other: Lane, network: Network) -> Leg:
    """The leg as the sister service sails it from the same departure: the planned leg's
    arrival moved by the difference of the two courses and of the stops at their ends."""
    lane = network.lane_by_id[leg.lane]
    nodes = network.node_by_id

    def stop(node_id: str) -> float:
        node = nodes.get(node_id)
        return (node.handling_days + node.clearance_days) if node is not None else 0.0

    days = other.transit_days - lane.transit_days + stop(other.to) - stop(lane.to)
    return Leg(
        lane=other.id,
        from_node=other.from_,
        to_node=other.to,
        depart_at=leg.depart_at,
        arrive_at=leg.arrive_at + timedelta(days=days),
    )
