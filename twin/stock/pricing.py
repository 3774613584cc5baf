"""Lateness priced by stock: what a day of delay of a shipment's SKU lines costs in lost margin.

The planner prices a late day at one rate per unit (`Shipment.late_penalty_per_unit_day`). For
a shipment with SKU lines that rate can say what the delay really costs the seller: each line
is projected into its warehouse x SKU twice, arriving on its due day and `probe_days` later,
against the stock on hand, the other inbound freight and the forecast demand
(twin.stock.projection). The margin of the sales lost only in the late case until the late
arrival (after it the same units are on the shelf in both cases), less the holding cost the
later arrival saves, spread over the probe's days and the shipment's cbm, is the shipment's
rate. Late freight into a warehouse with ample cover costs about nothing; late
freight into one about to run out costs the margin of the sales it misses.

Pure: arrays in, rates out; no clock, no files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from twin.stock.projection import project

# How far past its due day a shipment is probed: the planner's own late window (14 days,
# twin.optimise.request.PlanRequest.late_window_days), the delays it weighs.
PROBE_DAYS = 14
# The least rate per cbm-day: late freight that costs no sale still ranks behind on-time
# freight, so the planner never delays it for nothing (a tenth of a standard shipment's 4).
FLOOR_PER_CBM_DAY = 0.4
# Holding cost a year as a share of unit value: capital, storage and shrink (a common
# planning figure for consumer goods, 20-30%).
HOLDING_RATE_PER_YEAR = 0.25
# The projection labels its days from a `now`; pricing only counts units, so any will do.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class PricedLine:
    """One SKU line of a shipment: the pair row it lands in and its units."""

    row: int
    units: float


@dataclass(frozen=True, slots=True)
class LineRequest:
    """A shipment to price: its cbm, its due day (0 = today) and its lines."""

    shipment: str
    cbm: float
    due_day: int
    lines: tuple[PricedLine, ...]


@dataclass(frozen=True, slots=True)
class StockPrice:
    """A shipment's rate per cbm-day, with what a `probe_days` delay would cost and save."""

    shipment: str
    per_cbm_day: float
    margin_lost: float
    holding_saved: float
    units_lost: float


def price_lateness(
    requests: Sequence[LineRequest],
    *,
    on_hand: npt.ArrayLike,
    demand: npt.ArrayLike,
    inbound: npt.ArrayLike,
    unit_margin: npt.ArrayLike,
    unit_value: npt.ArrayLike,
    probe_days: int = PROBE_DAYS,
    holding_rate_per_year: float = HOLDING_RATE_PER_YEAR,
    floor_per_cbm_day: float = FLOOR_PER_CBM_DAY,
) -> list[StockPrice]:
    """Price each shipment's late day by the stock its lines feed.

    `on_hand`, `unit_margin`, `unit_value`: one value per warehouse x SKU pair (P);
    `demand` and `inbound` (freight already on its way, at its ETA): P x H from today.
    A line due beyond the horizon is projected as arriving on its last day.

    >>> price = price_lateness([LineRequest("S1", 1.0, 2, (PricedLine(0, 10.0),))],
    ...     on_hand=[0.0], demand=[[1.0] * 30], inbound=[[0.0] * 30],
    ...     unit_margin=[5.0], unit_value=[0.0], probe_days=3)[0]
    >>> price.units_lost, price.margin_lost, price.per_cbm_day
    (3.0, 15.0, 5.0)
    """
    start = np.asarray(on_hand, dtype=np.float64)
    demand_m = np.asarray(demand, dtype=np.float64)
    inbound_m = np.asarray(inbound, dtype=np.float64)
    margin = np.asarray(unit_margin, dtype=np.float64)
    value = np.asarray(unit_value, dtype=np.float64)
    if probe_days < 1:
        raise ValueError("probe_days must be at least 1")
    horizon = demand_m.shape[1]
    rows: list[int] = []
    on_time: list[int] = []
    units: list[float] = []
    owner: list[int] = []
    for index, request in enumerate(requests):
        for line in request.lines:
            rows.append(line.row)
            on_time.append(min(max(request.due_day, 0), horizon - 1))
            units.append(line.units)
            owner.append(index)
    if not rows:
        return [StockPrice(r.shipment, floor_per_cbm_day, 0.0, 0.0, 0.0) for r in requests]
    row_a = np.asarray(rows)
    line_count = len(rows)
    # Each line twice: the first copy arrives on time, the second probe_days later.
    day = np.asarray(on_time)
    late = np.minimum(day + probe_days, horizon)  # == horizon: arrives after the horizon
    arrival = np.tile(inbound_m[row_a], (2, 1))
    arrival[np.arange(line_count), day] += units
    in_horizon = late < horizon
    arrival[line_count + np.arange(line_count)[in_horizon], late[in_horizon]] += np.asarray(units)[
        in_horizon
    ]
    both = project(
        np.tile(start[row_a], 2),
        np.tile(demand_m[row_a], (2, 1)),
        arrival,
        np.tile(margin[row_a], 2),
        now=_EPOCH,
    )
    # Only the days until the late arrival count: after it the same units are on the shelf in
    # both cases (the late case holds more of them, sold later, not lost).
    before = np.arange(horizon)[None, :] < late[:, None]
    lost = (both.lost[line_count:] * before).sum(axis=1) - (both.lost[:line_count] * before).sum(
        axis=1
    )
    stock_days = (both.stock[:line_count] * before).sum(axis=1) - (
        both.stock[line_count:] * before
    ).sum(axis=1)
    margin_lost = lost * margin[row_a]
    holding_saved = stock_days * value[row_a] * holding_rate_per_year / 365.0
    owners = np.asarray(owner)
    per_margin = np.bincount(owners, margin_lost, minlength=len(requests))
    per_holding = np.bincount(owners, holding_saved, minlength=len(requests))
    per_units = np.bincount(owners, lost, minlength=len(requests))
    prices = []
    for index, request in enumerate(requests):
        net = (per_margin[index] - per_holding[index]) / probe_days / max(request.cbm, 1e-9)
        prices.append(
            StockPrice(
                request.shipment,
                max(floor_per_cbm_day, float(net)),
                float(per_margin[index]),
                float(per_holding[index]),
                float(per_units[index]),
            )
        )
    return prices
