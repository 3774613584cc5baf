"""The daemon's jobs: top-level callables with plain arguments, as a persistent job store needs.

Each job finds its process's Service (built once per config path and folder) and reads `now`
from the clock named by `clock`: `"wall"` (the system clock), or a simulated clock file (see
`SimClock`): how the demo runs the engine at its feed's accelerated time.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from twin.domain.durations import parse_timestamp
from twin.engine.passes import monitor_pass, replan_pass
from twin.engine.polling import poll_feed
from twin.engine.service import service_for
from twin.engine.stored import PassConflict
from twin.schedule.metrics import Deferred, timed

log = logging.getLogger("twin.daemon")
WALL = "wall"


@dataclass(frozen=True)
class SimClock:
    """A simulated clock: `start` at wall time `wall_start`, running `speed` times faster.

    Kept as a small JSON file ({"start", "wall_start", "speed"}) that the demo feeder writes and
    the daemon reads, so both agree on the time and a restarted daemon carries on where it was.
    """

    start: datetime
    wall_start: datetime
    speed: float

    def now(self, wall: datetime | None = None) -> datetime:
        at = wall or datetime.now(UTC)
        return self.start + (at - self.wall_start) * self.speed

    def wall_at(self, simulated: datetime) -> datetime:
        return self.wall_start + (simulated - self.start) / self.speed

    def dump(self, path: Path) -> None:
        doc = {
            "start": self.start.isoformat(),
            "wall_start": self.wall_start.isoformat(),
            "speed": self.speed,
        }
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(doc))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> SimClock:
        doc = json.loads(path.read_text())
        return cls(
            parse_timestamp(doc["start"]), parse_timestamp(doc["wall_start"]), float(doc["speed"])
        )


def clock_now(clock: str) -> datetime:
    """`now` by the named clock: "wall", or the path of a SimClock file."""
    if clock == WALL:
        return datetime.now(UTC)
    return SimClock.load(Path(clock)).now()


def feed_job(config: str, base: str, clock: str, feed: str) -> None:
    service = service_for(config, base=Path(base))
    settings = service.config.feed(feed)
    if settings is None:
        return
    with timed(service.health, f"feed:{feed}"):
        if poll_feed(service, settings) is None:
            raise Deferred(f"feed {feed} is backing off after a failure")


def monitor_job(config: str, base: str, clock: str) -> None:
    service = service_for(config, base=Path(base))
    with timed(service.health, "monitor"):
        try:
            monitor_pass(service, clock_now(clock))
        except PassConflict as exc:
            log.info("monitor pass rolled back, retried next pass: %s", exc)


def replan_job(config: str, base: str, clock: str) -> None:
    service = service_for(config, base=Path(base))
    with timed(service.health, "replan"):
        replan_pass(service, clock_now(clock))


__all__ = ["WALL", "SimClock", "clock_now", "feed_job", "monitor_job", "replan_job"]
