"""Replay fixtures: the short test scenario, the playbook library, one cached replay."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from twin.files.playbooks import load_playbooks
from twin.replay.scenario import LoadedScenario, load_scenario

ROOT = Path(__file__).resolve().parents[2]
SHORT = Path(__file__).parent / "data" / "short-closure.yaml"


@pytest.fixture(scope="session")
def playbooks() -> list:
    return load_playbooks(ROOT / "playbooks")


@pytest.fixture(scope="session")
def short_scenario() -> LoadedScenario:
    return load_scenario(SHORT)


@pytest.fixture(scope="session")
def short_replay(short_scenario: LoadedScenario, playbooks: list) -> dict[str, Any]:
    from twin.replay.run import replay

    return replay(short_scenario, playbooks)


@pytest.fixture(scope="session")
def short_runs_cli() -> Callable[[list[str]], tuple[dict[str, Any], str]]:
    """Runs `twin replay SHORT --runs 2 --json` as a user does, with extra options (an
    executor, a scheduler); asserts it exits 0 and gives (its document, its stderr)."""

    def run(options: list[str]) -> tuple[dict[str, Any], str]:
        command = [sys.executable, "-m", "twin.cli.app", "replay", str(SHORT), "--runs", "2"]
        command += ["--playbooks", str(ROOT / "playbooks"), "--json", *options]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout), done.stderr

    return run


@pytest.fixture(scope="session")
def short_runs_local(
    short_runs_cli: Callable[[list[str]], tuple[dict[str, Any], str]],
) -> dict[str, Any]:
    """The local executor's document for `twin replay SHORT --runs 2`, run once: what the dask
    and ray paths must give."""
    document, _ = short_runs_cli([])
    return document


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups into the node ids
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`--dist loadgroup`), tests that share a cached replay run on one
    worker, so each replay is computed once: the short replay's readers together, and each
    golden scenario's KPI and bound checks together, and the cluster runs compared with the
    local Monte Carlo document."""
    for item in items:
        if "short_replay" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("short-replay"))
        if "short_runs_local" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("short-runs"))
        callspec = getattr(item, "callspec", None)
        if item.path.name == "test_golden.py" and callspec and "name" in callspec.params:
            item.add_marker(pytest.mark.xdist_group(f"golden-{callspec.params['name']}"))
