"""Monte Carlo on ray gives what local runs give (as the dask path is tested)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from twin.files.playbooks import load_playbooks
from twin.replay.montecarlo import monte_carlo
from twin.replay.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]

# Both tests use one ray instance (starting and stopping one takes seconds), on one worker.
pytestmark = pytest.mark.xdist_group("short-runs")


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[Any]:
    """A local ray instance, started apart from the code under test: its context."""
    ray = pytest.importorskip("ray")
    context = ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True)
    try:
        yield context
    finally:
        ray.shutdown()


def test_runs_on_a_local_ray_instance_give_what_local_runs_give(ray_instance: Any) -> None:
    loaded = load_scenario(ROOT / "tests" / "replay" / "data" / "short-closure.yaml")
    playbooks = load_playbooks(ROOT / "playbooks")
    local = monte_carlo(loaded, playbooks, 2, executor="local", workers=1)
    remote = monte_carlo(loaded, playbooks, 2, executor="ray")
    assert remote == local
    assert remote["runs"] == 2 and len(remote["seeds"]) == 2


@pytest.mark.slow
def test_runs_on_an_existing_ray_instance_give_what_local_runs_give(
    ray_instance: Any,
    short_runs_cli: Callable[[list[str]], tuple[dict[str, Any], str]],
    short_runs_local: dict[str, Any],
) -> None:
    """`twin replay --runs N --executor ray --scheduler ADDRESS` as a user runs it, against a
    ray instance started apart (as the dask path is tested against a separate cluster); the
    documents equal the local executor's."""
    address = ray_instance.address_info["gcs_address"]
    remote, said = short_runs_cli(["--executor", "ray", "--scheduler", address])
    # The runs went to that instance (ray says so), not to a local pool.
    assert f"Connecting to existing Ray cluster at address: {address}" in said
    assert remote == short_runs_local
