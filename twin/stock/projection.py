"""Project stock per warehouse x SKU day by day: on hand + inbound - forecast demand.

Sales are lost, not back-ordered: what is not on the shelf on a day is a lost sale. With
`a_t = inbound_t - demand_t` and `A_t` its running sum, the end-of-day stock follows the
Lindley recursion `S_t = max(S_{t-1} + a_t, 0)`, whose closed form
`S_t = A_t + max(S_0, max_{k<=t} -A_k)` lets every pair and day be computed at once with
cumulative sums and running maxima; no Python loop over days or pairs.

Freight arriving on day d is sellable on day d. Day 0 is the 24 hours from `now`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

NO_STOCKOUT = -1


@dataclass(frozen=True, slots=True)
class Projection:
    """Day-by-day stock of P warehouse x SKU pairs over H days, and per-pair summaries.

    Matrices are P x H: `stock` at the end of each day, `sold` and `lost` units on each day.
    `stockout_day` is the first day with a lost sale (NO_STOCKOUT if none); `cover_days` counts
    the whole days the stock on hand alone serves demand (H when it lasts the horizon).
    """

    now: datetime
    stock: FloatArray
    sold: FloatArray
    lost: FloatArray
    stockout_day: IntArray
    days_short: IntArray
    units_lost: FloatArray
    margin_lost: FloatArray
    cover_days: IntArray

    @property
    def horizon(self) -> int:
        return int(self.stock.shape[1])


def _as_matrix(name: str, value: npt.ArrayLike, shape: tuple[int, int]) -> FloatArray:
    array = np.asarray(value, dtype=np.float64)
    if array.shape != shape:
        raise ValueError(f"{name} has shape {array.shape}, expected {shape}")
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ValueError(f"{name} must be finite and non-negative")
    return array


def project(
    on_hand: npt.ArrayLike,
    demand: npt.ArrayLike,
    inbound: npt.ArrayLike,
    unit_margin: npt.ArrayLike,
    now: datetime,
) -> Projection:
    """Project P pairs: `on_hand` and `unit_margin` of length P, `demand` and `inbound` P x H."""
    start = np.asarray(on_hand, dtype=np.float64)
    if start.ndim != 1:
        raise ValueError("on_hand must be one-dimensional")
    demand_m = np.asarray(demand, dtype=np.float64)
    if demand_m.ndim != 2 or demand_m.shape[0] != start.shape[0]:
        raise ValueError(f"demand has shape {demand_m.shape}, expected ({start.shape[0]}, H)")
    shape = (start.shape[0], demand_m.shape[1])
    demand_m = _as_matrix("demand", demand_m, shape)
    inbound_m = _as_matrix("inbound", inbound, shape)
    margin = np.asarray(unit_margin, dtype=np.float64)
    if margin.shape != start.shape:
        raise ValueError("unit_margin must have one value per pair")
    if not np.all(np.isfinite(start)) or np.any(start < 0):
        raise ValueError("on_hand must be finite and non-negative")

    net = np.cumsum(inbound_m - demand_m, axis=1)  # A_t
    floor = np.maximum(start[:, None], np.maximum.accumulate(-net, axis=1))
    stock = np.maximum(net + floor, 0.0)  # clip the last ulp of rounding below zero
    before = np.concatenate([start[:, None], stock[:, :-1]], axis=1)
    sold = np.minimum(before + inbound_m, demand_m)
    lost = demand_m - sold

    # Rounding in the running sums leaves dust; a shortfall under a millionth of a unit is none.
    short = lost > 1e-6
    any_short = short.any(axis=1)
    stockout_day = np.where(any_short, short.argmax(axis=1), NO_STOCKOUT).astype(np.int64)
    units_lost = np.where(short, lost, 0.0).sum(axis=1)
    covered = np.cumsum(demand_m, axis=1) <= start[:, None] + 1e-9
    # Cover ends at the first day on-hand stock alone falls short (all of the horizon if never).
    cover_days = np.where(covered.all(axis=1), shape[1], (~covered).argmax(axis=1)).astype(np.int64)
    return Projection(
        now=now,
        stock=stock,
        sold=sold,
        lost=lost,
        stockout_day=stockout_day,
        days_short=short.sum(axis=1).astype(np.int64),
        units_lost=units_lost,
        margin_lost=units_lost * margin,
        cover_days=cover_days,
    )
