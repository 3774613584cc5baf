"""Stock and demand records (SPEC 1.7): stock on hand, demand and SKU lines on shipments."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from twin.domain.records import Identifier, NonNegative

Positive = Annotated[float, Field(gt=0)]

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
