"""Monte Carlo on ray gives what local runs give (as the dask path is tested)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from twin.files.playbooks import load_playbooks
from twin.replay.montecarlo import monte_carlo
from twin.replay.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]


def test_runs_on_a_local_ray_instance_give_what_local_runs_give() -> None:
    ray = pytest.importorskip("ray")
    loaded = load_scenario(ROOT / "tests" / "replay" / "data" / "short-closure.yaml")
    playbooks = load_playbooks(ROOT / "playbooks")
    local = monte_carlo(loaded, playbooks, 2, executor="local", workers=1)
    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True)
    try:
        remote = monte_carlo(loaded, playbooks, 2, executor="ray")
    finally:
        ray.shutdown()
    assert remote == local
    assert remote["runs"] == 2 and len(remote["seeds"]) == 2


@pytest.mark.slow
def test_runs_on_an_existing_ray_instance_give_what_local_runs_give(
    short_runs_cli: Callable[[list[str]], tuple[dict[str, Any], str]],
) -> None:
    """`twin replay --runs N --executor ray --scheduler ADDRESS` as a user runs it, against a
    ray instance started apart (as the dask path is tested against a separate cluster); the
    documents equal the local executor's."""
    ray = pytest.importorskip("ray")
    context = ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True)
    try:
        address = context.address_info["gcs_address"]
        remote, said = short_runs_cli(["--executor", "ray", "--scheduler", address])
    finally:
        ray.shutdown()
    # The runs went to that instance (ray says so), not to a local pool.
    assert f"Connecting to existing Ray cluster at address: {address}" in said
    local, _ = short_runs_cli([])
    assert remote == local
