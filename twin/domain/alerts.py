"""Typed records of the engine's judgement: risk scores, alert episodes, silences, acks, exposures."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from twin.domain.durations import parse_timestamp
from twin.domain.stock import WarehouseStock


class Severity(StrEnum):
    warn = "warn"
    critical = "critical"

    @property
    def rank(self) -> int:
        return 1 if self is Severity.warn else 2


# Every time stamp is zone-aware UTC; naive ones are refused (see parse_timestamp).
Zoned = Annotated[datetime, BeforeValidator(parse_timestamp)]


class RiskScore(BaseModel):
    """How risky one node or lane is in one dimension at `at`, in [0, 1], and why.

    kind: the node kind (`port`, `chokepoint`, ...) or `lane`. via: for a lane, the chokepoints
    and borders it passes. sources: the ids whose risk reached this target (itself included when
    it has readings of its own). starts_at / until: when the risk is active (a future rule change
    starts later; a CAP alert ends at `expected_until`); None = from now / open-ended.
    """

    model_config = ConfigDict(frozen=True)

    target: str
    dimension: str
    score: float = Field(ge=0.0, le=1.0)
    explain: str = ""
    at: Zoned
    kind: str = ""
    country: str | None = None
    via: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    starts_at: Zoned | None = None
    until: Zoned | None = None
    stock: WarehouseStock | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.target, self.dimension)

    def labels(self) -> dict[str, Any]:
        """The labels matchers see (silences, inhibition rules)."""
        return {
            "target": self.target,
            "dimension": self.dimension,
            "kind": self.kind,
            "country": self.country,
            "via": self.via,
        }


class Alert(BaseModel):
    """One alert episode of a (target, dimension) key: opened once, maybe escalated, cleared once.

    severity is the highest reached in the episode; score the latest, peak the highest.
    forecast_cross_at: when the trend predicted the threshold crossing (early warnings).
    warning_lead_h: hours between opened_at and the real impact, set afterwards by
    `twin.alerting.episodes.set_lead_time`. inhibited_by / silenced_by: why it does not page.
    starts_at / until: the latest score's window (when the risk bites, e.g. an announced change's
    effective time; when it ends), None = from now / open-ended: a playbook's constraint on the
    target keeps to it (twin.playbook.actions.InForce).
    stock: for the `stock` dimension, the warehouse's position at the latest pass (the chain
    cause -> shipments -> warehouse x SKU -> days short).
    """

    model_config = ConfigDict(frozen=True)

    id: str
    target: str
    dimension: str
    severity: Severity
    score: float
    peak: float
    opened_at: Zoned
    updated_at: Zoned
    cleared_at: Zoned | None = None
    explain: str = ""
    kind: str = ""
    country: str | None = None
    via: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    early: bool = False
    forecast_cross_at: Zoned | None = None
    warning_lead_h: float | None = None
    inhibited_by: str | None = None
    silenced_by: str | None = None
    acked_by: str | None = None
    acked_at: Zoned | None = None
    starts_at: Zoned | None = None
    until: Zoned | None = None
    stock: WarehouseStock | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.target, self.dimension)

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None

    @property
    def muted(self) -> bool:
        return self.inhibited_by is not None or self.silenced_by is not None

    def labels(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "dimension": self.dimension,
            "severity": self.severity.value,
            "kind": self.kind,
            "country": self.country,
            "via": self.via,
            "early": self.early,
        }


class Silence(BaseModel):
    """Mute alerts matching `matchers` between starts_at and ends_at (Alertmanager-like).

    matchers: label -> value or list of values (any of them), e.g. {"target": "USLAX",
    "dimension": ["customs", "capacity"]}; a label "via" matches a lane passing that node.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    matchers: dict[str, str | list[str]] = Field(min_length=1)
    starts_at: Zoned
    ends_at: Zoned
    created_by: str = Field(min_length=1)
    comment: str = ""

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at


class Acknowledgement(BaseModel):
    """Someone on call said "I'm on it" for an alert episode."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alert_id: str = Field(min_length=1)
    by: str = Field(min_length=1)
    at: Zoned
    comment: str = ""


class Exposure(BaseModel):
    """Units of a shipment whose planned path passes a risky node or lane while the risk is on.

    at: when the freight is expected there; expected_delay_days from the score (per dimension
    mapping in the scoring config); lane: the leg's lane on which it meets the risk.
    """

    model_config = ConfigDict(frozen=True)

    shipment: str
    target: str
    dimension: str
    score: float
    units: float
    at: Zoned
    lane: str
    expected_delay_days: float
    explain: str = ""
