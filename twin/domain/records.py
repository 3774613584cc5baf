"""Typed records of the twin: nodes, lanes, networks and shipments (SPEC 1.1, 1.2)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_serializer,
    field_validator,
    model_validator,
)

from twin.domain.durations import format_timestamp, parse_timestamp


class NodeKind(StrEnum):
    origin = "origin"
    port = "port"
    airport = "airport"
    rail_terminal = "rail_terminal"
    border = "border"
    chokepoint = "chokepoint"
    warehouse = "warehouse"


class Mode(StrEnum):
    sea = "sea"
    air = "air"
    rail = "rail"
    road = "road"


class Tier(StrEnum):
    distribution = "distribution"
    fulfillment = "fulfillment"
    delivery = "delivery"


class Priority(StrEnum):
    standard = "standard"
    express = "express"
    critical = "critical"


# Kinds where import clearance happens by default when outside the shipment's origin country.
CUSTOMS_KINDS = frozenset(
    {NodeKind.port, NodeKind.airport, NodeKind.rail_terminal, NodeKind.border}
)
# Kinds that may appear in a lane's `via`.
VIA_KINDS = frozenset({NodeKind.chokepoint, NodeKind.border})

# Default lateness penalty, money per unit per late day, by priority. An e-commerce cbm holds
# goods worth thousands of dollars; a late day costs lost sales and expedite fees. Express and
# critical freight is priced so that air (~$700/cbm more than sea, docs/networks.md) wins when
# sea would make it weeks late. Users set `late_penalty_per_unit_day` per shipment to override.
DEFAULT_LATE_PENALTY: dict[Priority, float] = {
    Priority.standard: 4.0,
    Priority.express: 40.0,
    Priority.critical: 120.0,
}

NonNegative = Annotated[float, Field(ge=0)]
Identifier = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[^\s]+$")]


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    @property
    def extras(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Node(_Record):
    """A place freight passes or rests: origin cluster, port, airport, terminal, border,
    chokepoint or warehouse. `capacity` is throughput in units per day (None = unbounded)."""

    id: Identifier
    kind: NodeKind
    name: str = ""
    country: str | None = Field(default=None, min_length=2, max_length=2)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    capacity: NonNegative | None = None
    tier: Tier | None = None
    customs_entry: bool | None = None
    handling_days: NonNegative = 0.0
    clearance_days: NonNegative = 0.0
    geocodes: tuple[tuple[str, str], ...] = ()
    """Codes of the areas the node lies in, as (scheme, value): e.g. SAME 048201 (a US county),
    UGC TXZ213 (an NWS zone), ISO3166 US-TX. Written `{SAME: "048201", UGC: [TXZ213, TXC201]}`;
    CAP alerts whose areas name one of them reach the node (docs/signals.md)."""

    @field_validator("geocodes", mode="before")
    @classmethod
    def _geocode_pairs(cls, value: Any) -> Any:
        if isinstance(value, dict):
            pairs = []
            for scheme, codes in value.items():
                for code in codes if isinstance(codes, (list, tuple)) else [codes]:
                    if not isinstance(code, str):
                        # YAML reads 012086 as the octal number 5190: quoting keeps the code
                        # ValueError, not TypeError: pydantic reports only the former as a problem
                        raise ValueError(  # noqa: TRY004
                            f"geocode {scheme} must be text (quote it), not {code!r}"
                        )
                    pairs.append((str(scheme).strip(), str(code).strip()))
            value = pairs
        if isinstance(value, (list, tuple)):
            for pair in value:
                if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(pair)):
                    raise ValueError("geocodes map a scheme to a code or a list of codes")
        return value

    @field_serializer("geocodes")
    def _geocode_mapping(self, value: tuple[tuple[str, str], ...]) -> dict[str, Any]:
        out: dict[str, list[str]] = {}
        for scheme, code in value:
            out.setdefault(scheme, []).append(code)
        return {k: v[0] if len(v) == 1 else v for k, v in out.items()}

    @field_validator("lat", "lon", "capacity", "handling_days", "clearance_days")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @field_validator("country")
    @classmethod
    def _upper_country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.isalpha():
            raise ValueError("must be a two-letter ISO country code")
        return value.upper()

    def is_customs_entry_for(self, origin_country: str | None) -> bool:
        """Whether import clearance happens here for freight from `origin_country`."""
        if self.customs_entry is not None:
            return self.customs_entry
        if self.kind not in CUSTOMS_KINDS:
            return False
        return self.country is not None and self.country != origin_country


class Lane(_Record):
    """A scheduled transport link between two nodes; `capacity` is units per departure day."""

    id: Identifier
    from_: Identifier = Field(alias="from")
    to: Identifier
    mode: Mode
    transit_days: float = Field(gt=0)
    cost_per_unit: NonNegative
    capacity: NonNegative | None = None
    via: tuple[str, ...] = ()
    transit_days_p90: float | None = Field(default=None, gt=0)
    # Carbon (docs/emissions.md): the distance sailed, flown or driven; an intensity that
    # overrides the emission table's; the table's vessel/aircraft/vehicle class to use.
    distance_km: float | None = Field(default=None, gt=0)
    co2e_g_per_tkm: NonNegative | None = None
    emission_class: str | None = None

    @field_validator(
        "transit_days",
        "cost_per_unit",
        "capacity",
        "transit_days_p90",
        "distance_km",
        "co2e_g_per_tkm",
    )
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @field_validator("via", mode="before")
    @classmethod
    def _split_via(cls, value: Any) -> Any:
        if value is None:
            return ()
        if isinstance(value, str):
            return tuple(
                part.strip() for part in value.replace("|", ";").split(";") if part.strip()
            )
        return value

    @model_validator(mode="after")
    def _p90_not_below_transit(self) -> Lane:
        if self.transit_days_p90 is not None and self.transit_days_p90 < self.transit_days:
            raise ValueError("transit_days_p90 must be at least transit_days")
        if self.from_ == self.to:
            raise ValueError("a lane must join two different nodes (from == to)")
        return self


class Network(BaseModel):
    """The physical network the twin mirrors. Lookups by id are built once."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    unit: str = "cbm"
    currency: str = "USD"
    nodes: tuple[Node, ...]
    lanes: tuple[Lane, ...]

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Network:
        """A copy whose id lookups are rebuilt from its own nodes and lanes, not the original's."""
        copy = super().model_copy(update=update, deep=deep)
        for cached in ("node_by_id", "lane_by_id", "lanes_from"):
            copy.__dict__.pop(cached, None)
        return copy

    @cached_property
    def node_by_id(self) -> dict[str, Node]:
        return {node.id: node for node in self.nodes}

    @cached_property
    def lane_by_id(self) -> dict[str, Lane]:
        return {lane.id: lane for lane in self.lanes}

    @cached_property
    def lanes_from(self) -> dict[str, tuple[Lane, ...]]:
        """The lanes leaving each node."""
        out: dict[str, list[Lane]] = {}
        for lane in self.lanes:
            out.setdefault(lane.from_, []).append(lane)
        return {node: tuple(lanes) for node, lanes in out.items()}

    def summary(self) -> dict[str, Any]:
        by_kind: dict[str, int] = {}
        by_mode: dict[str, int] = {}
        for node in self.nodes:
            by_kind[node.kind.value] = by_kind.get(node.kind.value, 0) + 1
        for lane in self.lanes:
            by_mode[lane.mode.value] = by_mode.get(lane.mode.value, 0) + 1
        return {
            "name": self.name,
            "nodes": len(self.nodes),
            "lanes": len(self.lanes),
            "by_kind": dict(sorted(by_kind.items())),
            "by_mode": dict(sorted(by_mode.items())),
        }

    def to_document(self) -> dict[str, Any]:
        """The SPEC 1.1 document of this network, fields in a stable order, defaults left out."""
        return {
            "name": self.name,
            "unit": self.unit,
            "currency": self.currency,
            "nodes": [_record_document(node) for node in self.nodes],
            "lanes": [_record_document(lane) for lane in self.lanes],
        }


def _record_document(record: _Record) -> dict[str, Any]:
    doc = record.model_dump(by_alias=True, exclude_defaults=True, mode="json")
    if "via" in doc:
        doc["via"] = list(doc["via"])
    return doc


class Shipment(_Record):
    """Freight to move from an origin to a destination between `ready_at` and `due_at`."""

    id: Identifier
    origin: Identifier
    destination: Identifier
    units: float = Field(gt=0)
    ready_at: datetime
    due_at: datetime
    priority: Priority = Priority.standard
    late_penalty_per_unit_day: NonNegative | None = None
    split: bool = True
    # Shipment density for CO2e (docs/emissions.md); default: the emission table's.
    kg_per_cbm: float | None = Field(default=None, gt=0)

    @field_validator("ready_at", "due_at", mode="before")
    @classmethod
    def _zoned(cls, value: Any) -> datetime:
        return parse_timestamp(value)

    @field_validator("units", "late_penalty_per_unit_day", "kg_per_cbm")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @model_validator(mode="after")
    def _due_after_ready(self) -> Shipment:
        if self.due_at < self.ready_at:
            raise ValueError("due_at is before ready_at")
        if self.origin == self.destination:
            raise ValueError("origin and destination are the same node")
        return self

    @property
    def penalty_per_unit_day(self) -> float:
        if self.late_penalty_per_unit_day is not None:
            return self.late_penalty_per_unit_day
        return DEFAULT_LATE_PENALTY[self.priority]

    def to_row(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": self.id,
            "origin": self.origin,
            "destination": self.destination,
            "units": self.units,
            "ready_at": format_timestamp(self.ready_at),
            "due_at": format_timestamp(self.due_at),
            "priority": self.priority.value,
            "split": self.split,
        }
        if self.late_penalty_per_unit_day is not None:
            row["late_penalty_per_unit_day"] = self.late_penalty_per_unit_day
        if self.kg_per_cbm is not None:
            row["kg_per_cbm"] = self.kg_per_cbm
        row.update(self.extras)
        return row
