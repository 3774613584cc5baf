"""What scoring keeps between passes (the last history cleaned, the last propagation) never
shows through: a pass over a changed history, or a changed own score, gives what a pass with
nothing kept gives."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
from monitor_helpers import T0, row

import twin.scoring.propagate as propagate_module
import twin.scoring.scorers as scorers_module
from twin.scoring.propagate import assess, propagate
from twin.scoring.scorers import score_signals, signals_frame


def _fresh(frame: pd.DataFrame, net, now) -> pd.DataFrame:
    scorers_module._last_cleaned = None
    propagate_module._last = None
    return assess(frame, net, now).frame


def test_a_history_changed_in_place_is_scored_afresh(net) -> None:
    frame = signals_frame(
        [
            row("BAB_EL_MANDEB", "advisory_level", 4, "security"),
            row("NLRTM", "utilization", 0.95, ago=timedelta(hours=2)),
        ]
    )
    first = assess(frame, net, T0).frame
    assert first.equals(assess(frame, net, T0).frame)  # kept, and the same
    frame.loc[0, "value"] = 1.0  # the caller edits the very frame scored before
    again = assess(frame, net, T0 + timedelta(hours=6)).frame
    assert again.equals(_fresh(frame, net, T0 + timedelta(hours=6)))
    assert not again.equals(first)


def test_the_same_history_later_is_scored_at_the_later_time(net) -> None:
    frame = signals_frame([row("NLRTM", "utilization", 0.95)])
    now = assess(frame, net, T0).frame
    # The same frame a long time after: the reading went stale; nothing kept says otherwise.
    later = assess(frame, net, T0 + timedelta(days=30)).frame
    assert later.equals(_fresh(frame, net, T0 + timedelta(days=30)))
    assert len(now) > 0 and later.empty


def test_a_kept_propagation_is_a_copy_and_follows_the_own_scores(net) -> None:
    own = score_signals(
        signals_frame([row("BAB_EL_MANDEB", "advisory_level", 4, "security")]), net, T0
    ).frame
    first = propagate(own, net)
    first.loc[0, "score"] = -1.0  # a caller's edit must not reach the next pass
    second = propagate(own, net)
    assert second.equals(_fresh_propagation(own, net))
    weaker = own.assign(score=own["score"] / 2)
    assert propagate(weaker, net).equals(_fresh_propagation(weaker, net))


def _fresh_propagation(own: pd.DataFrame, net) -> pd.DataFrame:
    propagate_module._last = None
    return propagate(own, net)
