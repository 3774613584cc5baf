"""Daily on-time rates of a replay's deliveries and the time a run takes to recover from a disruption.

Definitions (docs/replay.md):

- the daily on-time rate of a run on day d is the share of shipment parts due in the trailing
  `window_days` up to and including day d (UTC days) that arrived by their due time. Counting
  by due day, freight held somewhere counts late when it falls due, not weeks later when it
  finally arrives (the report's chart counts by delivery day: what reached the warehouses);
- the reference is what the rate would have been without the disruption: the same day's rate of
  the undisturbed world (the baseline's plans with no effects, same seed). Without that run, the
  on-time rate of the parts delivered before the first effect stands in (at least
  `min_reference` parts, else there is no reference and no time to recover);
- time to recover is the number of days from the first effect to the first day, after the
  rate first fell more than `tolerance` below the reference, on which it is back within
  `tolerance` of it: 0 if it never fell, None if it has not recovered by the last delivery
  or due time.
  Days on which either rate is undefined (nothing delivered in the window) are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from twin.replay.world import Outcome

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Recovery:
    """The outcome of `time_to_recover`: the reference level, the dip and the recovery."""

    reference: float | None
    first_effect: datetime | None
    dipped_on: date | None
    recovered_on: date | None
    days: float | None
    reason: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "reference_on_time_rate": None if self.reference is None else round(self.reference, 4),
            "dipped_on": self.dipped_on.isoformat() if self.dipped_on else None,
            "recovered_on": self.recovered_on.isoformat() if self.recovered_on else None,
            "days": self.days,
            "reason": self.reason,
        }


def _day(at: datetime) -> date:
    return at.astimezone(UTC).date()


def daily_on_time(
    outcomes: Iterable[Outcome],
    start: datetime,
    end: datetime,
    window_days: int = 7,
    *,
    by: str = "delivery",
) -> list[tuple[date, float | None, int]]:
    """(day, trailing on-time rate or None when no part counts, parts counted) for every UTC
    day from `start` to `end`; parts count on their delivery day (`by="delivery"`) or on their
    due day (`by="due"`, delivery day where a part has no due time)."""
    delivered: dict[date, list[bool]] = {}
    for outcome in outcomes:
        when = (
            outcome.due_at if by == "due" and outcome.due_at is not None else outcome.delivered_at
        )
        if when is None:
            continue
        delivered.setdefault(_day(when), []).append(outcome.late_days <= 1e-9)
    out: list[tuple[date, float | None, int]] = []
    day, last = _day(start), _day(end)
    while day <= last:
        flags = [f for k in range(window_days) for f in delivered.get(day - k * DAY, ())]
        out.append((day, sum(flags) / len(flags) if flags else None, len(flags)))
        day += DAY
    return out


def time_to_recover(
    outcomes: Sequence[Outcome],
    first_effect: datetime | None,
    start: datetime,
    end: datetime,
    *,
    reference_outcomes: Sequence[Outcome] | None = None,
    window_days: int = 7,
    tolerance: float = 0.02,
    min_reference: int = 20,
) -> Recovery:
    """Days from the first effect until the run's daily on-time rate is back at the level it
    would have had without the disruption (see the module docstring for the exact definition).
    Days run from `start` to the last delivery or due time of either run (at least `end`)."""
    if first_effect is None:
        return Recovery(None, None, None, None, None, "no effects")
    stamps = [
        t
        for o in (*outcomes, *(reference_outcomes or ()))
        for t in (o.delivered_at, o.due_at)
        if t is not None
    ]
    last = max([end, *stamps])
    curve = daily_on_time(outcomes, start, last, window_days, by="due")
    if reference_outcomes is not None:
        reference_by_day = {
            day: rate
            for day, rate, _ in daily_on_time(
                reference_outcomes, start, last, window_days, by="due"
            )
        }
        level = None
    else:
        before = [
            o.late_days <= 1e-9
            for o in outcomes
            if o.delivered_at is not None and o.delivered_at < first_effect
        ]
        if len(before) < min_reference:
            return Recovery(
                None,
                first_effect,
                None,
                None,
                None,
                f"only {len(before)} parts delivered before the first effect",
            )
        level = sum(before) / len(before)
        reference_by_day = {day: level for day, _, _ in curve}
    dipped: date | None = None
    for day, rate, _ in curve:
        reference = reference_by_day.get(day)
        if day < _day(first_effect) or rate is None or reference is None:
            continue
        if dipped is None:
            if rate < reference - tolerance:
                dipped = day
        elif rate >= reference - tolerance:
            days = (datetime.combine(day, datetime.min.time(), UTC) - first_effect) / DAY
            return Recovery(level, first_effect, dipped, day, round(max(0.0, days), 2))
    if dipped is None:
        return Recovery(level, first_effect, None, None, 0.0, "never fell below the reference")
    return Recovery(level, first_effect, dipped, None, None, "not recovered by the last delivery")
