"""A pass made again at the same `now` is the same pass: it counts once toward an alert rule's
`for_passes` (consecutive passes above warn before an alert opens)."""

from __future__ import annotations

from datetime import timedelta

from tests.engine.test_engine import NOW, _closure_signals, _engine
from twin.feeds.ingest import ingest_signals


def test_a_pass_made_again_at_the_same_now_counts_once() -> None:
    engine = _engine()
    rule = engine.settings.alerts.for_dimension("security")
    assert rule.for_passes == 2
    engine.ingest(ingest_signals(_closure_signals(NOW), engine.network).frame)
    for _ in range(3):  # the first pass, then the same pass twice more
        report = engine.tick(NOW)
        assert report.events == []
    key = engine.alert_state.keys["security:SUEZ"]
    assert key.breaches == 1 and [at for at, _ in key.history] == [NOW]
    # The next pass is the second one above warn: the alert opens then, as without re-runs.
    report = engine.tick(NOW + timedelta(hours=6))
    assert [(e.kind, e.alert.target) for e in report.events if e.pages] == [("opened", "SUEZ")]
    fresh = _engine()
    fresh.ingest(ingest_signals(_closure_signals(NOW), fresh.network).frame)
    fresh.tick(NOW)
    assert [e.kind for e in fresh.tick(NOW + timedelta(hours=6)).events if e.pages] == ["opened"]
