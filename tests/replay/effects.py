"""A scenario effect as the replay world reads it, for tests that build worlds by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass
class FakeEffect:
    at: datetime
    target: str
    until: datetime | None = None
    close: bool | None = None
    capacity_pct: float | None = None
    delay_days: float | None = None
    clearance_days: float | None = None
    carriers_divert: str | None = None
    throughput_units_per_day: float | None = None
