"""The alert state machine: for counts, hysteresis, cooldown, one episode, trend warnings, muting."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from monitor_helpers import T0
from pydantic import ValidationError

from twin.alerting.episodes import (
    AlertState,
    acknowledge,
    add_silence,
    evaluate,
    forecast_crossing,
    set_lead_time,
    set_lead_times,
)
from twin.alerting.mute import Inhibitor, Silencer, matches
from twin.alerting.rules import AlertRules, DimensionRule, InhibitRule, TrendRule
from twin.domain.alerts import Acknowledgement, RiskScore, Severity, Silence

STEP = timedelta(hours=6)
NO_TREND = AlertRules(trend=TrendRule(enabled=False), dimensions={})


def score(value, target="BAB_EL_MANDEB", dimension="security", kind="chokepoint", i=0, **kw):
    return RiskScore(
        target=target, dimension=dimension, score=value, at=T0 + i * STEP, kind=kind, **kw
    )


def run(values, rules=NO_TREND, **kw):
    state, passes = AlertState(), []
    for i, value in enumerate(values):
        state, events = evaluate(state, [score(value, i=i, **kw)], T0 + i * STEP, rules)
        passes.append((state, events))
    return passes


@given(st.lists(st.floats(min_value=0, max_value=1), max_size=40))
def test_episode_invariants(values):
    rule = NO_TREND.default
    passes = run(values)
    opened_at: list[int] = []
    is_open = False
    for i, (state, events) in enumerate(passes):
        assert len(state.alerts) <= 1  # at most one open episode per key
        for event in events:
            if event.kind == "opened":
                assert not is_open  # no duplicate while one is open
                # `for` consecutive breaches right up to now
                window = values[max(0, i - rule.for_passes + 1) : i + 1]
                assert len(window) == rule.for_passes and all(v >= rule.warn for v in window)
                opened_at.append(i)
                is_open = True
            if event.kind == "cleared":
                assert values[i] < rule.clear_below  # never clears above the clear level
                assert event.alert.cleared_at == T0 + i * STEP
                is_open = False
        for alert in state.alerts.values():
            assert alert.peak == pytest.approx(max(values[opened_at[-1] : i + 1]))
            assert alert.severity is (
                Severity.critical if alert.peak >= rule.critical else Severity.warn
            )


@given(st.lists(st.floats(min_value=0, max_value=1), max_size=40))
def test_no_new_episode_within_cooldown(values):
    cleared_at = None
    for i, (_, events) in enumerate(run(values)):
        for event in events:
            if event.kind == "cleared":
                cleared_at = i
            if event.kind == "opened" and cleared_at is not None:
                assert (i - cleared_at) * STEP >= NO_TREND.default.cooldown


def test_one_noisy_reading_does_not_fire_but_two_do():
    assert not any(e for _, events in run([0.1, 0.9, 0.1, 0.1]) for e in events)
    events = [e for _, evs in run([0.1, 0.9, 0.95]) for e in evs]
    assert [e.kind for e in events] == ["opened"] and events[0].alert.severity is Severity.critical


def test_escalates_within_episode_and_keeps_peak():
    passes = run([0.6, 0.6, 0.85, 0.5, 0.4, 0.3])
    kinds = [e.kind for _, evs in passes for e in evs]
    assert kinds == ["opened", "escalated", "cleared"]
    cleared = passes[-1][1][0].alert
    assert cleared.peak == pytest.approx(0.85) and cleared.severity is Severity.critical
    assert cleared.opened_at == T0 + STEP


def test_state_survives_a_json_round_trip_mid_episode():
    state, _ = run([0.6, 0.6])[-1]
    restored = AlertState.model_validate_json(state.model_dump_json())
    assert restored == state
    _, events = evaluate(restored, [score(0.2, i=2)], T0 + 2 * STEP, NO_TREND)
    assert [e.kind for e in events] == ["cleared"]


def test_missing_score_counts_as_zero_and_clears():
    state, _ = run([0.6, 0.6])[-1]
    state, events = evaluate(state, [], T0 + 2 * STEP, NO_TREND)
    assert [e.kind for e in events] == ["cleared"] and not state.alerts


def test_rising_trend_warns_early_with_predicted_crossing():
    rules = AlertRules(dimensions={})
    passes = run([0.1, 0.2, 0.3, 0.4, 0.5], rules=rules)
    first = [(i, e) for i, (_, evs) in enumerate(passes) for e in evs if e.kind == "opened"]
    i, event = first[0]
    assert i == 2  # three points make a trend; the warn level 0.5 is not reached until pass 4
    assert event.alert.early and event.alert.severity is Severity.warn
    # 0.1 per 6 h from 0.3: reaches 0.5 in 12 h
    assert event.alert.forecast_cross_at == T0 + 4 * STEP
    assert len(first) == 1  # the later real crossing continues the same episode


def test_forecast_crossing_refuses_noise_and_flat_lines():
    trend = TrendRule()
    now = T0 + 3 * STEP
    flat = [(T0 + i * STEP, 0.3) for i in range(4)]
    assert forecast_crossing(flat, 0.5, now, trend) is None
    noisy = [(T0 + i * STEP, v) for i, v in enumerate([0.1, 0.45, 0.05, 0.4])]
    assert forecast_crossing(noisy, 0.5, now, trend) is None
    slow = [(T0 + i * STEP, 0.1 + 0.001 * i) for i in range(4)]
    assert forecast_crossing(slow, 0.5, now, trend) is None  # beyond the 48 h horizon


def lane_score(value, i, dimension="transit"):
    return RiskScore(
        target="SHA-RTM",
        dimension=dimension,
        score=value,
        at=T0 + i * STEP,
        kind="lane",
        via=("BAB_EL_MANDEB", "SUEZ"),
        sources=("SHA-RTM",),
    )


def test_critical_chokepoint_folds_the_lane_alerts_it_explains():
    state = AlertState()
    for i in range(2):
        state, events = evaluate(
            state,
            [
                score(0.95, i=i),
                lane_score(0.7, i),
                lane_score(0.7, i, dimension="capacity"),
                score(0.7, target="USLAX", kind="port", dimension="capacity", i=i),
            ],
            T0 + i * STEP,
            NO_TREND,
        )
    by_target = {(e.alert.target, e.alert.dimension): e for e in events}
    parent = by_target[("BAB_EL_MANDEB", "security")]
    assert parent.pages and parent.alert.inhibited_by is None
    for key in (("SHA-RTM", "transit"), ("SHA-RTM", "capacity")):
        assert by_target[key].alert.inhibited_by == parent.alert.id and not by_target[key].pages
    assert by_target[("USLAX", "capacity")].pages  # not via the chokepoint
    # When the parent clears, the lane alerts page again.
    state, _ = evaluate(
        state,
        [score(0.1, i=2), lane_score(0.7, 2), lane_score(0.7, 2, "capacity")],
        T0 + 2 * STEP,
        NO_TREND,
    )
    assert all(a.inhibited_by is None for a in state.alerts.values())


def test_a_port_alert_folds_the_lane_alerts_its_risk_spread_to_in_the_same_dimension():
    def lane(target: str, value: float, i: int, dimension: str = "weather", sources=("CNYTN",)):
        return RiskScore(
            target=target,
            dimension=dimension,
            score=value,
            at=T0 + i * STEP,
            kind="lane",
            sources=sources,
        )

    state = AlertState()
    for i in range(2):
        state, events = evaluate(
            state,
            [
                score(0.9, target="CNYTN", kind="port", dimension="weather", i=i),
                lane("CNYTN-USLAX-SEA", 0.7, i),  # spread from the port
                lane("CNYTN-USLAX-SEA", 0.7, i, dimension="capacity"),  # another dimension
                lane("CNSHA-USLAX-SEA", 0.7, i, sources=("CNSHA",)),  # another port's lane
            ],
            T0 + i * STEP,
            NO_TREND,
        )
    by_key = {(e.alert.target, e.alert.dimension): e for e in events}
    port = by_key[("CNYTN", "weather")]
    assert port.pages and port.alert.inhibited_by is None
    folded = by_key[("CNYTN-USLAX-SEA", "weather")]
    assert folded.alert.inhibited_by == port.alert.id and not folded.pages
    assert by_key[("CNYTN-USLAX-SEA", "capacity")].pages
    assert by_key[("CNSHA-USLAX-SEA", "weather")].pages


def test_a_warning_on_a_strait_folds_the_warnings_on_lanes_through_it():
    # The demo's first alert: one warning on Bab-el-Mandeb, not 137 "causes" for its lanes.
    state = AlertState()
    for i in range(2):
        state, events = evaluate(
            state,
            [score(0.6, i=i), lane_score(0.6, i), lane_score(0.6, i, dimension="security")],
            T0 + i * STEP,
            NO_TREND,
        )
    by_key = {(e.alert.target, e.alert.dimension): e for e in events}
    strait = by_key[("BAB_EL_MANDEB", "security")]
    assert strait.alert.severity == "warn" and strait.pages
    folded = by_key[("SHA-RTM", "security")]
    assert folded.alert.inhibited_by == strait.alert.id and not folded.pages
    assert by_key[("SHA-RTM", "transit")].pages  # another dimension still pages
    assert by_key[("SHA-RTM", "transit")].alert.inhibited_by is None


def test_silence_mutes_matching_alerts_in_its_window_only():
    silence = Silence(
        id="s1",
        matchers={"target": "~BAB.*", "dimension": ["security", "weather"]},
        starts_at=T0,
        ends_at=T0 + 3 * STEP,
        created_by="ana",
        comment="known, rerouting",
    )
    state = add_silence(AlertState(), silence)
    for i in range(4):
        state, events = evaluate(state, [score(0.9, i=i)], T0 + i * STEP, NO_TREND)
        if i == 1:
            assert events[0].alert.silenced_by == "s1" and not events[0].pages
    (alert,) = state.alerts.values()
    assert alert.silenced_by is None and state.silences == ()  # expired at pass 3


def test_one_muted_interface():
    rule = InhibitRule(name="r", source={"severity": "critical"}, relation="via")
    parent = run([0.9, 0.9])[-1][0].open_alerts[0]
    state = AlertState()
    for i in range(2):
        state, _ = evaluate(state, [lane_score(0.6, i)], T0 + i * STEP, NO_TREND)
    child = state.open_alerts[0]
    silence = Silence(
        id="s", matchers={"via": "SUEZ"}, starts_at=T0, ends_at=T0 + STEP * 9, created_by="bo"
    )
    for muter, expected in (
        (Inhibitor([rule], [parent, child]), parent.id),
        (Silencer([silence]), "s"),
    ):
        assert muter.mutes(child, T0 + STEP) == expected
        assert muter.mutes(parent, T0 + STEP) is None
    assert matches({"kind": "port"}, {}) and not matches(
        {"kind": "port"}, {"kind": ["lane", "border"]}
    )


def test_acknowledge_and_lead_time():
    state, _ = run([0.9, 0.9])[-1]
    alert_id = state.open_alerts[0].id
    state = acknowledge(state, Acknowledgement(alert_id=alert_id, by="ana", at=T0 + 2 * STEP))
    assert state.alerts[alert_id].acked_by == "ana" and state.acks[0].by == "ana"
    with pytest.raises(KeyError):
        acknowledge(state, Acknowledgement(alert_id="nope", by="ana", at=T0))
    alert = set_lead_time(state.alerts[alert_id], T0 + STEP + timedelta(hours=30))
    assert alert.warning_lead_h == pytest.approx(30.0)
    (marked,) = set_lead_times([state.alerts[alert_id]], {"BAB_EL_MANDEB": T0 + 5 * STEP})
    assert marked.warning_lead_h == pytest.approx(24.0)


def test_rules_are_checked_at_load():
    with pytest.raises(ValidationError):
        DimensionRule(warn=0.8, critical=0.5)
    with pytest.raises(ValidationError):
        DimensionRule(warn=0.5, clear_below=0.6)
    with pytest.raises(ValidationError):
        AlertRules.from_mapping({"inhibit": [{"name": "x", "source": {"colour": "red"}}]})
    rules = AlertRules.from_mapping({"default": {"for_passes": 3, "cooldown": "1d"}})
    assert (
        rules.default.cooldown == timedelta(days=1)
        and rules.for_dimension("weather").for_passes == 3
    )


def test_older_pass_is_ignored():
    state, _ = run([0.9, 0.9])[-1]
    again, events = evaluate(state, [score(0.0)], T0, NO_TREND)
    assert again == state and events == []


def _plain_inhibition(rules, firing, alert):
    """The inhibit rules read literally: every rule, every firing alert, in order."""
    labels = alert.labels()
    for rule in rules:
        if not matches(labels, rule.target):
            continue
        for source in firing:
            if (
                source.id == alert.id
                or not source.is_open
                or not matches(source.labels(), rule.source)
            ):
                continue
            related = {
                "same_target": source.target == alert.target,
                "via": source.target in alert.via,
                "explains": source.target in (alert.target, *alert.via, *alert.sources),
            }[rule.relation]
            if related and all(source.labels().get(e) == labels.get(e) for e in rule.equal):
                return source.id
    return None


_TARGETS = ("SUEZ", "BAB_EL_MANDEB", "USLAX", "L1", "L2")
_alerts = st.lists(
    st.builds(
        lambda i, target, dimension, severity, via, sources: make_alert_for_inhibition(
            f"A{i}", target, dimension, severity, via, sources
        ),
        st.integers(0, 10**6),
        st.sampled_from(_TARGETS),
        st.sampled_from(("security", "capacity")),
        st.sampled_from(("warn", "critical")),
        st.lists(st.sampled_from(_TARGETS), max_size=2),
        st.lists(st.sampled_from(_TARGETS), max_size=2),
    ),
    max_size=12,
    unique_by=lambda a: a.id,
)
_rules = st.lists(
    st.builds(
        lambda n, severity, relation, equal, kind: InhibitRule(
            name=f"r{n}",
            source={"severity": severity},
            target={"kind": kind} if kind else {},
            relation=relation,
            equal=equal,
        ),
        st.integers(0, 99),
        st.sampled_from(("warn", "critical")),
        st.sampled_from(("explains", "same_target", "via")),
        st.sampled_from(((), ("dimension",))),
        st.sampled_from((None, "lane", "chokepoint")),
    ),
    max_size=3,
)


def make_alert_for_inhibition(ident, target, dimension, severity, via, sources):
    from twin.domain.alerts import Alert

    return Alert(
        id=ident,
        target=target,
        dimension=dimension,
        severity=severity,
        score=0.9,
        peak=0.9,
        opened_at=T0,
        updated_at=T0,
        kind="lane" if target.startswith("L") else "chokepoint",
        via=tuple(via),
        sources=tuple(sources),
    )


@given(rules=_rules, firing=_alerts)
def test_the_indexed_inhibitor_agrees_with_the_rules_read_literally(rules, firing):
    inhibitor = Inhibitor(rules, firing)
    for alert in firing:
        assert inhibitor.mutes(alert, T0) == _plain_inhibition(rules, firing, alert)


def test_a_closure_announced_eleven_days_ahead_opens_a_critical_alert_at_once(net):
    # The case: the alert opened at warn 36 h ahead; now the announcement itself pages.
    from monitor_helpers import row

    from twin.scoring.propagate import assess
    from twin.scoring.scorers import signals_frame

    frame = signals_frame([row("NLRTM", "capacity_pct", 0, effective_at=T0 + timedelta(days=11))])
    rules = AlertRules()
    state, opened = AlertState(), []
    for i in range(rules.for_dimension("capacity").for_passes):
        now = T0 + i * timedelta(minutes=15)
        state, events = evaluate(state, assess(frame, net, now).frame, now, rules)
        opened += [e.alert for e in events if e.kind == "opened" and e.alert.target == "NLRTM"]
    (alert,) = opened
    assert alert.severity is Severity.critical
    assert alert.opened_at <= T0 + timedelta(hours=1)
