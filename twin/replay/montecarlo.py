"""Monte Carlo replays: one scenario replayed in N sampled worlds, KPIs reported as distributions.

Each run i gets its own seed, derived from the scenario's seed and i alone (so the same N gives
the same seeds, the same worlds and the same report, however many workers run them). The seed
drives, in that run:

- transit variability: the World's seed (each leg's transit between transit_days and p90);
- signal noise: each signal's time shifted by a uniform draw in ±signal_jitter_h hours, its
  value scaled by a uniform draw in ±value_jitter_pct %, and the signal dropped with
  probability signal_drop_rate;
- effect noise: each effect's `at` and `until` shifted by independent draws in ±effect_jitter_h
  hours (an effect keeps at least an hour).

The jitters come from the scenario's `noise`; a scenario without one (all zero) uses
DEFAULT_NOISE. Runs go to a local process pool (default 2 workers), or to a dask.distributed
or Ray cluster when asked (imported only then).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import random
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from typing import Any

from twin.domain.problems import InputError, Problem
from twin.playbook.schema import Playbook
from twin.replay.recovery import time_to_recover
from twin.replay.scenario import LoadedScenario, Noise, Scenario

DEFAULT_NOISE = Noise(
    signal_jitter_h=6.0, effect_jitter_h=6.0, value_jitter_pct=10.0, signal_drop_rate=0.05
)
KPIS = ("total_cost", "on_time_rate", "late_units")
RUNS = ("blind", "news", "engine", "forewarned", "hindsight")
DEFAULT_WORKERS = 2
HOUR = timedelta(hours=1)


def _hours(value: float) -> timedelta:
    # Whole minutes: sub-second shifts would only make pandas warn about nanoseconds.
    return timedelta(minutes=round(value * 60))


def run_seeds(base: int, runs: int) -> list[int]:
    """The seed of each run: a hash of the scenario's seed and the run's index (31 bits)."""
    return [
        int.from_bytes(hashlib.sha256(f"twin-mc:{base}:{i}".encode()).digest()[:4], "big") >> 1
        for i in range(runs)
    ]


def noise_of(scenario: Scenario) -> Noise:
    """The scenario's noise, or DEFAULT_NOISE when it sets none."""
    noise = scenario.noise
    return DEFAULT_NOISE if noise == Noise() else noise


def jittered(scenario: Scenario, seed: int, noise: Noise | None = None) -> Scenario:
    """A copy of `scenario` with its signals and effects perturbed by `noise`, drawn from `seed`."""
    noise = noise or noise_of(scenario)
    rng = random.Random(seed)
    signals = []
    for signal in scenario.signals:
        shift = rng.uniform(-noise.signal_jitter_h, noise.signal_jitter_h)
        scale = 1.0 + rng.uniform(-noise.value_jitter_pct, noise.value_jitter_pct) / 100.0
        dropped = rng.random() < noise.signal_drop_rate
        if not dropped:
            signals.append(
                signal.model_copy(
                    update={"at": signal.at + _hours(shift), "value": signal.value * scale}
                )
            )
    effects = []
    for effect in scenario.effects:
        at = effect.at + _hours(rng.uniform(-noise.effect_jitter_h, noise.effect_jitter_h))
        until = effect.until
        if until is not None:
            until = max(
                at + HOUR,
                until + _hours(rng.uniform(-noise.effect_jitter_h, noise.effect_jitter_h)),
            )
        effects.append(effect.model_copy(update={"at": at, "until": until}))
    return scenario.model_copy(update={"signals": tuple(signals), "effects": tuple(effects)})


def one_run(loaded: LoadedScenario, playbooks: Sequence[Playbook], seed: int) -> dict[str, Any]:
    """One sampled world: the KPIs of blind, news, engine, forewarned and hindsight (the bound);
    the policies' time to recover."""
    from twin.replay.run import replay

    scenario = jittered(loaded.scenario, seed)
    sample = dataclasses.replace(loaded, scenario=scenario)
    # The runs' KPIs only: no calm-world diagnostic, no stock-aware engine (not reported here).
    # One process per run: the runs themselves are spread over the workers, and a replay's own
    # second process would only compete with them for the cores.
    doc = replay(sample, playbooks, seed=seed, diagnostics=False, stock=False, workers=1)
    runs = doc["_runs"]
    first = min((e.at for e in scenario.effects), default=None)
    out: dict[str, Any] = {"seed": seed}
    for name in RUNS:
        kpis = {k: doc[name][k] for k in KPIS}
        if name != "hindsight":
            calm = runs["blind"].undisturbed
            recovery = time_to_recover(
                runs[name].outcomes,
                first,
                scenario.start,
                scenario.end,
                reference_outcomes=calm.outcomes if calm else None,
            )
            kpis["time_to_recover_days"] = recovery.days
        out[name] = kpis
    return out


# What every run shares: the scenario and the playbooks as plain data (their step models do not
# pickle). It goes to each worker once (a dask scatter, a ray object, a pool's initializer), and
# each task carries only its seed.
Shared = tuple[LoadedScenario, tuple[dict[str, Any], ...]]
_shared: Shared | None = None  # a local pool worker's copy


def _run_seed(shared: Shared, seed: int) -> dict[str, Any]:
    loaded, playbooks = shared
    return one_run(loaded, [Playbook.model_validate(p) for p in playbooks], seed)


def _keep_shared(shared: Shared) -> None:
    global _shared
    _shared = shared


def _run_kept(seed: int) -> dict[str, Any]:
    assert _shared is not None, "the pool's initializer did not run"
    return _run_seed(_shared, seed)


def _percentile(values: list[float], q: float) -> float:
    # Linear interpolation between closest ranks (numpy's default), without numpy.
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summarise(values: list[float | None]) -> dict[str, Any]:
    """{"mean", "p5", "p95"} of the values that exist; "missing" counts the None ones (e.g. a run
    that had not recovered by the window's end)."""
    present = [float(v) for v in values if v is not None]
    stats: dict[str, Any] = {"mean": None, "p5": None, "p95": None}
    if present:
        stats = {
            "mean": round(sum(present) / len(present), 4),
            "p5": round(_percentile(present, 0.05), 4),
            "p95": round(_percentile(present, 0.95), 4),
        }
    if len(present) < len(values):
        stats["missing"] = len(values) - len(present)
    return stats


def _missing(package: str, extra: str) -> InputError:
    return InputError(
        [Problem("executor", package, None, f"{package} is not installed: pip install '{extra}'")]
    )


def _map(
    shared: Shared,
    seeds: list[int],
    workers: int | None,
    executor: str,
    scheduler: str | None,
) -> list[dict[str, Any]]:
    """Each seed's run, in seed order."""
    if executor == "local":
        count = max(1, min(workers or DEFAULT_WORKERS, len(seeds)))
        if count == 1:
            return [_run_seed(shared, seed) for seed in seeds]
        with ProcessPoolExecutor(
            max_workers=count, initializer=_keep_shared, initargs=(shared,)
        ) as pool:
            return list(pool.map(_run_kept, seeds))
    if executor == "dask":
        try:
            from dask.distributed import Client
        except ImportError:
            raise _missing("dask", "dask[distributed]") from None
        client = Client(scheduler) if scheduler else Client(n_workers=workers or DEFAULT_WORKERS)
        try:
            [kept] = client.scatter([shared], broadcast=True)
            return client.gather(client.map(_run_seed, [kept] * len(seeds), seeds, pure=False))
        finally:
            client.close()
    if executor == "ray":
        try:
            import ray
        except ImportError:
            raise _missing("ray", "ray") from None
        ray.init(address=scheduler, ignore_reinit_error=True)
        kept = ray.put(shared)
        remote = ray.remote(_run_seed)
        return ray.get([remote.remote(kept, seed) for seed in seeds])
    raise InputError([Problem("executor", executor, None, "use local, dask or ray")])


def monte_carlo(
    loaded: LoadedScenario,
    playbooks: Sequence[Playbook],
    runs: int,
    *,
    workers: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
) -> dict[str, Any]:
    """Replay `loaded` in `runs` sampled worlds; KPI distributions of blind, news, engine,
    forewarned and hindsight (the bound).

    {"scenario", "runs", "noise", "blind"/"news"/"engine"/"forewarned"/"hindsight": {kpi:
    {"mean", "p5", "p95"}}, "seeds"}; all but hindsight also carry time_to_recover_days. Same runs, same output.
    """
    if runs < 1:
        raise InputError([Problem("runs", "", None, "runs must be at least 1")])
    scenario = loaded.scenario
    seeds = run_seeds(scenario.seed, runs)
    plain = tuple(p.model_dump(mode="json", by_alias=True) for p in playbooks)
    results = _map((loaded, plain), seeds, workers, executor, scheduler)
    doc: dict[str, Any] = {
        "scenario": scenario.name,
        "runs": runs,
        "noise": noise_of(scenario).model_dump(),
    }
    for name in RUNS:
        keys = [*KPIS, *(("time_to_recover_days",) if name != "hindsight" else ())]
        doc[name] = {k: summarise([r[name][k] for r in results]) for k in keys}
    doc["seeds"] = seeds
    return doc
