"""Lateness priced by stock: what a day of delay of a shipment's SKU lines costs in lost margin.

The planner prices a late day at one rate per unit (`Shipment.late_penalty_per_unit_day`). For
a shipment with SKU lines that rate can say what the delay really costs the seller: each line
is projected into its warehouse x SKU arriving on its due day and arriving d days later, against
the stock on hand, the other inbound freight and the forecast demand (twin.stock.projection).
The margin of the sales lost only in the late case until the late arrival (after it the same
units are on the shelf in both cases), less the holding cost the later arrival saves, is what
a delay of d days costs. The planner's price is linear in late days, and the loss is not (it
is nothing while cover lasts, then the margin of each day's sales), so the rate is the least
that charges every probed delay at least its loss: the highest loss(d) / d over `probes`,
per cbm. Late freight into a warehouse with ample cover costs about nothing; late freight into
one about to run out costs the margin of the sales it misses.

Pure: arrays in, rates out; no clock, no files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
import pandas as pd

from twin.domain.records import Shipment
from twin.stock.position import StockPosition, inbound_matrix
from twin.stock.projection import project

# The delays a shipment is probed at, in days past its due day: from a few days to the weeks a
# sea booking in place of air, or a port's queue, can add.
PROBE_DAYS = (3, 7, 14, 21, 28, 42, 56)
# The least rate per cbm-day: late freight that costs no sale still ranks behind on-time
# freight, so the planner never delays it for nothing (a tenth of a standard shipment's 4).
FLOOR_PER_CBM_DAY = 0.4
# Holding cost a year as a share of unit value: capital, storage and shrink (a common
# planning figure for consumer goods, 20-30%).
HOLDING_RATE_PER_YEAR = 0.25
# A line is urgent when a late day of it costs at least a standard shipment's rate a cbm: the
# lines a split books apart (the replays' stock-aware engine) or flies (twin.stock.moves).
SPLIT_AT = 4.0
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
    """A shipment's rate per cbm-day, and what the delay that sets it (`probe_days`) would
    cost in margin, save in holding and lose in units."""

    shipment: str
    per_cbm_day: float
    probe_days: int
    margin_lost: float
    holding_saved: float
    units_lost: float
    # Per line, in the request's order: the highest net loss per day of delay over the probes.
    line_net_per_day: tuple[float, ...] = ()


def _delay_losses(
    rows: np.ndarray,
    day: np.ndarray,
    units: np.ndarray,
    delay: int,
    start: np.ndarray,
    demand: np.ndarray,
    inbound: np.ndarray,
    margin: np.ndarray,
    value: np.ndarray,
    holding_per_day: float,
    counted: np.ndarray,
    outflow: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per line: units lost, margin lost and holding saved when it lands `delay` days after
    `day` instead of on it, counted until the late arrival. `counted`: lines `inbound`
    already holds on their due day (taken out before each is placed)."""
    count = len(rows)
    horizon = demand.shape[1]
    late = np.minimum(day + delay, horizon)  # == horizon: arrives after the horizon
    arrival = np.tile(inbound[rows], (2, 1))
    own = np.tile(np.where(counted, units, 0.0), 2)
    arrival[np.arange(2 * count), np.tile(day, 2)] -= own
    arrival[np.arange(count), day] += units
    inside = late < horizon
    arrival[count + np.arange(count)[inside], late[inside]] += units[inside]
    both = project(
        np.tile(start[rows], 2),
        np.tile(demand[rows], (2, 1)),
        arrival,
        np.tile(margin[rows], 2),
        now=_EPOCH,
        outflow=None if outflow is None else np.tile(outflow[rows], (2, 1)),
    )
    before = np.arange(horizon)[None, :] < late[:, None]
    lost = (both.lost[count:] * before).sum(axis=1) - (both.lost[:count] * before).sum(axis=1)
    held = (both.stock[:count] * before).sum(axis=1) - (both.stock[count:] * before).sum(axis=1)
    return lost, lost * margin[rows], held * value[rows] * holding_per_day


def price_lateness(
    requests: Sequence[LineRequest],
    *,
    on_hand: npt.ArrayLike,
    demand: npt.ArrayLike,
    inbound: npt.ArrayLike,
    unit_margin: npt.ArrayLike,
    unit_value: npt.ArrayLike,
    probes: Sequence[int] = PROBE_DAYS,
    holding_rate_per_year: float = HOLDING_RATE_PER_YEAR,
    floor_per_cbm_day: float = FLOOR_PER_CBM_DAY,
    inbound_holds_requests: bool = False,
    outflow: npt.ArrayLike | None = None,
) -> list[StockPrice]:
    """Price each shipment's late day by the stock its lines feed.

    `on_hand`, `unit_margin`, `unit_value`: one value per warehouse x SKU pair (P);
    `demand` and `inbound` (freight already on its way, at its ETA): P x H from today.
    A line due beyond the horizon is projected as arriving on its last day.
    `inbound_holds_requests`: `inbound` already counts the priced shipments on their due
    days (a plan's whole book); each is taken out of it before it is priced.
    `outflow` (P x H, None: none): units leaving each pair's warehouse (transfers out).

    >>> price = price_lateness([LineRequest("S1", 1.0, 2, (PricedLine(0, 10.0),))],
    ...     on_hand=[0.0], demand=[[1.0] * 30], inbound=[[0.0] * 30],
    ...     unit_margin=[5.0], unit_value=[0.0], probes=[3])[0]
    >>> price.units_lost, price.margin_lost, price.per_cbm_day
    (3.0, 15.0, 5.0)
    """
    start = np.asarray(on_hand, dtype=np.float64)
    demand_m = np.asarray(demand, dtype=np.float64)
    inbound_m = np.asarray(inbound, dtype=np.float64)
    margin = np.asarray(unit_margin, dtype=np.float64)
    value = np.asarray(unit_value, dtype=np.float64)
    outflow_m = None if outflow is None else np.asarray(outflow, dtype=np.float64)
    if not probes or min(probes) < 1:
        raise ValueError("probes must be delays of at least 1 day")
    horizon = demand_m.shape[1]
    rows: list[int] = []
    on_time: list[int] = []
    units: list[float] = []
    owner: list[int] = []
    counted: list[bool] = []
    for index, request in enumerate(requests):
        for line in request.lines:
            rows.append(line.row)
            on_time.append(min(max(request.due_day, 0), horizon - 1))
            units.append(line.units)
            owner.append(index)
            counted.append(inbound_holds_requests and request.due_day < horizon)
    if not rows:
        return [StockPrice(r.shipment, floor_per_cbm_day, 0, 0.0, 0.0, 0.0) for r in requests]
    row_a, day_a, units_a = np.asarray(rows), np.asarray(on_time), np.asarray(units)
    owners = np.asarray(owner)
    cbm = np.array([max(r.cbm, 1e-9) for r in requests])
    best_rate = np.full(len(requests), -np.inf)
    best: list[tuple[int, float, float, float]] = [(0, 0.0, 0.0, 0.0)] * len(requests)
    line_rate = np.full(len(rows), -np.inf)
    for delay in probes:
        lost, margin_lost, holding_saved = _delay_losses(
            row_a,
            day_a,
            units_a,
            delay,
            start,
            demand_m,
            inbound_m,
            margin,
            value,
            holding_rate_per_year / 365.0,
            np.asarray(counted, dtype=bool),
            outflow_m,
        )
        line_rate = np.maximum(line_rate, (margin_lost - holding_saved) / delay)
        per_margin = np.bincount(owners, margin_lost, minlength=len(requests))
        per_holding = np.bincount(owners, holding_saved, minlength=len(requests))
        per_units = np.bincount(owners, lost, minlength=len(requests))
        rate = (per_margin - per_holding) / delay / cbm
        for index in map(int, np.nonzero(rate > best_rate)[0]):
            best_rate[index] = rate[index]
            best[index] = (
                delay,
                float(per_margin[index]),
                float(per_holding[index]),
                float(per_units[index]),
            )
    prices = []
    first = 0
    for index, request in enumerate(requests):
        delay, margin_lost_at, holding_at, units_at = best[index]
        prices.append(
            StockPrice(
                request.shipment,
                max(floor_per_cbm_day, float(best_rate[index])),
                delay,
                margin_lost_at,
                holding_at,
                units_at,
                tuple(float(v) for v in line_rate[first : first + len(request.lines)]),
            )
        )
        first += len(request.lines)
    return prices


def price_book(
    position: StockPosition,
    shipments: Sequence[Shipment],
    lines: pd.DataFrame,
    *,
    now: datetime,
) -> list[StockPrice]:
    """Price a whole book of shipments against a stock position projected with each of them
    arriving on its due day (`stock_position(..., etas={id: due_at})`): each shipment's lines
    are taken out of that inbound and priced arriving on time or late (`price_lateness`).
    Shipments without lines are left out."""
    table = position.table
    pairs = pd.MultiIndex.from_frame(table[["warehouse", "sku"]])
    by_id = {s.id: s for s in shipments}
    booked = lines[lines["shipment"].isin(set(by_id))]
    # Every line's pair at once: one index lookup, not one per shipment.
    destination = booked["shipment"].map({sid: s.destination for sid, s in by_id.items()})
    booked = booked.assign(
        row=pairs.get_indexer(pd.MultiIndex.from_arrays([destination, booked["sku"]]))
    )
    first = pd.Timestamp(now).normalize()
    requests = []
    for shipment_id, group in booked.groupby("shipment", sort=True):
        shipment = by_id[str(shipment_id)]
        rows = group["row"].to_numpy()
        due = int((pd.Timestamp(shipment.due_at) - first) // pd.Timedelta(days=1))
        requests.append(
            LineRequest(
                shipment.id,
                shipment.units,
                due,
                tuple(
                    PricedLine(int(row), float(units))
                    for row, units in zip(rows, group["units"])
                    if row >= 0
                ),
            )
        )
    inbound = inbound_matrix(
        pairs,
        lines,
        {s.id: s.destination for s in shipments},
        {s.id: s.due_at for s in shipments},
        now,
        position.projection.horizon,
    )
    return price_lateness(
        requests,
        on_hand=table["on_hand"].to_numpy(float),
        demand=position.projection.demand,
        inbound=inbound,
        unit_margin=table["unit_margin"].to_numpy(float),
        unit_value=table["unit_value"].to_numpy(float),
        inbound_holds_requests=True,
        outflow=position.projection.outflow,
    )


def urgent_lines(
    line_net_per_day: Sequence[float], line_cbm: npt.ArrayLike, split_at: float | None = SPLIT_AT
) -> npt.NDArray[np.bool_]:
    """Which lines of a shipment are urgent: their net loss per day of delay
    (`StockPrice.line_net_per_day`) per cbm of the line is at least `split_at` (None: none).
    A shipment with some urgent lines and some not is worth splitting.

    >>> urgent_lines([50.0, 0.1], [1.0, 1.0]).tolist()
    [True, False]
    """
    cbm = np.asarray(line_cbm, dtype=np.float64)
    per_cbm_day = np.asarray(line_net_per_day, dtype=np.float64) / np.maximum(cbm, 1e-9)
    return per_cbm_day >= (split_at if split_at is not None else np.inf)
