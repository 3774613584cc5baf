"""Each scorer against hand-computed values; readings that must not count; garbage never raises."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from monitor_helpers import T0, make_net, row

from twin.scoring.config import ScoringConfig
from twin.scoring.scorers import score_signals, signals_frame

H, D = timedelta(hours=1), timedelta(days=1)


def one(net, rows, config=None, now=T0):
    result = score_signals(signals_frame(rows), net, now, config)
    return {(r.target, r.dimension): r for r in result.frame.itertuples()}, result


@pytest.mark.parametrize(
    ("metric", "dimension", "value", "expected"),
    [
        ("utilization", "capacity", 0.925, 0.5),  # (0.925 - 0.85) / 0.15
        ("utilization", "capacity", 0.5, 0.0),
        ("capacity_pct", "capacity", 30, 0.75),  # (30 - 90) / (10 - 90): Yantian 2021
        ("capacity_pct", "capacity", 0, 1.0),
        ("vessels_waiting", "capacity", 31, 0.5),  # (31 - 2) / 58
        ("vessels_waiting", "capacity", 109, 1.0),  # LA/LB record
        ("dwell_days", "capacity", 5.75, 0.5),
        ("wind_kt", "weather", 49, 0.5),
        ("wave_m", "weather", 6.5, 0.5),
        ("rate_change_pct", "cost", 55, 0.5),
        ("eta_drift_hours", "transit", 66, 0.5),
        ("inspection_rate", "customs", 0.175, 0.5),
        ("inspection_rate", "customs", 0.0429, 0.0),  # the US norm scores nothing
        ("hold_rate", "customs", 0.11, 0.5),
        ("advisory_level", "security", 3, 0.7),
        ("advisory_level", "security", 2.5, 0.525),  # halfway between 0.35 and 0.7
    ],
)
def test_ramp_and_table_metrics(net, metric, dimension, value, expected):
    scores, _ = one(net, [row("USLAX", metric, value, dimension)])
    assert scores[("USLAX", dimension)].score == pytest.approx(expected)


def test_incidents_decay_by_age(net):
    # 4 incidents reported one half-life (3.5 d) ago count as 2: 1 - exp(-2 / 2).
    scores, _ = one(
        net, [row("BAB_EL_MANDEB", "incidents_7d", 4, "security", ago=timedelta(days=3.5))]
    )
    assert scores[("BAB_EL_MANDEB", "security")].score == pytest.approx(1 - math.exp(-1))
    fresh, _ = one(net, [row("BAB_EL_MANDEB", "incidents_7d", 4, "security")])
    assert fresh[("BAB_EL_MANDEB", "security")].score == pytest.approx(1 - math.exp(-2))


def test_clearance_against_own_baseline(net):
    history = [
        row("USLAX", "clearance_hours", 20 + 2 * (i % 5), "customs", ago=(i + 1) * D)
        for i in range(10)
    ]
    # median of 20,22,24,26,28 twice = 24; 48 h is 2x -> (2 - 1) / (3 - 1) = 0.5
    scores, _ = one(net, history + [row("USLAX", "clearance_hours", 48, "customs")])
    assert scores[("USLAX", "customs")].score == pytest.approx(0.5)
    assert "n=10" in scores[("USLAX", "customs")].explain


def test_clearance_baseline_ignores_readings_outside_the_window(net):
    old = [row("USLAX", "clearance_hours", 100, "customs", ago=(20 + i) * D) for i in range(5)]
    # Old readings (20+ days before) are outside the 14-day window: fallback 24 h -> 36 h = 1.5x.
    scores, _ = one(net, old + [row("USLAX", "clearance_hours", 36, "customs")])
    assert scores[("USLAX", "customs")].score == pytest.approx(0.25)


def test_clearance_fallbacks(net):
    scores, _ = one(
        net,
        [
            row("USLAX", "clearance_hours", 36, "customs"),
            row("USNYC", "clearance_hours", 72, "customs"),
        ],
    )
    assert scores[("USLAX", "customs")].score == pytest.approx(0.25)  # default 24 h: 1.5x
    assert scores[("USNYC", "customs")].score == pytest.approx(0.25)  # node's 2 d = 48 h: 1.5x
    assert "default" in scores[("USLAX", "customs")].explain
    assert "clearance_days" in scores[("USNYC", "customs")].explain


def test_transits_against_chokepoint_normal(net):
    scores, _ = one(
        net,
        [
            row("SUEZ", "transits_per_day", 25.5),
            row("PANAMA", "transits_per_day", 24),
            row("XCHOKE", "transits_per_day", 40),
        ],
    )
    assert scores[("SUEZ", "capacity")].score == pytest.approx((0.5 - 0.1) / 0.5)
    assert scores[("PANAMA", "capacity")].score == pytest.approx((1 - 24 / 37 - 0.1) / 0.5)
    assert scores[("XCHOKE", "capacity")].score == pytest.approx((1 - 40 / 50 - 0.1) / 0.5)


def test_an_announced_rule_change_scores_what_it_will_do_from_its_announcement(net):
    def at(effective_in):
        scores, _ = one(
            net,
            [row("USLAX", "rule_change", 0.8, "customs", ago=D, effective_at=T0 + effective_in)],
        )
        return scores.get(("USLAX", "customs"))

    # Severity follows the change, not how soon it starts; the risk starts when it does.
    assert at(timedelta(hours=48)).score == pytest.approx(0.8)
    assert at(timedelta(days=8)).score == pytest.approx(0.8)
    assert at(timedelta(hours=48)).starts_at == pd.Timestamp(T0 + timedelta(hours=48))
    assert at(-D).score == pytest.approx(0.8)
    assert at(timedelta(days=61)).score == 0.0  # beyond any journey (announce_horizon, 60 d)
    assert at(-timedelta(days=15)) is None  # settled after 14 days: the baseline has moved


def test_a_port_closure_announced_eleven_days_ahead_is_critical_over_its_window(net):
    # The case: `capacity_pct: 0` announced 11 days ahead scored 0 until 3 days before.
    announced = row("NLRTM", "capacity_pct", 0, ago=H, effective_at=T0 + 11 * D)
    scores, _ = one(net, [announced])
    closure = scores[("NLRTM", "capacity")]
    assert closure.score == pytest.approx(1.0)  # a full closure: critical at the defaults
    assert closure.starts_at == pd.Timestamp(T0 + 11 * D)
    # The reading goes stale from when it takes effect, so its window covers the closure.
    assert closure.until > pd.Timestamp(T0 + 11 * D)
    # It still counts nine days later, when it is about to start.
    later, _ = one(net, [announced], now=T0 + 9 * D)
    assert later[("NLRTM", "capacity")].score == pytest.approx(1.0)


def test_cap_alert_window(net):
    def at(**kw):
        scores, result = one(net, [row("NLRTM", "cap_alert", 0.9, "weather", ago=2 * H, **kw)])
        return scores.get(("NLRTM", "weather")), result

    live, _ = at(effective_at=T0 - H, expected_until=T0 + 5 * H)
    assert live.score == pytest.approx(0.9)
    assert live.until == pd.Timestamp(T0 + 5 * H)
    gone, result = at(effective_at=T0 - 3 * H, expected_until=T0 - H)
    assert gone is None and result.ignored["ended"] == 1
    soon, _ = at(effective_at=T0 + 12 * H, expected_until=T0 + 30 * H)
    assert soon.score == pytest.approx(0.9 * 0.5)  # 12 h before, lead 24 h


def test_latest_reading_wins_and_stale_or_future_ones_do_not_count(net):
    scores, result = one(
        net,
        [
            row("USLAX", "utilization", 1.0, ago=2 * H),
            row("USLAX", "utilization", 0.925, ago=H),
            row("USNYC", "utilization", 1.0, ago=4 * D),  # stale after 3 d
            row("NLRTM", "utilization", 1.0, ago=-H),  # not seen yet
        ],
    )
    assert scores[("USLAX", "capacity")].score == pytest.approx(0.5)
    assert ("USNYC", "capacity") not in scores and ("NLRTM", "capacity") not in scores
    assert (
        result.ignored["stale"] == 1
        and result.ignored["future"] == 1
        and result.ignored["superseded"] == 1
    )


def test_combine_max_or_noisy_or(net):
    rows = [
        row("USLAX", "inspection_rate", 0.175, "customs"),
        row("USLAX", "hold_rate", 0.11, "customs"),
    ]
    scores, _ = one(net, rows)
    assert scores[("USLAX", "customs")].score == pytest.approx(0.5)
    scores, _ = one(net, rows, ScoringConfig(combine="noisy_or"))
    assert scores[("USLAX", "customs")].score == pytest.approx(0.75)
    assert "inspection_rate" in scores[("USLAX", "customs")].explain
    assert "hold_rate" in scores[("USLAX", "customs")].explain


def test_unknown_metrics_and_targets_are_reported_not_scored(net):
    _, result = one(net, [row("USLAX", "mood", 3), row("NOWHERE", "utilization", 1.0)])
    assert result.frame.empty
    assert result.unknown_metrics == ("mood",) and result.unknown_targets == ("NOWHERE",)


def test_config_from_toml_table_overrides_one_ramp(net):
    config = ScoringConfig.from_mapping({"staleness": "1d", "ramps": {"utilization": {"low": 0.5}}})
    assert config.staleness == D
    assert config.ramps["utilization"].high == 1.0 and config.ramps["wind_kt"].low == 34
    scores, _ = one(net, [row("USLAX", "utilization", 0.75)], config)
    assert scores[("USLAX", "capacity")].score == pytest.approx(0.5)


junk = st.one_of(
    st.none(),
    st.text(max_size=5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
    st.sampled_from(["USLAX", "SUEZ", "SHA-RTM", "2024-01-09T00:00:00Z"]),
)


@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "ts": st.one_of(junk, st.just(T0 - H)),
                "dimension": junk,
                "target": junk,
                "metric": st.one_of(
                    junk,
                    st.sampled_from(
                        ["utilization", "clearance_hours", "incidents_7d", "cap_alert"]
                    ),
                ),
                "value": junk,
                "effective_at": junk,
                "expected_until": junk,
            }
        ),
        max_size=12,
    )
)
def test_malformed_rows_never_raise(rows):
    net = make_net()
    result = score_signals(pd.DataFrame(rows), net, T0)
    scores = result.frame["score"].to_numpy(dtype=float)
    assert np.all((scores >= 0) & (scores <= 1))
    assert set(result.frame["target"]) <= set(net.node_by_id) | set(net.lane_by_id)


def test_dcsa_customs_events_score_as_counts_per_entry(net):
    """hold: shipments whose latest HOLD/RELS at the entry is a HOLD (14 d); inspections: INSP
    events in 7 d. Ramps 0 -> 5 held and 2 -> 12 inspections."""

    def hold(sid: str, value: int, ago: timedelta) -> dict:
        return row("USLAX", "hold", value, "customs", ago=ago, shipment=sid)

    def insp(ago: timedelta) -> dict:
        return row("USNYC", "inspections", 1, "customs", ago=ago, shipment="X")

    rows = [
        hold("A", 1, 5 * D),
        hold("A", 0, 2 * D),  # held, then released: not counted
        hold("B", 1, 3 * D),
        hold("C", 1, 1 * D),
        hold("D", 1, 1 * H),  # three held now
        hold("E", 1, 20 * D),  # outside the 14-day window
        *[insp(i * D) for i in range(7)],
        insp(9 * D),  # seven in the week, one older
    ]
    scores, result = one(net, rows)
    assert scores[("USLAX", "customs")].score == pytest.approx(3 / 5)
    assert "3 shipment(s) held" in scores[("USLAX", "customs")].explain
    assert scores[("USNYC", "customs")].score == pytest.approx((7 - 2) / 10)
    assert not result.unknown_metrics
    # All released: the entry scores 0 (an open alert on it can clear).
    released, _ = one(net, [*rows, hold("B", 0, H), hold("C", 0, H), hold("D", 0, 0 * H)])
    assert released[("USLAX", "customs")].score == 0.0
