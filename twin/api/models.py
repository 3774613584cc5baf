"""What the JSON API sends and takes (API models, apart from the store's table rows and the
domain records; built from the domain records in twin.api.views). The stock records
(twin.domain.stock: a warehouse's position, an incident's impact) are plain frozen values and
go out as they are."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from twin.alerting.rules import check_matchers
from twin.domain.durations import parse_duration
from twin.domain.stock import StockImpact, StockMove, WarehouseStock


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorOut(_Out):
    detail: str


class UserOut(_Out):
    name: str
    role: str


class NodeOut(_Out):
    id: str
    kind: str
    name: str
    country: str | None
    lat: float | None
    lon: float | None


class LaneOut(_Out):
    id: str
    from_node: str
    to_node: str
    mode: str
    transit_days: float
    cost_per_unit: float
    via: list[str]
    risk: float = Field(description="highest latest score of the lane over all dimensions (0-1)")


class NetworkOut(_Out):
    name: str
    unit: str
    currency: str
    nodes: list[NodeOut]
    lanes: list[LaneOut]


class ScoreOut(_Out):
    target: str
    dimension: str
    score: float
    at: datetime
    kind: str
    explain: str


class AlertOut(_Out):
    id: str
    target: str
    dimension: str
    severity: str
    score: float
    peak: float
    opened_at: datetime
    updated_at: datetime
    cleared_at: datetime | None
    explain: str
    kind: str
    silenced_by: str | None
    inhibited_by: str | None
    acked_by: str | None
    stock: WarehouseStock | None = Field(
        default=None, description="stock alerts: the warehouse's position behind the score"
    )
    chain: list[str] = Field(
        default_factory=list,
        description="stock alerts: cause -> shipments -> warehouse x SKU -> days short",
    )


class SilenceOut(_Out):
    id: str
    matchers: dict[str, str | list[str]]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str


class AckOut(_Out):
    alert_id: str
    by: str
    at: datetime
    comment: str


class AuditOut(_Out):
    incident_id: str
    at: datetime
    actor: str
    action: str
    from_state: str | None
    to_state: str
    why: str


class IncidentSummary(_Out):
    id: str
    alert: str
    playbook: str
    state: str
    target: str
    dimension: str
    severity: str
    shadow: bool
    needs_approval: list[str]
    created_at: datetime
    updated_at: datetime
    decided_by: str | None
    plan_status: str
    plan_shipments: int
    plan_cost_delta: float
    plan_cost_increase_pct: float | None
    plan_late_unit_days_avoided: float
    plan_unserved: list[str]


class ChangeOut(_Out):
    shipment: str
    units: float
    action: str
    old_path: list[str]
    new_path: list[str]
    held: bool
    old_cost: float
    new_cost: float
    cost_delta: float
    old_eta: datetime | None
    new_eta: datetime | None
    eta_delta_days: float
    late_days_avoided: float
    no_return_at: datetime | None


class IncidentDetail(IncidentSummary):
    why: str
    comment: str
    approval: str
    rollback: str
    actions: list[dict[str, Any]]
    constraints: dict[str, Any]
    changes: list[ChangeOut]
    audit: list[AuditOut]
    can: list[str] = Field(description="the decisions the incident's state allows now")
    stock: list[StockImpact] = Field(
        default_factory=list,
        description="per warehouse x SKU the changed shipments feed: units / days short and "
        "margin at risk within the lead time, before and after the plan; what it avoids and "
        "saves, and the cost it adds (each shipment's, shared among its lines by cbm)",
    )
    stock_by_warehouse: list[WarehouseImpactOut] = Field(default_factory=list)
    moves: list[StockMove] = Field(
        default_factory=list,
        description="stock moves the optimiser chose (split, redirect, transfer, replenish): "
        "the shipment booked or changed, from where, by what, the SKU lines, cost and margin "
        "saved (docs/stock.md, 'Stock moves')",
    )


class WarehouseImpactOut(_Out):
    """An incident's stock impact summed over the SKUs of one warehouse its shipments feed."""

    warehouse: str
    skus: int
    units_short_before: float
    units_short_after: float
    days_short_before: int = Field(description="the most days short of any of its SKUs")
    days_short_after: int
    margin_at_risk_before: float
    margin_at_risk_after: float
    margin_saved: float = Field(description="margin at risk before less after, over its SKUs")
    added_cost: float = Field(description="what the plan adds to the freight feeding it")


class StockOut(_Out):
    """The stock position as the last monitor pass projected it (none when stock is not
    monitored: `[stock] path` in twin.toml)."""

    at: datetime | None
    currency: str
    warehouses: list[WarehouseStock]


class PlanDiffOut(_Out):
    incident: str
    status: str
    cost_delta: float
    cost_increase_pct: float | None
    late_unit_days_avoided: float
    unserved: list[str]
    changes: list[ChangeOut]


class DecisionIn(_Out):
    comment: str = Field(default="", max_length=2000)
    expected_state: str | None = Field(
        default=None, description="refuse (409) unless the incident is still in this state"
    )


class DecisionOut(_Out):
    incident: IncidentSummary
    message: str


class AckIn(_Out):
    comment: str = Field(default="", max_length=2000)


SILENCE_MAX = timedelta(days=30)


class SilenceIn(_Out):
    """A new silence: which alerts (label → value or values; `~REGEX` for a regex on target),
    for how long from now, and why."""

    matchers: dict[str, str | list[str]] = Field(
        min_length=1, examples=[{"target": "SUEZ", "dimension": "security"}]
    )
    duration: str = Field(
        min_length=1, max_length=20, description="30m, 6h, 2d … (at most 30 days)", examples=["6h"]
    )
    comment: str = Field(
        min_length=1, max_length=2000, description="why: the next on-call reads it"
    )

    @field_validator("matchers")
    @classmethod
    def _labels(cls, matchers: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        check_matchers(matchers, "matchers")
        for name, wanted in matchers.items():
            values = wanted if isinstance(wanted, list) else [wanted]
            if not values or any(not str(v).strip() or len(str(v)) > 200 for v in values):
                raise ValueError(
                    f"matchers: {name!r} needs one or more non-empty values (at most 200 characters)"
                )
        return matchers

    @field_validator("duration")
    @classmethod
    def _duration(cls, text: str) -> str:
        length = parse_duration(text.strip())
        if length <= timedelta(0) or length > SILENCE_MAX:
            raise ValueError(f"must be longer than 0 and at most 30 days: {text!r}")
        return text.strip()

    @field_validator("comment")
    @classmethod
    def _said_why(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("say why: the next on-call reads it")
        return text.strip()

    @property
    def length(self) -> timedelta:
        return parse_duration(self.duration)


class ExpireIn(_Out):
    comment: str = Field(default="", max_length=2000)
