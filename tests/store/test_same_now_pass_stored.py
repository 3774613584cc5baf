"""Through the store (SQLite and PostgreSQL): a run made again at the same `now` is the same
pass and counts once toward an alert rule's `for_passes`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from twin.api.demo import demo_signals, drop_feed_file, write_demo
from twin.engine.service import forget_services, run_once

T0 = datetime(2024, 1, 1, tzinfo=UTC)
STEP = timedelta(hours=6)


@pytest.fixture(autouse=True)
def _fresh_services() -> Iterator[None]:
    forget_services()
    yield
    forget_services()


def _opened(config: Path, folder: Path, times: list[datetime]) -> list[datetime]:
    """The passes (by `now`) at which an alert opened."""
    return [
        at
        for at in times
        if any(e.kind == "opened" for e in run_once(config, now=at, base=folder).events)
    ]


def test_a_run_made_again_at_the_same_now_counts_once(empty_url: str, tmp_path: Path) -> None:
    config = write_demo(tmp_path, empty_url, start=T0)
    drop_feed_file(tmp_path, "suez.jsonl", demo_signals(T0))
    times = [T0 + step * STEP for step in range(9)]
    twice = [at for at in times for _ in range(2)]  # each pass made twice
    opened_twice = _opened(config, tmp_path, twice)
    forget_services()
    other = tmp_path / "once"
    once_config = write_demo(other, f"sqlite:///{tmp_path / 'once.db'}", start=T0)
    drop_feed_file(other, "suez.jsonl", demo_signals(T0))
    opened_once = _opened(once_config, other, times)
    assert opened_once, "the demo's Suez signals open an alert"
    assert opened_twice == opened_once
