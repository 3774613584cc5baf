"""The planner's time rules, in one place: daily buckets from `now`, arc durations, lateness.

Every part of the planner and every oracle in the tests uses these functions, so a rule
changes here or nowhere.

- Day ``d`` is the bucket ``[now + d days, now + (d + 1) days)``; freight that is "at a node on
  day d" can leave it on any departure day ``>= d``.
- A shipment (or a re-planned shipment at its current position) is available on its
  *ready day*: ``ceil((ready_at - now) / 1 day)``, never before day 0.
- A lane departing on day ``d`` towards node ``v`` makes the freight available at ``v`` on day
  ``d + ceil(transit_days + handling_days(v) + clearance_days(v))``: the lane's transit (with
  any what-if delay), the far node's handling and, when ``v`` is a customs entry for the
  shipment's origin country, its clearance — summed first, rounded up once.
- Waiting at a node for a later departure is allowed and costs only time.
- A shipment's *due day* is ``floor((due_at - now) / 1 day)``; arriving on day ``a`` it is
  ``max(0, a - due_day)`` whole days late.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

DAY = timedelta(days=1)
# Time stamps and durations are floats of days; this absorbs float noise such as 2.0000000001.
_EPS = 1e-9


def day_offset(now: datetime, ts: datetime) -> float:
    """Days from `now` to `ts` as a float (negative when `ts` is earlier)."""
    return (ts - now) / DAY


def ready_day(now: datetime, ready_at: datetime) -> int:
    """The first day bucket on which freight ready at `ready_at` may depart.

    >>> from datetime import datetime, timezone
    >>> now = datetime(2024, 1, 1, tzinfo=timezone.utc)
    >>> ready_day(now, datetime(2024, 1, 2, 6, tzinfo=timezone.utc))
    2
    """
    return max(0, math.ceil(day_offset(now, ready_at) - _EPS))


def day_of(now: datetime, ts: datetime) -> int:
    """The day bucket `ts` falls in (negative before `now`)."""
    return math.floor(day_offset(now, ts) + _EPS)


def due_day(now: datetime, due_at: datetime) -> int:
    """The last day bucket on which arrival is on time (may be negative if already overdue)."""
    return day_of(now, due_at)


def arc_days(transit_days: float, handling_days: float = 0.0, clearance_days: float = 0.0) -> int:
    """Whole days from departure until the freight is available at the lane's far end.

    >>> arc_days(2.5, 0.5)
    3
    >>> arc_days(0.25)
    1
    """
    return max(1, math.ceil(transit_days + handling_days + clearance_days - _EPS))


def late_days(arrival_day: int, due: int) -> int:
    """Whole days late when arriving on `arrival_day` for a shipment due on day `due`."""
    return max(0, arrival_day - due)


def at_day(now: datetime, day: int) -> datetime:
    """The time stamp that starts day bucket `day`."""
    return now + day * DAY
