"""Time to recover, against hand-counted daily on-time rates."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from twin.replay.recovery import daily_on_time, time_to_recover
from twin.replay.world import Outcome

T0 = datetime(2024, 3, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def delivered(day: int, late: bool, n: int = 1) -> list[Outcome]:
    """n parts delivered at noon on day `day` after T0, late or on time."""
    at = T0 + day * DAY + timedelta(hours=12)
    return [
        Outcome(
            shipment=f"S{day}-{i}",
            units=1,
            delivered_at=at,
            late_days=2.0 if late else 0.0,
            transport_cost=1,
            lateness_cost=0,
            lanes=(),
        )
        for i in range(n)
    ]


def test_daily_rate_is_the_trailing_window_share_on_time() -> None:
    outcomes = delivered(0, False, 3) + delivered(1, True) + delivered(9, False)
    rates = {d: (r, n) for d, r, n in daily_on_time(outcomes, T0, T0 + 9 * DAY, window_days=7)}
    assert rates[T0.date()] == (1.0, 3)
    assert rates[(T0 + DAY).date()] == (0.75, 4)
    assert rates[(T0 + 7 * DAY).date()] == (0.0, 1)  # day 0 has left the 7-day window
    assert rates[(T0 + 8 * DAY).date()] == (None, 0)
    assert rates[(T0 + 9 * DAY).date()] == (1.0, 1)


def test_recovery_is_measured_against_the_undisturbed_world_day_by_day() -> None:
    # Undisturbed: 4 parts a day, one of them late every day (a 0.75 level from day 0).
    calm = [o for d in range(40) for o in delivered(d, False, 3) + delivered(d, True)]
    # Disturbed from day 10: days 10-14 deliver everything late, then back to normal.
    run = [
        o
        for d in range(40)
        for o in (
            delivered(d, True, 4) if 10 <= d <= 14 else delivered(d, False, 3) + delivered(d, True)
        )
    ]
    effect = T0 + 10 * DAY
    got = time_to_recover(run, effect, T0, T0 + 30 * DAY, reference_outcomes=calm)
    # The 7-day window holds a fully-late day until day 21 (it covers days 15-21 from then on).
    assert got.dipped_on == (T0 + 10 * DAY).date()
    assert got.recovered_on == (T0 + 21 * DAY).date()
    assert got.days == 11.0
    # Recovery after the scenario's end still counts: it is followed to the last delivery.
    late_end = time_to_recover(run, effect, T0, T0 + 12 * DAY, reference_outcomes=calm)
    assert late_end.days == 11.0


def test_no_dip_is_zero_and_no_recovery_is_none() -> None:
    calm = [o for d in range(30) for o in delivered(d, False, 2)]
    assert (
        time_to_recover(calm, T0 + 5 * DAY, T0, T0 + 30 * DAY, reference_outcomes=calm).days == 0.0
    )
    broken = [o for d in range(30) for o in delivered(d, d >= 5, 2)]
    never = time_to_recover(broken, T0 + 5 * DAY, T0, T0 + 30 * DAY, reference_outcomes=calm)
    assert never.days is None and never.dipped_on == (T0 + 5 * DAY).date()
    assert time_to_recover(broken, None, T0, T0 + 30 * DAY).reason == "no effects"


def test_without_a_reference_run_the_level_before_the_effect_stands_in() -> None:
    run = [o for d in range(30) for o in delivered(d, 10 <= d <= 12, 5)]
    got = time_to_recover(run, T0 + 10 * DAY, T0, T0 + 30 * DAY)
    assert got.reference == 1.0 and got.days == 9.0  # the window is clean of day 12 on day 19
    few = time_to_recover(run[:10], T0 + 1 * DAY, T0, T0 + 30 * DAY)
    assert few.days is None and few.reason.startswith("only 5 parts")


def test_held_freight_counts_late_when_it_falls_due_not_when_it_arrives() -> None:
    calm = [o for d in range(60) for o in delivered(d, False, 2)]
    held = []
    for d in range(60):
        for o in delivered(d, False, 2):
            if 10 <= d <= 12:  # due on days 10-12, held until day 50
                o = replace(o, delivered_at=T0 + 50 * DAY, late_days=40.0 - d, due_at=T0 + d * DAY)
            held.append(o)
    got = time_to_recover(held, T0 + 10 * DAY, T0, T0 + 30 * DAY, reference_outcomes=calm)
    assert got.dipped_on == (T0 + 10 * DAY).date()  # by due day, not day 50
    assert got.recovered_on == (T0 + 19 * DAY).date() and got.days == 9.0
