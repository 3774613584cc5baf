"""Stock and demand records (SPEC 1.7): stock on hand, demand and SKU lines on shipments."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    computed_field,
    field_validator,
)

from twin.domain.durations import parse_timestamp
from twin.domain.records import Identifier, NonNegative, Shipment

if TYPE_CHECKING:
    # Only StockInputs' annotations name pandas: the alert and incident records that import
    # this module (and every CLI command) start without it.
    import pandas as pd

Positive = Annotated[float, Field(gt=0)]
# As twin.domain.alerts.Zoned (which imports this module): zone-aware UTC, naive refused.
_Zoned = Annotated[datetime, BeforeValidator(parse_timestamp)]

# A shipment's SKU lines agree with its cbm when they differ by no more than this share of the
# shipment, or this many cbm on small lots (lines count whole units; cbm is given to 0.01).
LINE_CBM_RELATIVE_TOLERANCE = 0.01
LINE_CBM_ABSOLUTE_TOLERANCE = 0.01

STOCK_COLUMNS = [
    "warehouse",
    "sku",
    "on_hand",
    "unit_value",
    "unit_margin",
    "cbm_per_unit",
    "safety_days",
]
DEMAND_COLUMNS = ["warehouse", "sku", "date", "units"]
LINE_COLUMNS = ["shipment", "sku", "units"]


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*")
    @classmethod
    def _finite(cls, value: object) -> object:
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value


class StockItem(_Row):
    """Units of one SKU on hand at one warehouse, with what a unit is worth and takes up."""

    warehouse: Identifier
    sku: Identifier
    on_hand: NonNegative
    unit_value: NonNegative
    unit_margin: NonNegative
    cbm_per_unit: Positive
    safety_days: NonNegative | None = None


class ShipmentLine(_Row):
    """Units of one SKU carried by a shipment (its cbm is units x the SKU's cbm per unit)."""

    shipment: Identifier
    sku: Identifier
    units: Positive


def lines_agree(lines_cbm: float, shipment_cbm: float) -> bool:
    """Whether a shipment's lines add up to its cbm within the documented tolerance."""
    tolerance = max(LINE_CBM_ABSOLUTE_TOLERANCE, LINE_CBM_RELATIVE_TOLERANCE * shipment_cbm)
    return abs(lines_cbm - shipment_cbm) <= tolerance


@dataclass(frozen=True)
class StockInputs:
    """Validated stock inputs as tables.

    `stock`: STOCK_COLUMNS, one row per warehouse x SKU (safety_days NaN when not given).
    `history` and `forecast`: warehouse, sku, date (datetime64, a day), units; either may be
    empty. A pair with forecast rows is projected on them as given; other pairs are forecast
    from their history. `lines`: shipment, sku, units.
    """

    stock: pd.DataFrame
    history: pd.DataFrame
    forecast: pd.DataFrame
    lines: pd.DataFrame

    @property
    def skus(self) -> frozenset[str]:
        return frozenset(self.stock["sku"])


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class InboundLot(_Record):
    """Units of one SKU on one inbound shipment: when the plan of record brings them, and when
    they are expected under the current risks (`causes`: the targets whose risk delays them)."""

    shipment: str
    units: float
    eta: _Zoned | None = None
    expected_eta: _Zoned | None = None
    delay_days: float = 0.0
    causes: tuple[str, ...] = ()


class SkuAtRisk(_Record):
    """One warehouse x SKU short within the warehouse's replenishment lead time.

    days_short / units_short / margin_at_risk: under the current risks' expected delays;
    days_short_without_delays: the same count at the plan of record's own ETAs (what the
    delays add is the difference). stockout_on: the first day with a lost sale.
    """

    sku: str
    on_hand: float
    demand_per_day: float
    cover_days: int
    stockout_on: date | None = None
    days_short: int = 0
    units_short: float = 0.0
    margin_at_risk: float = 0.0
    days_short_without_delays: int = 0
    inbound: tuple[InboundLot, ...] = ()


class RiskCause(_Record):
    """A risk (target, dimension) whose expected delay of `shipments` breaks a warehouse's cover."""

    target: str
    dimension: str
    delay_days: float
    shipments: tuple[str, ...] = ()


class WarehouseStock(_Record):
    """One warehouse's stock position as the stock monitor scored it: cover, what is short
    within its replenishment lead time and why. The chain an alert shows reads
    causes -> their shipments -> at_risk (warehouse x SKU) -> days short.

    margin_at_risk: margin of the sales lost within the lead time under the current risks;
    margin_at_risk_without_delays: the same at the plan of record's ETAs. at_risk: the SKUs
    short within the lead time, most margin first (at most the configured number).
    """

    warehouse: str
    lead_time_days: float
    skus: int = 0
    on_hand: float = 0.0
    inbound_units: float = 0.0
    outbound_units: float = 0.0  # units leaving for other warehouses (transfers) in the horizon
    median_cover_days: float = 0.0
    skus_short: int = 0
    units_short: float = 0.0
    margin_at_risk: float = 0.0
    margin_at_risk_without_delays: float = 0.0
    first_stockout_on: date | None = None
    causes: tuple[RiskCause, ...] = ()
    at_risk: tuple[SkuAtRisk, ...] = ()

    def chain(self) -> list[str]:
        """The chain for people, one line per SKU at risk: cause -> shipments -> warehouse x
        SKU -> days short."""
        lines = []
        for item in self.at_risk:
            delayed = [lot for lot in item.inbound if lot.delay_days > 0]
            causes = sorted({c for lot in delayed for c in lot.causes})
            cause = ", ".join(causes) if causes else "demand outruns stock and inbound"
            ships = ", ".join(f"{lot.shipment} (+{lot.delay_days:g} d)" for lot in delayed)
            short = (
                f"{self.warehouse} x {item.sku}: {item.days_short} days short"
                f" ({item.days_short_without_delays} without the delays),"
                f" {item.units_short:,.0f} units, {item.margin_at_risk:,.0f} margin"
            )
            lines.append(" -> ".join([cause, *([ships] if ships else []), short]))
        return lines


class StockImpact(_Record):
    """What an incident's plan does to one warehouse x SKU its shipments feed, within the
    warehouse's lead time, under the current risks: before (the plan of record) and after
    (the incident's new routes).

    added_cost: what the plan adds to the transport cost of the shipments feeding the pair,
    each shipment's change shared among its SKU lines by cbm. The savings (units, days and
    margin) are before less after: negative when the plan makes the shelf emptier.
    """

    warehouse: str
    sku: str
    units_short_before: float
    units_short_after: float
    days_short_before: int
    days_short_after: int
    margin_at_risk_before: float
    margin_at_risk_after: float
    added_cost: float = 0.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def units_short_avoided(self) -> float:
        return round(self.units_short_before - self.units_short_after, 2)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def days_short_avoided(self) -> int:
        return self.days_short_before - self.days_short_after

    @computed_field  # type: ignore[prop-decorator]
    @property
    def margin_saved(self) -> float:
        return round(self.margin_at_risk_before - self.margin_at_risk_after, 2)


class MoveLine(_Record):
    """Units of one SKU a stock move carries."""

    sku: str
    units: float


class StockMove(_Record):
    """One move an incident makes against a stock-out (twin.stock.moves; docs/stock.md,
    "Stock moves"), as chosen by the optimiser.

    kind: `split` (urgent lines flown apart), `redirect` (inbound freight sent to another
    warehouse of the market), `transfer` (stock from a sister warehouse) or `replenish` (a new
    shipment from an origin). shipment: the shipment it books (a transfer, a replenishment, a
    split's part) or redirects. booked: the shipment record it creates or changes to (a
    split's rest, a redirect's new destination); replaced: the record before a change
    (restored on rollback; None: created, removed on rollback). parent: a split's shipment.
    margin_saved: over every pair it touches (a source's or old destination's loss counted
    against it); cost: what it adds to transport; no_return_at: when its freight leaves on
    the new way (rollback is possible before).
    """

    kind: str
    shipment: str
    warehouse: str
    source: str
    mode: str
    lanes: tuple[str, ...]
    lines: tuple[MoveLine, ...]
    cbm: float
    arrival_on: date
    cost: float
    margin_saved: float
    booked: Shipment
    replaced: Shipment | None = None
    parent: str | None = None
    parent_booked: Shipment | None = None
    parent_replaced: Shipment | None = None
    no_return_at: _Zoned | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def net_saving(self) -> float:
        return round(self.margin_saved - self.cost, 2)
