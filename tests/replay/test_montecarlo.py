"""Monte Carlo replays: seeded, deterministic, and the noise really perturbs the scenario."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from twin.domain.problems import InputError
from twin.files.playbooks import load_playbooks
from twin.replay.montecarlo import (
    DEFAULT_NOISE,
    jittered,
    monte_carlo,
    noise_of,
    run_seeds,
    summarise,
)
from twin.replay.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def typhoon():
    return load_scenario(ROOT / "scenarios" / "typhoon-prd.yaml"), load_playbooks(
        ROOT / "playbooks"
    )


def test_seeds_are_derived_from_the_scenario_seed() -> None:
    assert run_seeds(7, 3) == run_seeds(7, 3)
    assert run_seeds(7, 2) == run_seeds(7, 3)[:2]
    assert run_seeds(7, 2) != run_seeds(8, 2)
    assert len(set(run_seeds(7, 50))) == 50


def test_jitter_moves_signals_and_effects_within_bounds(typhoon) -> None:
    loaded, _ = typhoon
    scenario = loaded.scenario
    assert noise_of(scenario) == DEFAULT_NOISE  # the file sets no noise
    sample = jittered(scenario, 1)
    assert sample == jittered(scenario, 1) and sample != jittered(scenario, 2)
    assert len(sample.signals) <= len(scenario.signals)
    for old, new in zip(scenario.effects, sample.effects):
        assert abs((new.at - old.at).total_seconds()) <= 6 * 3600
        assert new.until > new.at


def test_summary_percentiles() -> None:
    stats = summarise([1.0, 2.0, 3.0, None])
    assert stats == {"mean": 2.0, "p5": 1.1, "p95": 2.9, "missing": 1}


@pytest.mark.slow
def test_two_runs_are_deterministic(typhoon) -> None:
    loaded, playbooks = typhoon
    first = monte_carlo(loaded, playbooks, 2)
    second = monte_carlo(loaded, playbooks, 2, workers=1)
    assert first == second
    assert first["runs"] == 2 and first["seeds"] == run_seeds(loaded.scenario.seed, 2)
    for run in ("blind", "news", "engine", "forewarned", "hindsight"):
        for kpi in ("total_cost", "on_time_rate", "late_units"):
            stats = first[run][kpi]
            assert stats["p5"] <= stats["mean"] <= stats["p95"]
    assert "time_to_recover_days" in first["engine"] and "time_to_recover_days" in first["blind"]


def test_unknown_executor_is_an_input_error(typhoon) -> None:
    loaded, playbooks = typhoon
    with pytest.raises(InputError):
        monte_carlo(loaded, playbooks, 1, executor="nope")


def test_dask_without_dask_says_how_to_install(typhoon, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # as if it were not installed
    loaded, playbooks = typhoon
    with pytest.raises(InputError, match=r"pip install 'dask\[distributed\]'"):
        monte_carlo(loaded, playbooks, 1, executor="dask")


@pytest.mark.slow
def test_runs_on_an_existing_dask_cluster_give_what_local_runs_give(
    short_runs_cli: Callable[[list[str]], tuple[dict[str, Any], str]],
    short_runs_local: dict[str, Any],
) -> None:
    """`twin replay --runs N --executor dask --scheduler ADDRESS` as a user runs it, against a
    separate scheduler and worker processes; the documents equal the local executor's."""
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        remote, _ = short_runs_cli(["--executor", "dask", "--scheduler", cluster.scheduler_address])
    assert remote == short_runs_local
