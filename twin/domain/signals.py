"""Signals: one observation of a risk dimension on a node, lane or area (SPEC 1.3)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from twin.domain.durations import parse_timestamp

# The dimensions scored out of the box; others may be configured (SPEC 1.3: extensible).
# `transit` carries ETA drift derived from carriers' track-and-trace events.
STANDARD_DIMENSIONS = ("customs", "capacity", "weather", "security", "cost", "transit")
# The dimensions alerts come in: the standard ones and `stock`, which no signal carries (it is
# scored from stock inputs, twin.stock.monitor) but which playbooks may answer.
STOCK_DIMENSION = "stock"
ALERTED_DIMENSIONS = (*STANDARD_DIMENSIONS, STOCK_DIMENSION)


class Area(BaseModel):
    """A geographic area a signal covers: a circle (lat, lon, radius_km) or a polygon of
    (lat, lon) points. It resolves to the nodes inside it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    circle: tuple[float, float, float] | None = None
    polygon: tuple[tuple[float, float], ...] | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> Area:
        if (self.circle is None) == (self.polygon is None):
            raise ValueError("an area is either a circle or a polygon")
        if self.circle is not None:
            lat, lon, radius = self.circle
            _check_point(lat, lon)
            if not (math.isfinite(radius) and radius > 0):
                raise ValueError("circle radius_km must be a positive number")
        if self.polygon is not None:
            if len(self.polygon) < 3:
                raise ValueError("a polygon needs at least 3 points")
            for lat, lon in self.polygon:
                _check_point(lat, lon)
        return self


def _check_point(lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and -90 <= lat <= 90):
        raise ValueError(f"latitude {lat} is outside -90..90")
    if not (math.isfinite(lon) and -180 <= lon <= 180):
        raise ValueError(f"longitude {lon} is outside -180..180")


class Signal(BaseModel):
    """One observation. `target` is a node or lane id; or `area` names a region instead.

    `effective_at` marks a known future change (an announced customs rule); `expected_until`
    when the condition is expected to end. `ref` is the source's own id for the observation
    (CAP identifier, DCSA eventID), used with `source` to make ingestion idempotent.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    ts: datetime
    source: str = Field(min_length=1)
    dimension: str = Field(min_length=1)
    target: str | None = None
    area: Area | None = None
    metric: str = Field(min_length=1)
    value: float
    effective_at: datetime | None = None
    expected_until: datetime | None = None
    ref: str | None = None
    shipment: str | None = None
    note: str | None = None

    @field_validator("ts", "effective_at", "expected_until", mode="before")
    @classmethod
    def _zoned(cls, value: Any) -> datetime | None:
        if value is None or value == "":
            return None
        return parse_timestamp(value)

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @model_validator(mode="after")
    def _has_target(self) -> Signal:
        if not self.target and self.area is None:
            raise ValueError("a signal needs a target (node or lane id) or an area")
        return self


# Metrics scored out of the box, by dimension (SPEC 1.3 plus the ones the DCSA adapter
# derives). An unknown metric is still stored; ingestion reports it once.
STANDARD_METRICS: dict[str, tuple[str, ...]] = {
    "customs": (
        "clearance_hours",
        "inspection_rate",
        "hold_rate",
        "rule_change",
        "hold",
        "inspections",
    ),
    "capacity": (
        "utilization",
        "capacity_pct",
        "vessels_waiting",
        "dwell_days",
        "transits_per_day",
    ),
    "weather": ("wind_kt", "wave_m", "cap_alert"),
    "security": ("incidents_7d", "advisory_level", "cap_alert"),
    "cost": ("rate_change_pct",),
    "transit": ("eta_drift_hours",),
}

# Columns of the signal frame ingestion returns to the scorer, in order (see twin.feeds.ingest).
SIGNAL_COLUMNS = (
    "ts",
    "source",
    "dimension",
    "target",
    "metric",
    "value",
    "effective_at",
    "expected_until",
    "ref",
    "shipment",
    "area",
    "supersedes",
    "extras",
)


class ShipmentPosition(BaseModel):
    """Where a shipment (or its equipment) actually was: a DCSA ACT event at a UN/LOCODE.

    `shipment` is the primary document reference (booking, else transport document);
    `references` holds every document reference the event carried. `node` is the network node
    at that UN/LOCODE, if the network has one. `event` is the DCSA code: ARRI/DEPA for
    transport events, LOAD/DISC/GTIN/GTOT/... for equipment events.
    """

    model_config = ConfigDict(frozen=True)

    source: str
    event_id: str
    at: datetime
    event: str
    locode: str
    shipment: str | None = None
    references: tuple[str, ...] = ()
    node: str | None = None
    mode: str | None = None
    vessel: str | None = None
    equipment: str | None = None
    transport_call: str | None = None


class Quarantined(BaseModel):
    """A row that did not load, kept with where it was, why, and its raw text."""

    model_config = ConfigDict(frozen=True)

    file: str
    where: str
    field: str | None
    reason: str
    raw: str
