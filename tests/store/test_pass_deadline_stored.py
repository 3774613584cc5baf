"""Through the store (SQLite and PostgreSQL): `[monitor] replan_budget` is a deadline for the
whole run — polling the feeds, the replan job, loading the engine state and scoring come out
of it, and each re-plan is given only what is left."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.store.test_cut_short_replanned import _budget
from twin.api.demo import demo_signals, drop_feed_file, write_demo
from twin.engine import service as service_module
from twin.engine.service import forget_services, run_once
from twin.playbook.actions import OptimiseReplanner

T0 = datetime(2024, 1, 1, tzinfo=UTC)
STEP = timedelta(hours=6)
BUDGET_S = 20.0
SLOW_S = 1.0


@pytest.fixture(autouse=True)
def _fresh_services() -> Iterator[None]:
    forget_services()
    yield
    forget_services()


def test_each_replan_gets_what_the_run_left_of_the_budget(
    empty_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_demo(tmp_path, empty_url, start=T0)
    _budget(config, f"{BUDGET_S:g}s")
    calls: list[tuple[float, float | None]] = []
    original = OptimiseReplanner.replan

    def recording(self: OptimiseReplanner, view: Any, shipments: Any, **kw: Any) -> Any:
        calls.append((time.perf_counter(), kw.get("time_limit_s")))
        return original(self, view, shipments, **kw)

    monkeypatch.setattr(OptimiseReplanner, "replan", recording)
    replan_job = service_module.replan_pass

    def slow_replan_job(*args: Any, **kw: Any) -> Any:
        time.sleep(SLOW_S)  # a replan job that takes a while: its time is the pass's too
        return replan_job(*args, **kw)

    monkeypatch.setattr(service_module, "replan_pass", slow_replan_job)
    drop_feed_file(tmp_path, "suez.jsonl", demo_signals(T0))
    for step in range(9):
        began = time.perf_counter()
        report = run_once(config, now=T0 + step * STEP, base=tmp_path)
        if report.incidents:
            break
    else:
        raise AssertionError("the demo's Suez signals must open an incident")
    assert calls, "the incident's playbook re-plans the exposed freight"
    for called_at, limit in calls:
        assert limit is not None
        spent = called_at - began
        # (The tolerance: run_once starts the clock once it has its Service, a look-up.)
        assert spent > SLOW_S and spent + limit <= BUDGET_S + 0.05, (spent, limit)
    assert report.stopped == {}, "time enough at the demo's size: nothing cut short"
