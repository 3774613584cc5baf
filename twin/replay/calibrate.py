"""Calibrate alert thresholds and expected delays by replaying scenarios (a seeded random search).

The search space, per dimension d of DIMENSIONS (docs/replay.md):

- alerts: `warn` and `critical` each the default times a uniform draw in [0.8, 1.2] (±20 %),
  capped at 1, critical kept at or above warn, `clear_below` kept at or below warn;
  `for_passes` drawn from 1, 2, 3;
- scoring: `delay_days_full[d]` the default times a uniform draw in [0.7, 1.3] (±30 %).

Candidate 0 is the defaults; candidates 1 .. budget-1 are drawn with random.Random(seed), so the
same seed and budget search the same points. An evaluation runs the engine (only) on every
training scenario with the candidate's settings; its objective is

    sum of engine total cost + FALSE_ALARM_COST x false alarms (backtest's definition)

(a false alarm is an on-call page nobody needed: FALSE_ALARM_COST = 1,000 in the cost's
currency). The baseline, which no setting changes, is run once per scenario for the savings.
Evaluations run in a process pool (2 workers). The best candidate and the defaults are then
evaluated on the holdout scenarios. `tuned_toml` writes the best as twin.toml `[scoring]` and
`[alerts]` tables.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from twin.alerting.rules import AlertRules
from twin.playbook.schema import Playbook
from twin.replay.backtest import case_of, false_alarms
from twin.replay.scenario import LoadedScenario
from twin.scoring.config import ScoringConfig

DIMENSIONS = ("customs", "capacity", "weather", "security", "transit", "cost")
THRESHOLD_SPREAD = 0.2
DELAY_SPREAD = 0.3
FOR_PASSES = (1, 2, 3)
FALSE_ALARM_COST = 1_000.0
DEFAULT_BUDGET = 8
DEFAULT_WORKERS = 2


def default_tables() -> dict[str, Any]:
    """The defaults written out as the tables the search perturbs."""
    scoring = ScoringConfig()
    rules = AlertRules()
    dims = {}
    for d in DIMENSIONS:
        rule = rules.for_dimension(d)
        dims[d] = {
            "warn": rule.warn,
            "critical": rule.critical,
            "clear_below": rule.clear_below,
            "for_passes": rule.for_passes,
        }
    return {
        "scoring": {
            "delay_days_full": {d: scoring.delay_days_full.get(d, 0.0) for d in DIMENSIONS}
        },
        "alerts": {"dimensions": dims},
    }


def sample_tables(rng: random.Random) -> dict[str, Any]:
    """One random point of the space round the defaults."""
    base = default_tables()
    dims = {}
    for d, rule in base["alerts"]["dimensions"].items():
        warn = min(
            1.0, round(rule["warn"] * rng.uniform(1 - THRESHOLD_SPREAD, 1 + THRESHOLD_SPREAD), 3)
        )
        critical = min(
            1.0,
            round(rule["critical"] * rng.uniform(1 - THRESHOLD_SPREAD, 1 + THRESHOLD_SPREAD), 3),
        )
        dims[d] = {
            "warn": warn,
            "critical": max(warn, critical),
            "clear_below": min(rule["clear_below"], warn),
            "for_passes": rng.choice(FOR_PASSES),
        }
    delays = {
        d: round(v * rng.uniform(1 - DELAY_SPREAD, 1 + DELAY_SPREAD), 3)
        for d, v in base["scoring"]["delay_days_full"].items()
    }
    return {"scoring": {"delay_days_full": delays}, "alerts": {"dimensions": dims}}


def candidates(budget: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [default_tables()] + [sample_tables(rng) for _ in range(max(0, budget - 1))]


def settings_of(tables: dict[str, Any]) -> Any:
    from twin.engine.engine import EngineSettings
    from twin.replay.run import DAY

    return EngineSettings(
        scoring=ScoringConfig.from_mapping(tables["scoring"]),
        alerts=AlertRules.from_mapping(tables["alerts"]),
        approve_all=True,
        rescore_every=DAY,
    )


def _evaluate(
    args: tuple[dict[str, Any], Sequence[LoadedScenario], tuple[dict[str, Any], ...]],
) -> dict[str, Any]:
    from twin.replay.run import run_engine, scenario_shipments

    tables, scenarios, plain = args
    playbooks = [Playbook.model_validate(p) for p in plain]
    settings = settings_of(tables)
    total = 0.0
    alarms = 0
    per = {}
    for loaded in scenarios:
        s = loaded.scenario
        run = run_engine(
            loaded, scenario_shipments(loaded), playbooks, seed=s.seed, settings=settings
        )
        cost = run.kpis()["total_cost"]
        wrong = false_alarms(case_of(run.alerts, s.effects, loaded.network, s.start, s.end))
        per[s.name] = {"engine_total_cost": cost, "false_alarms": wrong, "alerts": len(run.alerts)}
        total += cost
        alarms += wrong
    return {
        "engine_total_cost": round(total, 2),
        "false_alarms": alarms,
        "objective": round(total + FALSE_ALARM_COST * alarms, 2),
        "scenarios": per,
    }


def _baseline(loaded: LoadedScenario) -> float:
    from twin.replay.run import run_baseline, scenario_shipments

    run = run_baseline(loaded, scenario_shipments(loaded), seed=loaded.scenario.seed)
    return run.kpis()["total_cost"]


def _pool_map(fn: Any, jobs: list[Any], workers: int) -> list[Any]:
    if workers <= 1 or len(jobs) <= 1:
        return [fn(job) for job in jobs]
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
        return list(pool.map(fn, jobs))


def calibrate(
    training: Sequence[LoadedScenario],
    holdout: Sequence[LoadedScenario],
    playbooks: Sequence[Playbook],
    *,
    budget: int = DEFAULT_BUDGET,
    seed: int = 0,
    workers: int = DEFAULT_WORKERS,
) -> dict[str, Any]:
    """Search `budget` candidates on `training`; report defaults vs best there and on `holdout`."""
    plain = tuple(p.model_dump(mode="json", by_alias=True) for p in playbooks)
    points = candidates(max(1, budget), seed)
    everything = [*training, *holdout]
    baselines = dict(
        zip([x.scenario.name for x in everything], _pool_map(_baseline, everything, workers))
    )
    results = _pool_map(_evaluate, [(t, tuple(training), plain) for t in points], workers)
    best = min(range(len(points)), key=lambda i: (results[i]["objective"], i))

    def with_saving(result: dict[str, Any], scenarios: Sequence[LoadedScenario]) -> dict[str, Any]:
        base = sum(baselines[x.scenario.name] for x in scenarios)
        return {
            **result,
            "baseline_total_cost": round(base, 2),
            "saving_vs_baseline": round(base - result["engine_total_cost"], 2),
        }

    doc: dict[str, Any] = {
        "budget": len(points),
        "seed": seed,
        "false_alarm_cost": FALSE_ALARM_COST,
        "best_index": best,
        "evaluations": [
            {
                "index": i,
                "objective": r["objective"],
                "engine_total_cost": r["engine_total_cost"],
                "false_alarms": r["false_alarms"],
            }
            for i, r in enumerate(results)
        ],
        "train": {
            "scenarios": [x.scenario.name for x in training],
            "defaults": with_saving(results[0], training),
            "best": with_saving(results[best], training),
        },
        "tuned": points[best],
    }
    if holdout:
        held = _pool_map(
            _evaluate,
            [(points[0], tuple(holdout), plain), (points[best], tuple(holdout), plain)],
            workers,
        )
        doc["holdout"] = {
            "scenarios": [x.scenario.name for x in holdout],
            "defaults": with_saving(held[0], holdout),
            "best": with_saving(held[1], holdout),
        }
    return doc


def tuned_toml(tables: dict[str, Any]) -> str:
    """`[scoring]` and `[alerts]` tables for twin.toml holding the tuned values."""
    lines = [
        "# Tuned by `twin calibrate` (docs/replay.md): merge into twin.toml.",
        "",
        "[scoring.delay_days_full]",
    ]
    lines += [f"{d} = {float(v)!r}" for d, v in tables["scoring"]["delay_days_full"].items()]
    for d, rule in tables["alerts"]["dimensions"].items():
        lines += ["", f"[alerts.dimensions.{d}]"]
        lines += [
            f"warn = {float(rule['warn'])!r}",
            f"critical = {float(rule['critical'])!r}",
            f"clear_below = {float(rule['clear_below'])!r}",
            f"for_passes = {int(rule['for_passes'])}",
        ]
    return "\n".join(lines) + "\n"
