"""Every scoring parameter in one validated model with documented defaults (`[scoring]` in twin.toml)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from twin.domain.durations import parse_duration

# Durations read like `30s`, `5m`, `6h`, `2d` (or a timedelta, or seconds).
Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class Ramp(BaseModel):
    """A linear score: 0 at `low`, 1 at `high`, clipped to [0, 1]. `high < low` scores falling
    values (capacity_pct: 90 % of normal scores 0, 10 % scores 1)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    low: float
    high: float

    @model_validator(mode="after")
    def _distinct(self) -> Ramp:
        if self.low == self.high:
            raise ValueError("ramp low and high must differ")
        return self


class MetricRamp(Ramp):
    """A metric scored by a plain ramp on its latest value (add your own metrics this way)."""

    dimension: str = Field(min_length=1)


def _r(dimension: str, low: float, high: float) -> MetricRamp:
    return MetricRamp(dimension=dimension, low=low, high=high)


# Plain-ramp metrics. Sources: World Bank LPI 2016 (US physical inspection 4.29 %), LA/LB ships
# waiting 0-1 before COVID and 109 at the Jan 2022 record, truck dwell 2.5-3.25 d (8.3 d in the
# Shanghai lockdown, 7.7 d at Vancouver in the 2024 lockout), Yantian 2021 at ~30 % capacity,
# WCI SHA-RTM +115 % in two weeks (Red Sea 2024). See /docs/monitoring.md.
DEFAULT_RAMPS: dict[str, MetricRamp] = {
    "inspection_rate": _r("customs", 0.05, 0.30),
    "hold_rate": _r("customs", 0.02, 0.20),
    "utilization": _r("capacity", 0.85, 1.0),
    "capacity_pct": _r("capacity", 90.0, 10.0),
    "vessels_waiting": _r("capacity", 2.0, 60.0),
    "dwell_days": _r("capacity", 3.5, 8.0),
    "wind_kt": _r("weather", 34.0, 64.0),
    "wave_m": _r("weather", 4.0, 9.0),
    "rate_change_pct": _r("cost", 10.0, 100.0),
    "eta_drift_hours": _r("transit", 12.0, 120.0),
    # Counts at one entry from carriers' DCSA events about the user's own freight (the events
    # carry no denominator, so no rate): shipments under a customs hold now, inspections in a week.
    "hold": _r("customs", 0.0, 5.0),
    "inspections": _r("customs", 2.0, 12.0),
}

# Metrics with their own rule in twin.scoring.scorers (history, windows or decay).
SPECIAL_METRICS = (
    "clearance_hours",
    "transits_per_day",
    "rule_change",
    "cap_alert",
    "incidents_7d",
    "advisory_level",
)


class ScoringConfig(BaseModel):
    """All scoring parameters. Every field has a default; see docs/monitoring.md for the table."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # -- which readings count --------------------------------------------------------------
    staleness: Duration = timedelta(days=3)
    """A latest reading older than this is ignored (the target then has no score)."""
    staleness_by_metric: dict[str, Duration] = Field(
        default_factory=lambda: {
            "incidents_7d": timedelta(days=10),
            "advisory_level": timedelta(days=30),
            # A port's announced capacity and its queue hold until the next report: Yantian's
            # 2021 announcements came 4-6 days apart, and forgetting a 14% reading after 3 days
            # sent new bookings back into the queue (twin replay yantian-covid-2021).
            "capacity_pct": timedelta(days=14),
            "vessels_waiting": timedelta(days=7),
            # Announcements stay relevant until their own window ends (see rule_change_settle).
            "rule_change": timedelta(days=365),
            "cap_alert": timedelta(days=14),
        }
    )
    combine: Literal["max", "noisy_or"] = "max"
    """How a dimension's metrics combine: the worst one, or 1 - prod(1 - s) (independent evidence)."""

    # -- a known future change (effective_at later than now) ---------------------------------
    announce_horizon: Duration = timedelta(days=60)
    """An announced change (effective_at ahead) scores its full value, starting at effective_at,
    once it is this close (longer than any journey, so freight booked now that will meet it is
    warned of at once); further ahead it scores 0. Its severity is what it will do, not how
    soon: a full closure announced eleven days ahead is critical from the announcement."""
    forecast_metrics: frozenset[str] = frozenset({"cap_alert"})
    """Forecasts firm up as they approach: these score value x (1 - time_to_effect / lead),
    0 before the lead, instead."""
    lead_default: Duration = timedelta(days=3)
    """The lead of a forecast metric not in `lead_by_metric`."""
    lead_by_metric: dict[str, Duration] = Field(
        default_factory=lambda: {"rule_change": timedelta(days=7), "cap_alert": timedelta(hours=24)}
    )

    # -- plain ramps ------------------------------------------------------------------------
    ramps: dict[str, MetricRamp] = Field(default_factory=lambda: dict(DEFAULT_RAMPS))

    # -- customs ----------------------------------------------------------------------------
    clearance_ratio: Ramp = Ramp(low=1.0, high=3.0)
    """clearance_hours / the node's baseline: 1x scores 0, 3x scores 1 (US: 1 d, 2 d inspected)."""
    baseline_window: Duration = timedelta(days=14)
    baseline_min_readings: int = Field(default=3, ge=1)
    clearance_hours_default: float = Field(default=24.0, gt=0)
    """Baseline without history: the node's clearance_days x 24 when set, else this (LPI: 1 d)."""
    rule_change_settle: Duration = timedelta(days=14)
    """A rule change with no expected_until stops scoring this long after effective_at."""
    holds_window: Duration = timedelta(days=14)
    """DCSA `hold` events (1 HOLD, 0 RELS per shipment): a shipment counts as held at an entry
    when its latest event there within this window is a HOLD."""
    inspections_window: Duration = timedelta(days=7)
    """DCSA `inspections` events (1 per INSP) are summed over this window per entry."""

    # -- capacity: chokepoint transits --------------------------------------------------------
    transits_normal: dict[str, float] = Field(
        default_factory=lambda: {"SUEZ": 51.0, "PANAMA": 37.0}
    )
    """Normal daily transits per chokepoint id (Suez 51/day, Panama 36-38/day)."""
    transits_default: float = Field(default=50.0, gt=0)
    """Normal when a chokepoint is not listed and has too little history for a baseline."""
    transits_drop: Ramp = Ramp(low=0.1, high=0.6)
    """Share of normal transits lost: 10 % scores 0, 60 % scores 1 (Panama 24 vs 37: 0.5)."""

    # -- weather ----------------------------------------------------------------------------
    cap_default_duration: Duration = timedelta(hours=24)
    """A CAP alert with no expected_until (expires) lasts this long from effective_at / ts."""

    # -- security ---------------------------------------------------------------------------
    incidents_half_life: Duration = timedelta(days=3.5)
    incidents_scale: float = Field(default=2.0, gt=0)
    """incidents_7d: n' = n x 0.5^(age / half_life); score = 1 - exp(-n' / scale)."""
    advisory_scores: tuple[float, float, float, float, float] = (0.0, 0.1, 0.35, 0.7, 1.0)
    """advisory_level 0..4 mapped to a score, linear between levels."""

    # -- propagation --------------------------------------------------------------------------
    via_factor: float = Field(default=1.0, ge=0, le=1)
    """A chokepoint's or border's score applies to every lane via it, times this."""
    arrive_factors: dict[str, float] = Field(
        default_factory=lambda: {"customs": 1.0, "capacity": 0.8, "weather": 0.8, "security": 0.5}
    )
    """A node's score reaches lanes arriving there, times this (per dimension; missing = 0)."""
    depart_factors: dict[str, float] = Field(
        default_factory=lambda: {"capacity": 0.8, "weather": 0.8, "security": 0.5}
    )
    """A node's score reaches lanes leaving it, times this (per dimension; missing = 0)."""

    # -- exposure and expected delay ----------------------------------------------------------
    exposure_threshold: float = Field(default=0.5, ge=0, le=1)
    """A shipment is exposed where its path meets a score at or above this."""
    delay_floor: float = Field(default=0.2, ge=0, lt=1)
    delay_days_full: dict[str, float] = Field(
        default_factory=lambda: {
            "customs": 4.0,  # de minimis 2025: ~5 d vs 1 d to clear
            "capacity": 6.0,  # Yantian 2021 berth wait 16 d at the worst; ILA: ~6 d per strike day
            "weather": 1.5,  # typhoon port closures of 23-33 h
            "security": 10.0,  # Cape detour +10-14 d (Red Sea 2024)
            "transit": 5.0,
            "cost": 0.0,
        }
    )
    """Expected delay days = full x clip((score - floor) / (1 - floor), 0, 1), per dimension."""

    def lead_for(self, metric: str) -> timedelta:
        return self.lead_by_metric.get(metric, self.lead_default)

    def staleness_for(self, metric: str) -> timedelta:
        return self.staleness_by_metric.get(metric, self.staleness)

    @property
    def known_metrics(self) -> frozenset[str]:
        return frozenset(self.ramps) | frozenset(SPECIAL_METRICS)

    @classmethod
    def from_mapping(cls, table: dict[str, Any] | None) -> ScoringConfig:
        """Load from a `[scoring]` table of twin.toml (raises pydantic.ValidationError)."""
        table = dict(table or {})
        ramps = table.pop("ramps", None)
        if ramps is not None:
            # A table only overrides the ramps it names; the rest keep their defaults.
            merged = {k: v.model_dump() for k, v in DEFAULT_RAMPS.items()}
            for name, ramp in ramps.items():
                merged[name] = {**merged.get(name, {}), **ramp}
            table["ramps"] = merged
        return cls.model_validate(table)
