"""Scores, alert episodes, silences, acks and the alerting state round-trip on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from twin.alerting.episodes import AlertState, acknowledge, add_silence, evaluate
from twin.alerting.rules import AlertRules, TrendRule
from twin.domain.alerts import Acknowledgement, RiskScore, Silence
from twin.store.alerts import (
    latest_scores,
    list_acks,
    list_alerts,
    list_silences,
    load_state,
    save_ack,
    save_alerts,
    save_scores,
    save_silence,
    save_state,
)
from twin.store.db import session_scope

T0 = datetime(2024, 1, 10, tzinfo=UTC)
STEP = timedelta(hours=6)
RULES = AlertRules(trend=TrendRule(enabled=False))


def score(value: float, i: int, target: str = "BAB_EL_MANDEB") -> RiskScore:
    return RiskScore(
        target=target,
        dimension="security",
        score=value,
        at=T0 + i * STEP,
        kind="chokepoint",
        explain=f"security {value:.2f}",
        sources=(target,),
        until=T0 + 9 * STEP,
    )


def test_latest_score_per_target(engine):
    with session_scope(engine) as session:
        save_scores(session, scores=[score(0.2, 0), score(0.9, 1), score(0.4, 0, "SUEZ")])
    with session_scope(engine) as session:
        latest = {s.target: s for s in latest_scores(session)}
        earlier = latest_scores(session, target="BAB_EL_MANDEB", at=T0)
    assert latest["BAB_EL_MANDEB"].score == 0.9 and latest["BAB_EL_MANDEB"].at == T0 + STEP
    assert latest["SUEZ"].until == T0 + 9 * STEP and latest["SUEZ"].sources == ("SUEZ",)
    assert [s.score for s in earlier] == [0.2]


def test_state_and_episodes_survive_a_restart(engine):
    state = AlertState()
    for i, value in enumerate([0.9, 0.9]):
        state, _ = evaluate(state, [score(value, i)], T0 + i * STEP, RULES)
    alert_id = state.open_alerts[0].id
    ack = Acknowledgement(alert_id=alert_id, by="ana", at=T0 + STEP)
    state = acknowledge(state, ack)
    silence = Silence(
        id="s1",
        matchers={"via": "SUEZ"},
        starts_at=T0,
        ends_at=T0 + 9 * STEP,
        created_by="bo",
        comment="rerouting",
    )
    state = add_silence(state, silence)
    with session_scope(engine) as session:
        save_alerts(session, alerts=state.open_alerts)
        save_state(session, state=state, at=T0 + STEP)
        save_silence(session, silence=silence)
        save_ack(session, ack=ack)
    with session_scope(engine) as session:
        restored = load_state(session)
        assert restored == state
        assert [s.id for s in list_silences(session, active_at=T0 + STEP)] == ["s1"]
        assert list_silences(session, active_at=T0 + 10 * STEP) == []
        assert list_acks(session, alert_id=alert_id)[0].by == "ana"
    # The restarted machine clears the episode; the stored episode is updated, not duplicated.
    restored, events = evaluate(restored, [score(0.1, 2)], T0 + 2 * STEP, RULES)
    with session_scope(engine) as session:
        save_alerts(session, alerts=[e.alert for e in events])
        save_state(session, state=restored, at=T0 + 2 * STEP)
    with session_scope(engine) as session:
        (episode,) = list_alerts(session)
        assert (
            episode.cleared_at == T0 + 2 * STEP
            and episode.acked_by == "ana"
            and episode.peak == 0.9
        )
        assert list_alerts(session, open_only=True) == []
        assert load_state(session).alerts == {}
