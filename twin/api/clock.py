"""The console's clock: the daemon's own (the wall clock, or the demo's simulated clock file),
so pages, counts ("applied in the last 24 h") and decisions use the time the engine runs on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fastapi import Request

from twin.engine.jobs import WALL, SimClock, clock_now


@dataclass(frozen=True)
class ConsoleClock:
    """`name` as the daemon's `--clock`: "wall" or the path of a SimClock file."""

    name: str = WALL

    @property
    def simulated(self) -> bool:
        return self.name != WALL

    def now(self) -> datetime:
        return clock_now(self.name)

    def speed(self) -> float:
        """Simulated seconds per wall second (1 on the wall clock)."""
        return SimClock.load(Path(self.name)).speed if self.simulated else 1.0


def console_now(request: Request) -> datetime:
    """Now by the clock of the app serving `request`."""
    clock: ConsoleClock = request.app.state.clock
    return clock.now()
