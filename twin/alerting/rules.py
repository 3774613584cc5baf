"""Alert rules as data: thresholds, `for` counts, hysteresis, cooldowns, trend warnings, inhibitions.

Validated at load with cross-references checked, like Alertmanager's config: critical above
warn, clear level at or below warn, inhibition matchers on labels that exist.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from twin.alerting.patterns import check_patterns
from twin.scoring.config import Duration

# Labels an alert carries (see Alert.labels); matchers may only name these.
LABELS = frozenset({"target", "dimension", "severity", "kind", "country", "via", "early"})

Matchers = dict[str, str | list[str]]


def check_matchers(matchers: Matchers, where: str) -> None:
    """Matchers name only alert labels, and every `~REGEX` among them compiles (RE2)."""
    unknown = sorted(set(matchers) - LABELS)
    if unknown:
        raise ValueError(f"{where}: unknown label(s) {unknown}; use {sorted(LABELS)}")
    check_patterns(matchers, where)


class DimensionRule(BaseModel):
    """When one (target, dimension) key alerts.

    warn / critical: score thresholds. for_passes: consecutive passes at or above warn before an
    episode opens (one noisy reading does not page). clear_below: the episode clears only when
    the score falls below this (hysteresis). cooldown: no new episode for the key this long after
    one clears.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    warn: float = Field(default=0.5, gt=0, le=1)
    critical: float = Field(default=0.8, gt=0, le=1)
    clear_below: float = Field(default=0.35, ge=0, le=1)
    for_passes: int = Field(default=2, ge=1)
    cooldown: Duration = timedelta(hours=12)

    @model_validator(mode="after")
    def _ordered(self) -> DimensionRule:
        if self.critical < self.warn:
            raise ValueError(f"critical ({self.critical}) is below warn ({self.warn})")
        if self.clear_below > self.warn:
            raise ValueError(f"clear_below ({self.clear_below}) is above warn ({self.warn})")
        return self


class TrendRule(BaseModel):
    """Early warning: a least-squares line through the key's scores over `window`; if it reaches
    the warn level within `horizon` (and fits with r^2 >= min_r2, from at least min_points
    passes, the latest score at least min_score), a `warn` opens now with forecast_cross_at."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    window: Duration = timedelta(hours=48)
    horizon: Duration = timedelta(hours=48)
    min_points: int = Field(default=3, ge=2)
    min_score: float = Field(default=0.15, ge=0, le=1)
    min_r2: float = Field(default=0.6, ge=0, le=1)


class InhibitRule(BaseModel):
    """While an open alert matching `source` exists, open alerts matching `target` that it
    explains are folded under it (inhibited_by) instead of paging.

    relation: `explains` (the target alert's key is the source's target, or its risk came from
    the source's target: via or propagation), `same_target`, or `via` (a lane via the source's
    target). equal: labels that must be equal on both (Alertmanager's `equal`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    source: Matchers = Field(min_length=1)
    target: Matchers = Field(default_factory=dict)
    relation: Literal["explains", "same_target", "via"] = "explains"
    equal: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _labels(self) -> InhibitRule:
        check_matchers(self.source, f"inhibit rule {self.name!r} source")
        check_matchers(self.target, f"inhibit rule {self.name!r} target")
        check_matchers({label: "" for label in self.equal}, f"inhibit rule {self.name!r} equal")
        return self


def _default_inhibitions() -> list[InhibitRule]:
    return [
        InhibitRule(
            name="closed-passage-explains-lanes",
            source={
                "severity": "critical",
                "kind": ["chokepoint", "border"],
                "dimension": ["security", "weather", "capacity"],
            },
            target={},
            relation="explains",
        ),
        # A typhoon alert on Yantian would otherwise page again for every lane leaving it, and
        # a warning on a strait for every lane through it (137 "causes" for one in the demo).
        InhibitRule(
            name="facility-explains-its-lanes",
            source={
                "kind": [
                    "origin",
                    "port",
                    "airport",
                    "rail_terminal",
                    "warehouse",
                    "chokepoint",
                    "border",
                ]
            },
            target={"kind": "lane"},
            relation="explains",
            equal=("dimension",),
        ),
        InhibitRule(
            name="critical-node-explains-eta-drift",
            source={"severity": "critical"},
            target={"dimension": ["transit", "cost"]},
            relation="explains",
        ),
    ]


class AlertRules(BaseModel):
    """All alerting parameters: a default rule, per-dimension overrides, trend and inhibitions."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    default: DimensionRule = DimensionRule()
    dimensions: dict[str, DimensionRule] = Field(
        default_factory=lambda: {
            # Cost moves are noisy week to week: ask for three passes before paging.
            "cost": DimensionRule(warn=0.5, critical=0.9, clear_below=0.3, for_passes=3),
            # Stock: warn at `[stock] margin_at_half` of margin at risk within the lead time,
            # critical at four times it; clear below 3/7 of it (twin.stock.monitor).
            "stock": DimensionRule(warn=0.5, critical=0.8, clear_below=0.3, for_passes=2),
        }
    )
    trend: TrendRule = TrendRule()
    inhibit: list[InhibitRule] = Field(default_factory=_default_inhibitions)

    @model_validator(mode="after")
    def _unique_names(self) -> AlertRules:
        names = [rule.name for rule in self.inhibit]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"inhibit rule names repeat: {dupes}")
        return self

    def for_dimension(self, dimension: str) -> DimensionRule:
        return self.dimensions.get(dimension, self.default)

    @classmethod
    def from_mapping(cls, table: dict[str, Any] | None) -> AlertRules:
        """Load from an `[alerts]` table of twin.toml (raises pydantic.ValidationError)."""
        return cls.model_validate(dict(table or {}))
