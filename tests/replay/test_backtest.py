"""Backtest metrics against a tiny case computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from twin.replay.backtest import Case, HitEffect, false_alarms, rule_metrics

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def day(d: float) -> datetime:
    return T0 + timedelta(days=d)


def stamp(d: float) -> str:
    return day(d).isoformat().replace("+00:00", "Z")


def tiny_case() -> Case:
    # Lane L1 runs A -> B via the chokepoint CHK; C is another port.
    effects = [HitEffect("CHK", day(10), day(12)), HitEffect("C", day(20), day(21))]
    alerts = [
        # on the lane a day before CHK closes: lead +24 h, precise, catches the CHK effect
        {"opened_at": stamp(9), "target": "L1", "dimension": "weather", "muted": False},
        # on A, which nothing hits: a false alarm with no lead
        {"opened_at": stamp(5), "target": "A", "dimension": "weather", "muted": False},
        # on C half a day into its effect: lead -12 h, precise, catches C (within 2 days)
        {"opened_at": stamp(20.5), "target": "C", "dimension": "security", "muted": False},
        # muted: counted as an alert, nothing else
        {"opened_at": stamp(1), "target": "L1", "dimension": "weather", "muted": True},
    ]
    return Case(
        alerts,
        effects,
        end=day(30),
        days=30.0,
        touches={"L1": ("L1", "A", "B", "CHK")},
        kinds={"L1": "lane", "A": "port", "B": "port", "C": "port", "CHK": "chokepoint"},
    )


def test_rule_metrics_by_hand() -> None:
    rows = {(r["dimension"], r["kind"]): r for r in rule_metrics([tiny_case()])}
    assert set(rows) == {
        ("weather", "lane"),
        ("weather", "port"),
        ("security", "port"),
        ("all", "all"),
    }
    lane = rows["weather", "lane"]
    assert (lane["alerts"], lane["unmuted"], lane["mean_lead_h"]) == (2, 1, 24.0)
    assert (lane["precision"], lane["recall"], lane["false_alarms"]) == (1.0, 0.5, 0)
    port = rows["weather", "port"]
    assert (port["mean_lead_h"], port["precision"], port["recall"]) == (None, 0.0, 0.0)
    assert (port["false_alarms"], port["false_alarms_per_30d"]) == (1, 1.0)
    security = rows["security", "port"]
    assert (security["mean_lead_h"], security["precision"], security["recall"]) == (-12.0, 1.0, 0.5)
    total = rows["all", "all"]
    assert (total["alerts"], total["unmuted"], total["mean_lead_h"]) == (4, 3, 6.0)
    assert (total["precision"], total["recall"], total["false_alarms"]) == (0.6667, 1.0, 1)
    assert false_alarms(tiny_case()) == 1


def test_late_and_early_alerts_miss_recall() -> None:
    case = tiny_case()
    # Opened 3 days after C's effect began (past the 2-day grace) and 20 days before CHK's:
    case.alerts = [
        {"opened_at": stamp(23), "target": "C", "dimension": "security", "muted": False},
        {"opened_at": stamp(-10), "target": "CHK", "dimension": "security", "muted": False},
    ]
    total = next(r for r in rule_metrics([case]) if r["dimension"] == "all")
    assert total["recall"] == 0.0 and total["precision"] == 0.0 and total["false_alarms"] == 2


def test_two_cases_add_up_simulated_days() -> None:
    total = next(r for r in rule_metrics([tiny_case(), tiny_case()]) if r["dimension"] == "all")
    assert (
        total["false_alarms"] == 2
        and total["false_alarms_per_30d"] == 1.0
        and total["recall"] == 1.0
    )


def test_twin_backtest_json() -> None:
    import json
    from pathlib import Path

    from typer.testing import CliRunner

    from twin.cli.app import app

    root = Path(__file__).resolve().parents[2]
    result = CliRunner().invoke(
        app,
        [
            "backtest",
            str(root / "scenarios" / "typhoon-prd.yaml"),
            "--json",
            "--playbooks",
            str(root / "playbooks"),
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    total = next(r for r in doc["rules"] if r["dimension"] == "all")
    assert total["alerts"] > 0 and 0 <= total["precision"] <= 1 and 0 <= total["recall"] <= 1
    assert doc["scenarios"][0]["scenario"] == "typhoon-prd"
