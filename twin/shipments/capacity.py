"""The capacity the plan of record already takes: what every plan and re-plan leaves to others."""

from __future__ import annotations

import bisect
import itertools
import math
import operator
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


# A ledger's share of a (lane, departure): the n-th leg of its shipment's assignments, its
# units, the shipment, and when the assignment's last leg departs (once gone, it takes nothing).
_Part = tuple[int, float, str, datetime]
_Key = tuple[str, datetime]


class CapacityLedger:
    """The capacity a plan of record reserves, kept per (lane, departure) across passes and
    changes of the plan: `sync(routes)` takes in only the shipments whose routes changed since
    the last sync (told apart by identity: routes are replaced, never mutated; the daemon's
    store keeps an unchanged route's object from pass to pass), and `at(now).without(exclude)`
    gives `reserved_lane_capacity(routes, now, exclude)` exactly, float for float: each
    (lane, day) bucket is summed over its shares in the plan's order (shipment, then leg), as
    a fresh sum adds them up. Departures are the key, not days from `now`, so one ledger serves
    every pass's `now`.

    A plan whose shipments changed their order relative to each other (not the daemon's: its
    plan is read in id order, and the engine adds and replaces, never reorders) is taken in
    afresh."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._order: list[str] = []
        self._values: list[Sequence[Assignment]] = []
        self._pos: dict[str, int] = {}
        self._parts: dict[_Key, list[_Part]] = {}
        self._keys_of: dict[str, set[_Key]] = {}
        self._total: dict[_Key, float] = {}
        # Keys with a share of an assignment whose legs do not depart in time order: its last
        # leg may have gone before a leg on this key, so the share is judged at each `now`.
        self._irregular: set[_Key] = set()
        self._version = 0
        self._views: dict[datetime, ReservedAt] = {}

    def sync(self, routes: Mapping[str, Sequence[Assignment]]) -> CapacityLedger:
        """Take in `routes` as the plan (what changed since the last sync). Returns itself."""
        order, values = list(routes), list(routes.values())
        known = len(self._order)
        if known and len(order) > known and order[:known] == self._order:
            # Bookings: the plan as before, new shipments last.
            changed = [
                order[i]
                for i in itertools.compress(
                    range(known), map(operator.is_not, values[:known], self._values)
                )
            ]
            changed += order[known:]
            removed: list[str] = []
            self._pos.update((sid, known + i) for i, sid in enumerate(order[known:]))
        elif order == self._order:
            if all(map(operator.is_, values, self._values)):
                return self
            changed = [
                order[i]
                for i in itertools.compress(
                    range(len(order)), map(operator.is_not, values, self._values)
                )
            ]
            removed = []
        else:
            was = self._pos
            last = -1
            for sid in order:
                at = was.get(sid)
                if at is not None:
                    if at < last:  # shipments reordered: sums in the new order from scratch
                        self._reset()
                        return self.sync(routes)
                    last = at
            before = dict(zip(self._order, self._values, strict=True))
            removed = [sid for sid in self._order if sid not in routes]
            changed = [
                sid for sid, r in zip(order, values, strict=True) if before.get(sid) is not r
            ]
            self._pos = {sid: i for i, sid in enumerate(order)}
        touched = self._drop({*removed, *changed})
        for sid in changed:
            touched |= self._add(sid, routes[sid])
        pos = self._pos
        for key in touched:
            parts = self._parts.get(key)
            if not parts:
                self._parts.pop(key, None)
                self._total.pop(key, None)
                self._irregular.discard(key)
                continue
            parts.sort(key=lambda part: (pos[part[2]], part[0]))
            value = 0.0
            for part in parts:
                value += part[1]
            self._total[key] = value
        self._order, self._values = order, values
        self._version += 1
        self._views = {}
        return self

    def _add(self, sid: str, assignments: Sequence[Assignment]) -> set[_Key]:
        keys: set[_Key] = set()
        n = 0
        for assignment in assignments:
            if not assignment.legs:
                continue
            gone = assignment.legs[-1].depart_at
            regular = all(
                a.depart_at <= b.depart_at for a, b in itertools.pairwise(assignment.legs)
            )
            for leg in assignment.legs:
                n += 1
                key = (leg.lane, leg.depart_at)
                self._parts.setdefault(key, []).append((n, assignment.units, sid, gone))
                keys.add(key)
                if not regular:
                    self._irregular.add(key)
        if keys:
            self._keys_of[sid] = keys
        return keys

    def _drop(self, sids: set[str]) -> set[_Key]:
        """Take `sids`' shares out (each key's shares filtered once, however many go)."""
        keys: set[_Key] = set()
        for sid in sids:
            keys |= self._keys_of.pop(sid, set())
        for key in keys:
            self._parts[key] = [part for part in self._parts[key] if part[2] not in sids]
        return keys

    def at(self, now: datetime) -> ReservedAt:
        """The ledger's figures at `now` (kept until the next sync)."""
        view = self._views.get(now)
        if view is None:
            view = self._views[now] = ReservedAt(self, now)
        return view

    def reserved(
        self,
        routes: Mapping[str, Sequence[Assignment]],
        now: datetime,
        exclude: set[str] | frozenset[str] = frozenset(),
    ) -> dict[tuple[str, int], float]:
        """What `reserved_lane_capacity(routes, now, exclude)` gives."""
        return self.sync(routes).at(now).without(frozenset(exclude))


class ReservedAt:
    """A CapacityLedger's figures at one `now`: each (lane, day) bucket's departures and sum."""

    def __init__(self, ledger: CapacityLedger, now: datetime):
        self.ledger, self.now = ledger, now
        self._bucket: dict[_Key, tuple[str, int]] = {}
        self._keys: dict[tuple[str, int], list[_Key]] = {}
        day_of: dict[datetime, int] = {}
        for key in ledger._parts:
            depart = key[1]
            if depart < now:
                continue  # left: no longer takes capacity
            day = day_of.get(depart)
            if day is None:
                day = day_of[depart] = math.floor((depart - now) / timedelta(days=1) + 1e-9)
            bucket = (key[0], day)
            self._bucket[key] = bucket
            self._keys.setdefault(bucket, []).append(key)
        self.total: dict[tuple[str, int], float] = {}
        for bucket, keys in self._keys.items():
            if len(keys) == 1 and keys[0] not in ledger._irregular:
                self.total[bucket] = ledger._total[keys[0]]
                continue
            found, value = self._sum(keys, frozenset())
            if found:
                self.total[bucket] = value

    def _sum(self, keys: list[_Key], exclude: frozenset[str]) -> tuple[bool, float]:
        """The bucket's shares in the plan's order, but `exclude`'s and those gone by `now`."""
        ledger, now = self.ledger, self.now
        pos = ledger._pos
        parts = [part for key in keys for part in ledger._parts[key]]
        if len(keys) > 1:
            parts.sort(key=lambda part: (pos[part[2]], part[0]))
        value, found = 0.0, False
        for _, units, sid, gone in parts:
            if sid in exclude or gone < now:
                continue
            value, found = value + units, True
        return found, value

    def without(self, exclude: frozenset[str]) -> dict[tuple[str, int], float]:
        """What `reserved_lane_capacity(routes, now, exclude)` gives for the synced plan."""
        taken = dict(self.total)
        keys_of, bucket_of = self.ledger._keys_of, self._bucket
        touched = {
            bucket_of[key] for sid in exclude for key in keys_of.get(sid, ()) if key in bucket_of
        }
        for bucket in touched:
            found, value = self._sum(self._keys[bucket], exclude)
            if found:
                taken[bucket] = value
            else:
                taken.pop(bucket, None)
        return taken


# A share of a (lane, departure): its place in the plan (shipment's rank, n-th share of it),
# units and shipment.
_Share = tuple[tuple[int, int], float, str]
_Merged = tuple[
    tuple[tuple[str, datetime], ...], tuple[int, ...], tuple[int, ...], tuple[int, int], bool, float
]


def _share_order(share: _Share) -> tuple[int, int]:
    return share[0]


class ReservedLedger:
    """`reserved_lane_capacity` kept up to date across bookings instead of re-summed over the
    whole plan of record at each one: each call takes in only the routes that changed since
    the last (told apart by identity: routes are replaced, never mutated).

    Every figure equals `reserved_lane_capacity(routes, now, exclude)` exactly, float for
    float: each (lane, departure) keeps its shares in the plan's order with their running sum,
    which bookings only extend (new shipments come last); a day that gathers several
    departures, a share changed mid-way or an excluded shipment sums that day's shares again
    in the plan's order. A plan whose order or legs do not fit (shipments moved in the order,
    legs out of time order, a `now` earlier than before) is summed in full instead."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._seen: dict[str, Sequence[Assignment]] = {}
        self._rank: dict[str, int] = {}  # each shipment's place in the plan's order
        self._next_rank = 0
        self._shares: dict[str, list[tuple[str, datetime]]] = {}  # per shipment, its groups
        # Per (lane, departure): its shares in the plan's order ((rank, n-th share), units, sid)
        # and their running sum (None once a share changed mid-way).
        self._groups: dict[tuple[str, datetime], list[_Share]] = {}
        self._sums: dict[tuple[str, datetime], float | None] = {}
        # Per (lane, departure): bumped when a share is removed or inserted mid-way.
        self._epochs: dict[tuple[str, datetime], int] = {}
        # Per (lane, day) of several departures: the departures, their epochs and share
        # counts, the last share's order, and the sum, as of the last call.
        self._merged: dict[tuple[str, int], _Merged] = {}
        self._floor: datetime | None = None  # departures before it are dropped
        # The plan as last seen, in its order (to find what changed at C speed).
        self._order: list[str] = []
        self._values: list[Sequence[Assignment]] = []

    def reserved(
        self,
        routes: Mapping[str, Sequence[Assignment]],
        now: datetime,
        exclude: set[str] | frozenset[str] = frozenset(),
    ) -> dict[tuple[str, int], float]:
        """What `reserved_lane_capacity(routes, now, exclude)` gives."""
        if (self._floor is not None and now < self._floor) or not self._sync(routes, now):
            self._reset()
            return reserved_lane_capacity(routes, now, exclude)
        excluded = {key for sid in exclude for key in self._shares.get(sid, ())}
        by_day: dict[tuple[str, int], list[tuple[str, datetime]]] = {}
        day_of: dict[datetime, int] = {}
        for key in self._groups:
            depart = key[1]
            day = day_of.get(depart)
            if day is None:
                day = math.floor((depart - now) / timedelta(days=1) + 1e-9)
                day_of[depart] = day
            by_day.setdefault((key[0], day), []).append(key)
        taken: dict[tuple[str, int], float] = {}
        for day_key, keys in by_day.items():
            if len(keys) == 1 and keys[0] not in excluded:
                total = self._sums[keys[0]]
                if total is not None:
                    taken[day_key] = total
                    continue
            if excluded.isdisjoint(keys):
                found, value = self._merged_sum(day_key, keys)
            else:
                shares = sorted(
                    (share for key in keys for share in self._groups[key]), key=_share_order
                )
                value, found = 0.0, False
                for _, units, sid in shares:
                    if sid not in exclude:
                        value, found = value + units, True
            if found:
                taken[day_key] = value
        return taken

    def _merged_sum(
        self, day_key: tuple[str, int], keys: list[tuple[str, datetime]]
    ) -> tuple[bool, float]:
        """The sum of several departures' shares in the plan's order (whether there are any):
        carried on from the last call's when the same departures only gained later shares."""
        groups = [self._groups[key] for key in keys]
        epochs = tuple(self._epochs.get(key, 0) for key in keys)
        lengths = tuple(len(shares) for shares in groups)
        was = self._merged.get(day_key)
        if was is not None and was[0] == tuple(keys) and was[1] == epochs:
            _, _, before, last, found, value = was
            new = sorted(
                (share for shares, n in zip(groups, before, strict=True) for share in shares[n:]),
                key=_share_order,
            )
            if not new or new[0][0] > last:
                for share in new:
                    value, found, last = value + share[1], True, share[0]
                self._merged[day_key] = (tuple(keys), epochs, lengths, last, found, value)
                return found, value
        value, found, last = 0.0, False, (-1, -1)
        for share in sorted((share for shares in groups for share in shares), key=_share_order):
            value, found, last = value + share[1], True, share[0]
        self._merged[day_key] = (tuple(keys), epochs, lengths, last, found, value)
        return found, value

    def _sync(self, routes: Mapping[str, Sequence[Assignment]], now: datetime) -> bool:
        """Take in the routes changed since the last call; False if the plan does not fit."""
        self._floor = now
        order, values = list(routes), list(routes.values())
        known = len(self._order)
        if order[:known] == self._order:  # the usual case: same order, new bookings last
            changed = itertools.compress(range(known), map(operator.is_not, values, self._values))
            for i in changed:
                self._drop(order[i])
                if not self._add(order[i], values[i]):
                    return False
            for sid, assignments in zip(order[known:], values[known:], strict=True):
                self._rank[sid] = self._next_rank
                self._next_rank += 1
                if not self._add(sid, assignments):
                    return False
        elif not self._sync_in_full(routes):
            return False
        self._order, self._values = order, values
        for key in [k for k in self._groups if k[1] < now]:  # left: no longer taking capacity
            del self._groups[key]
            del self._sums[key]
            self._epochs.pop(key, None)
        return True

    def _sync_in_full(self, routes: Mapping[str, Sequence[Assignment]]) -> bool:
        """`_sync` for a plan whose order changed: every shipment checked in turn."""
        last_rank = -1
        for sid, assignments in routes.items():
            before = self._seen.get(sid)
            if before is None:
                self._rank[sid] = self._next_rank
                self._next_rank += 1
            elif before is not assignments:
                self._drop(sid)
            rank = self._rank[sid]
            if rank <= last_rank:
                return False  # a shipment moved in the plan's order
            last_rank = rank
            if before is not assignments and not self._add(sid, assignments):
                return False
        if len(self._seen) > len(routes):  # some shipments' routes were taken away
            for sid in [s for s in self._seen if s not in routes]:
                self._drop(sid)
                del self._rank[sid]
        return True

    def _add(self, sid: str, assignments: Sequence[Assignment]) -> bool:
        self._seen[sid] = assignments
        rank = self._rank[sid]
        keys: list[tuple[str, datetime]] = []
        n = 0
        for assignment in assignments:
            departs = [leg.depart_at for leg in assignment.legs]
            if departs != sorted(departs):
                return False  # "every leg has left" is then not "the last leg has left"
            for leg in assignment.legs:
                n += 1
                if leg.depart_at < self._floor:  # type: ignore[operator]
                    continue
                key = (leg.lane, leg.depart_at)
                shares = self._groups.setdefault(key, [])
                share = ((rank, n), assignment.units, sid)
                if shares and shares[-1][0] > share[0]:
                    bisect.insort(shares, share, key=_share_order)
                    self._sums[key] = None
                    self._epochs[key] = self._epochs.get(key, 0) + 1
                else:
                    shares.append(share)
                    total = self._sums.get(key, 0.0)
                    self._sums[key] = None if total is None else total + assignment.units
                keys.append(key)
        self._shares[sid] = keys
        return True

    def _drop(self, sid: str) -> None:
        self._seen.pop(sid, None)
        for key in set(self._shares.pop(sid, ())):
            shares = self._groups.get(key)
            if shares is not None:
                shares[:] = [share for share in shares if share[2] != sid]
                self._sums[key] = None
                self._epochs[key] = self._epochs.get(key, 0) + 1
