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


class ReservedIndex:
    """`reserved_lane_capacity` of one plan of record at one `now`, for many `exclude` sets:
    the units of every (lane, day) summed once, and for an excluded set only the (lane, day)
    keys its shipments use summed again without them, in the same order as the full sum (so
    every figure equals `reserved_lane_capacity(routes, now, exclude)` exactly). A pass's
    playbooks each re-plan a few thousand of 50,000 shipments in flight."""

    def __init__(self, routes: Mapping[str, Sequence[Assignment]], now: datetime):
        self.now = now
        self.total: dict[tuple[str, int], float] = {}
        # Per key, its contributions in order; per shipment, the keys it contributes to.
        self._parts: dict[tuple[str, int], list[tuple[str, float]]] = {}
        self._keys_of: dict[str, set[tuple[str, int]]] = {}
        # Departures repeat (sailings, daily trucks): each one's day bucket is worked out once
        # (-1: before `now`, no longer taking capacity).
        self._day_of: dict[datetime, int] = {}
        for sid, assignments in routes.items():
            for key, units in self._contributions(assignments):
                self._parts.setdefault(key, []).append((sid, units))
                self._keys_of.setdefault(sid, set()).add(key)
                self.total[key] = self.total.get(key, 0.0) + units

    def _contributions(
        self, assignments: Sequence[Assignment]
    ) -> list[tuple[tuple[str, int], float]]:
        """The (lane, day) keys one shipment's assignments take, with units, in summing order."""
        found: list[tuple[tuple[str, int], float]] = []
        day_of, now = self._day_of, self.now
        for assignment in assignments:
            if assignment.legs and assignment.legs[-1].depart_at < now:
                continue
            for leg in assignment.legs:
                day = day_of.get(leg.depart_at)
                if day is None:
                    offset = (leg.depart_at - now) / timedelta(days=1)
                    day = -1 if offset < 0 else math.floor(offset + 1e-9)
                    day_of[leg.depart_at] = day
                if day >= 0:
                    found.append(((leg.lane, day), assignment.units))
        return found

    def overlaid(
        self,
        routes: Mapping[str, Sequence[Assignment]],
        changed: Mapping[str, Sequence[Assignment]],
    ) -> ReservedIndex:
        """The index of `routes`, which is this index's plan of record with `changed` laid over
        it (`{**plan, **changed}`): equal to `ReservedIndex(routes, now)` figure for figure
        (the same contributions summed in the same order), but only the keys the changed
        shipments take, before or after, are summed again."""
        made = object.__new__(ReservedIndex)
        made.now, made._day_of = self.now, self._day_of
        made.total, made._parts = dict(self.total), dict(self._parts)
        made._keys_of = dict(self._keys_of)
        fresh: dict[tuple[str, int], list[tuple[str, float]]] = {}
        touched: set[tuple[str, int]] = set()
        for sid, assignments in changed.items():
            touched |= self._keys_of.get(sid, set())
            keys: set[tuple[str, int]] = set()
            for key, units in self._contributions(assignments):
                fresh.setdefault(key, []).append((sid, units))
                keys.add(key)
            touched |= keys
            if keys:
                made._keys_of[sid] = keys
            else:
                made._keys_of.pop(sid, None)
        position = {sid: i for i, sid in enumerate(routes)}
        for key in touched:
            kept = [part for part in self._parts.get(key, ()) if part[0] not in changed]
            # Stable: each shipment's own contributions keep their order.
            parts = sorted(kept + fresh.get(key, []), key=lambda part: position[part[0]])
            if not parts:
                made._parts.pop(key, None)
                made.total.pop(key, None)
                continue
            value = 0.0
            for _, units in parts:
                value += units
            made._parts[key], made.total[key] = parts, value
        return made

    def without(self, exclude: set[str] | frozenset[str]) -> dict[tuple[str, int], float]:
        """What `reserved_lane_capacity(routes, now, exclude)` gives."""
        taken = dict(self.total)
        touched = set().union(*(self._keys_of.get(sid, ()) for sid in exclude))
        for key in touched:
            kept = [units for sid, units in self._parts[key] if sid not in exclude]
            if not kept:
                del taken[key]
                continue
            value = 0.0
            for units in kept:
                value += units
            taken[key] = value
        return taken
