"""Backtest: how good each alert rule was over scenarios' engine runs.

A rule is a (dimension, target kind) pair: `weather` alerts on `port` nodes, `security` alerts
on `lane`s, ... An alert *touches* its target and, for a lane, the lane's ends and the nodes
(chokepoints, borders) in its `via`. An effect *matches* an alert when the effect's target is
one the alert touches. Over the unmuted alerts (muted ones never paged anybody):

- warning lead (hours): the first effect matching the alert, minus the alert's opening time
  (negative: the alert came after the effect started); the mean over alerts with a match;
- precision: alerts with a matching effect in force at some time within PRECISION_DAYS (14)
  after opening (an alert opened during a closure counts), over alerts;
- recall: effects with a matching alert of the rule opened no more than RECALL_LOOKBACK_DAYS
  (14) before the effect starts and no later than RECALL_GRACE_DAYS (2) after, over all
  effects of the scenarios (so a rule's recall is the share of all disruptions it caught; the
  `all rules` row counts an effect caught by any rule);
- false alarms: alerts that are not precise, per 30 days of simulated time (the scenarios'
  windows added up).

`rule_metrics` is pure (cases in, rows out); `backtest` runs the engine on scenarios.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from twin.domain.records import Network

PRECISION_DAYS = 14.0
RECALL_LOOKBACK_DAYS = 14.0
RECALL_GRACE_DAYS = 2.0
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
ALL = ("all", "all")


@dataclass(frozen=True)
class HitEffect:
    """What the backtest needs of an effect: where and when it acted."""

    target: str
    at: datetime
    until: datetime | None = None


@dataclass
class Case:
    """One scenario's engine run as the metrics see it.

    touches: for each alert target, the targets it covers (itself; a lane's ends and via);
    kinds: each target's kind (`lane` for lanes); days: the simulated window in days.
    """

    alerts: list[dict[str, Any]]
    effects: list[HitEffect]
    end: datetime
    days: float
    touches: Mapping[str, Sequence[str]] = field(default_factory=dict)
    kinds: Mapping[str, str] = field(default_factory=dict)


def case_of(
    alerts: list[dict[str, Any]],
    effects: Iterable[Any],
    network: Network,
    start: datetime,
    end: datetime,
) -> Case:
    """A Case from an engine run's alerts, the scenario's effects and its network."""
    touches: dict[str, tuple[str, ...]] = {}
    kinds: dict[str, str] = {}
    for node in network.nodes:
        kinds[node.id] = getattr(node.kind, "value", str(node.kind))
    for lane in network.lanes:
        kinds[lane.id] = "lane"
        touches[lane.id] = (lane.id, lane.from_, lane.to, *lane.via)
    hits = [HitEffect(e.target, e.at, e.until) for e in effects]
    return Case(alerts, hits, end, (end - start) / DAY, touches, kinds)


def _when(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))  # 3.11 reads a trailing Z


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def rule_metrics(cases: Sequence[Case]) -> list[dict[str, Any]]:
    """Per rule (dimension x target kind) and for all rules together: alerts, unmuted alerts,
    mean warning lead (h), precision, recall, false alarms and false alarms per 30 days."""
    alerts_n: dict[tuple[str, str], int] = defaultdict(int)
    unmuted: dict[tuple[str, str], int] = defaultdict(int)
    precise: dict[tuple[str, str], int] = defaultdict(int)
    leads: dict[tuple[str, str], list[float]] = defaultdict(list)
    caught: dict[tuple[str, str], int] = defaultdict(int)
    effects_total = 0
    days = sum(case.days for case in cases)
    for case in cases:
        effects_total += len(case.effects)
        opened_by_rule: dict[tuple[str, str], list[tuple[datetime, set[str]]]] = defaultdict(list)
        for alert in case.alerts:
            target = alert["target"]
            rule = (alert["dimension"], case.kinds.get(target, "unknown"))
            for key in (rule, ALL):
                alerts_n[key] += 1
            if alert.get("muted"):
                continue
            opened = _when(alert["opened_at"])
            touched = set(case.touches.get(target, (target,))) | {target}
            matching = [e for e in case.effects if e.target in touched]
            hit = any(
                e.at <= opened + PRECISION_DAYS * DAY and (e.until or case.end) > opened
                for e in matching
            )
            for key in (rule, ALL):
                unmuted[key] += 1
                precise[key] += hit
                if matching:
                    leads[key].append((min(e.at for e in matching) - opened) / HOUR)
            opened_by_rule[rule].append((opened, touched))
            opened_by_rule[ALL].append((opened, touched))
        for key, opened_list in opened_by_rule.items():
            for effect in case.effects:
                low = effect.at - RECALL_LOOKBACK_DAYS * DAY
                high = effect.at + RECALL_GRACE_DAYS * DAY
                if any(
                    effect.target in touched and low <= opened <= high
                    for opened, touched in opened_list
                ):
                    caught[key] += 1
    rows = []
    for key in sorted(alerts_n, key=lambda k: (k == ALL, k)):
        false = unmuted[key] - precise[key]
        rows.append(
            {
                "dimension": key[0],
                "kind": key[1],
                "alerts": alerts_n[key],
                "unmuted": unmuted[key],
                "mean_lead_h": _mean(leads[key]),
                "precision": _ratio(precise[key], unmuted[key]),
                "recall": _ratio(caught[key], effects_total),
                "false_alarms": false,
                "false_alarms_per_30d": round(false / days * 30, 3) if days > 0 else None,
            }
        )
    if not alerts_n:
        rows.append(
            {
                "dimension": "all",
                "kind": "all",
                "alerts": 0,
                "unmuted": 0,
                "mean_lead_h": None,
                "precision": None,
                "recall": 0.0 if effects_total else None,
                "false_alarms": 0,
                "false_alarms_per_30d": 0.0 if days > 0 else None,
            }
        )
    return rows


def false_alarms(case: Case) -> int:
    """Unmuted alerts of one case with no matching effect in force within PRECISION_DAYS."""
    return next(
        r["false_alarms"] for r in rule_metrics([case]) if (r["dimension"], r["kind"]) == ALL
    )


def backtest(
    loaded_list: Sequence[Any], playbooks: Sequence[Any], settings: Any = None
) -> dict[str, Any]:
    """Run the engine (only) on each scenario and score its alert rules."""
    from twin.engine.engine import EngineSettings
    from twin.replay.run import DAY as RUN_DAY
    from twin.replay.run import run_engine, scenario_shipments

    cases = []
    per_scenario = []
    for loaded in loaded_list:
        scenario = loaded.scenario
        run = run_engine(
            loaded,
            scenario_shipments(loaded),
            playbooks,
            seed=scenario.seed,
            settings=settings or EngineSettings(approve_all=True, rescore_every=RUN_DAY),
        )
        case = case_of(run.alerts, scenario.effects, loaded.network, scenario.start, scenario.end)
        cases.append(case)
        per_scenario.append(
            {
                "scenario": scenario.name,
                "alerts": len(run.alerts),
                "effects": len(scenario.effects),
                "days": round(case.days, 2),
                "engine_s": round(run.seconds, 2),
            }
        )
    return {
        "scenarios": per_scenario,
        "rules": rule_metrics(cases),
        "definitions": {
            "precision_days": PRECISION_DAYS,
            "recall_lookback_days": RECALL_LOOKBACK_DAYS,
            "recall_grace_days": RECALL_GRACE_DAYS,
        },
    }
