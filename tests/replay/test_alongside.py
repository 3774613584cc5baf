"""A replay with two workers (blind, forewarned, hindsight and news in a forked second process,
news taking the engine's alerts as the engine posts them) is the replay with one: the same
document and the same outcomes, run by run; and the fork helper passes on results, progress,
messages and errors, and leaves HiGHS usable in the child."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from twin.domain.problems import InputError, Problem
from twin.replay.alongside import alongside, can_fork
from twin.replay.scenario import LoadedScenario, StockGenerateSpec, StockSpec

ROOT = Path(__file__).resolve().parents[2]
needs_fork = pytest.mark.skipif(not can_fork(), reason="no fork start method here")


def _details(doc: dict[str, Any]) -> dict[str, Any]:
    """What each run did, beyond the document's KPIs (outcomes, alerts, re-routes)."""
    return {
        name: (
            run.outcomes,
            run.alerts,
            run.playbook_runs,
            run.reroute_log,
            run.open_alerts,
            run.timeline,
            run.undisturbed.outcomes if run.undisturbed else None,
            sorted(run.shipments),
        )
        for name, run in doc["_runs"].items()
    }


def _without_timing(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in ("timing", "_runs")}


@needs_fork
@pytest.mark.parametrize("with_stock", [False, True], ids=["plain", "stock"])
def test_two_workers_give_the_serial_replay(
    short_scenario: LoadedScenario, playbooks: list, with_stock: bool
) -> None:
    from twin.replay.run import replay

    loaded = short_scenario
    if with_stock:  # the stock-aware engine's run goes to the second process
        spec = StockSpec(generate=StockGenerateSpec(skus=40, slack_days=(0, 7)))
        loaded = LoadedScenario(
            short_scenario.path,
            short_scenario.scenario.model_copy(update={"stock": spec}),
            short_scenario.network,
        )
    serial = replay(loaded, playbooks, workers=1)
    steps: dict[str, int] = {}
    parallel = replay(
        loaded,
        playbooks,
        workers=2,
        progress=lambda name, step, steps_: steps.__setitem__(name, step),
    )
    assert _without_timing(parallel) == _without_timing(serial)
    assert _details(parallel) == _details(serial)
    assert set(parallel["timing"]) == set(serial["timing"])
    # Every run reported its progress to the end, the second process's too.
    runs = {"blind", "news", "engine", "forewarned", "hindsight"}
    assert runs | ({"engine_stock"} if with_stock else set()) == set(steps)
    # A run sent back gets the shipments its KPIs were costed with.
    assert parallel["_runs"]["blind"].shipments == serial["_runs"]["blind"].shipments


def test_workers_must_be_positive(short_scenario: LoadedScenario, playbooks: list) -> None:
    from twin.replay.run import replay

    with pytest.raises(ValueError, match="workers must be at least 1"):
        replay(short_scenario, playbooks, workers=0)


@needs_fork
def test_the_child_runs_in_another_process_and_relays_progress() -> None:
    seen: list[tuple[str, int, int]] = []

    def theirs(report: Any, take: Any) -> tuple[int, list[Any]]:
        for step in range(1, 4):
            report("theirs", step, 3)
        taken = []
        while (message := take()) is not None:
            taken.append(message)
        return os.getpid(), taken

    def mine(report: Any, post: Any) -> int:
        report("mine", 1, 1)
        for i in range(2_000):  # far more than a pipe holds: posting must not wait
            post((i, "x" * 100))
        return os.getpid()

    here, (there, taken) = alongside(theirs, mine, lambda *event: seen.append(event))
    assert here == os.getpid() and there != here
    assert taken == [(i, "x" * 100) for i in range(2_000)]
    # The child's last steps may arrive after mine's last report: they are not lost.
    assert ("mine", 1, 1) in seen
    assert [e for e in seen if e[0] == "theirs"] == [("theirs", s, 3) for s in (1, 2, 3)]


@needs_fork
def test_an_error_in_the_child_is_raised_here_as_itself() -> None:
    def theirs(report: Any, take: Any) -> None:
        raise InputError([Problem("scenario.yaml", "row 3", "at", "not a time")])

    with pytest.raises(InputError) as raised:
        alongside(theirs, lambda report, post: 1)
    assert raised.value.problems[0].where == "row 3"


@needs_fork
def test_an_error_that_does_not_pickle_comes_back_as_its_traceback() -> None:
    class Local(Exception):  # defined in a function: pickle cannot find it by name
        pass

    def theirs(report: Any, take: Any) -> None:
        raise Local("the child's own message")

    with pytest.raises(RuntimeError, match="the child's own message"):
        alongside(theirs, lambda report, post: 1)


@needs_fork
def test_a_child_that_dies_is_reported() -> None:
    def theirs(report: Any, take: Any) -> None:
        os._exit(3)

    with pytest.raises(RuntimeError, match="exit code 3"):
        alongside(theirs, lambda report, post: 1)


@needs_fork
def test_highs_solves_in_the_child_after_a_threaded_solve_here() -> None:
    """HiGHS keeps one pool of worker threads per process; a forked child has the pool but not
    its threads. Without the reset in twin.replay.alongside the child's MIP waits for ever
    (it did, with 4 solver threads); run in a subprocess so a hang fails on the timeout."""
    script = textwrap.dedent(
        """
        import numpy as np, highspy
        from twin.replay.alongside import alongside

        def knapsack(seed):
            rng = np.random.default_rng(seed)
            n = 40
            w = rng.integers(10, 100, n).astype(float)
            h = highspy._Highs()
            h.setOptionValue("output_flag", False)
            h.setOptionValue("threads", 4)
            none = np.zeros(0, np.int32)
            h.addCols(n, -(w + rng.integers(-5, 6, n)), np.zeros(n), np.ones(n), 0, none, none,
                      np.zeros(0))
            h.addRow(-highspy.kHighsInf, w.sum() / 2 + 0.5, n, np.arange(n, dtype=np.int32), w)
            h.changeColsIntegrality(n, np.arange(n, dtype=np.int32),
                                    np.full(n, highspy.HighsVarType.kInteger))
            h.run()
            return h.getInfo().objective_function_value

        here = knapsack(0)
        mine, theirs = alongside(lambda r, t: [knapsack(s) for s in range(3)], lambda r, p: here)
        assert theirs[0] == here, (theirs, here)
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_without_fork_both_run_here_mine_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where fork is not available, this process's piece runs first and the other takes what
    it posted."""
    from twin.replay import alongside as module

    monkeypatch.setattr(module, "can_fork", lambda: False)
    order: list[str] = []

    def theirs(report: Any, take: Any) -> list[Any]:
        order.append("theirs")
        return [take(), take(), take()]

    def mine(report: Any, post: Any) -> int:
        order.append("mine")
        post("a")
        post("b")
        return os.getpid()

    here, taken = module.alongside(theirs, mine)
    assert here == os.getpid() and order == ["mine", "theirs"] and taken == ["a", "b", None]
