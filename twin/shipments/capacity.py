"""The capacity the plan of record already takes: what every plan and re-plan leaves to others."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from twin.domain.plans import Assignment


def reserved_lane_capacity(
    routes: Mapping[str, Sequence[Assignment]],
    now: datetime,
    exclude: set[str] | frozenset[str] = frozenset(),
) -> dict[tuple[str, int], float]:
    """Units each (lane, departure day) already carries in the plan of record `routes`, in the
    planner's day buckets from `now` (departures before `now` no longer take capacity).
    Shipments in `exclude` (the ones being planned) reserve nothing.

    >>> from datetime import UTC
    >>> from twin.domain.plans import Leg
    >>> t0 = datetime(2024, 1, 1, tzinfo=UTC)
    >>> leg = Leg(lane="L", from_node="A", to_node="B", depart_at=t0 + timedelta(days=2),
    ...           arrive_at=t0 + timedelta(days=3))
    >>> a = Assignment(shipment="S1", units=5, legs=(leg,), eta=leg.arrive_at, cost=1.0,
    ...                late_days=0.0)
    >>> reserved_lane_capacity({"S1": (a,)}, t0)
    {('L', 2): 5.0}
    """
    taken: dict[tuple[str, int], float] = {}
    for sid, assignments in routes.items():
        if sid in exclude:
            continue
        for assignment in assignments:
            if assignment.legs and assignment.legs[-1].depart_at < now:
                continue  # every leg has left: it no longer takes capacity ahead
            for leg in assignment.legs:
                offset = (leg.depart_at - now) / timedelta(days=1)
                if offset < 0:
                    continue
                key = (leg.lane, math.floor(offset + 1e-9))
                taken[key] = taken.get(key, 0.0) + assignment.units
    return taken
