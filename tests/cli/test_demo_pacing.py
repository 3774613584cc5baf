"""`twin demo` gives a person time to decide: playbooks copied with expire_after scaled to the
demo clock, and a clock that slows down without jumping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from twin.cli.demo_cmd import copy_playbooks, scaled_expiry, set_speed
from twin.domain.durations import parse_duration
from twin.engine.jobs import SimClock
from twin.files.playbooks import load_playbooks

ROOT = Path(__file__).resolve().parents[2]


def test_expiry_is_ten_wall_minutes_of_the_demo_clock() -> None:
    assert scaled_expiry(60.0, 10) == "10h"  # 10 min × 60 = 600 simulated minutes
    assert scaled_expiry(14400.0, 10) == "2400h"


def test_playbooks_are_copied_with_the_longer_expiry_and_still_load(tmp_path: Path) -> None:
    required = copy_playbooks(ROOT / "playbooks", tmp_path, expire_after="10h")
    assert "chokepoint-restricted" in required and "avoid-closed-chokepoint" not in required
    copied = {p.stem: yaml.safe_load(p.read_text()) for p in tmp_path.glob("*.yaml")}
    originals = {p.stem for p in (ROOT / "playbooks").glob("*.yaml")}
    assert set(copied) == originals
    # Raised to 10 h where shorter (the default is 24 h), never shortened.
    assert all(
        doc.get("expire_after") in (None, "10h")
        or parse_duration(doc["expire_after"]) >= timedelta(hours=10)
        for doc in copied.values()
    )
    short = copy_playbooks(ROOT / "playbooks", tmp_path / "long", expire_after="2400h")
    assert short == required
    assert all(
        yaml.safe_load(p.read_text())["expire_after"] == "2400h"
        for p in (tmp_path / "long").glob("*.yaml")
    )
    assert len(load_playbooks(tmp_path)) == len(originals)  # still valid playbooks


def test_slowing_the_clock_keeps_the_simulated_time(tmp_path: Path) -> None:
    path = tmp_path / "clock.json"
    start = datetime(2024, 1, 1, tzinfo=UTC)
    SimClock(start=start, wall_start=datetime.now(UTC) - timedelta(seconds=100), speed=14400).dump(
        path
    )
    before = SimClock.load(path).now()
    assert set_speed(path, 60.0) is True and set_speed(path, 60.0) is False
    after = SimClock.load(path)
    assert after.speed == 60.0
    # No jump: the simulated time carries on from where it was (to within the call's duration).
    assert abs((after.now() - before).total_seconds()) < 14400 * 0.5
    assert after.now() - start > timedelta(days=16)  # 100 wall s at 14400x ≈ 16.7 days
