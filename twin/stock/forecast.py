"""Forecast daily demand per warehouse x SKU, and measure the forecast on held-out history.

Top-down: each warehouse's total daily demand is forecast with Holt-Winters exponential
smoothing (statsmodels: additive damped trend, additive weekly season, fit on the last 16
weeks), then split between its SKUs by each SKU's share of the warehouse's recent demand. A
few dozen smooth warehouse series fit quickly and well where thousands of sparse, noisy SKU
series would not; the shares carry the long tail. The accuracy is measured the same way on a
held-out tail: fit on the history without its last `holdout_days`, forecast them, compare per
warehouse x SKU (WAPE, and MASE against the seasonal-naive in-sample error), next to the
seasonal-naive forecast's own WAPE as a baseline.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd

from twin.domain.arrays import FloatArray

SEASON = 7  # days in the weekly cycle
SHARE_DAYS = 56  # recent days whose demand splits a warehouse's forecast between its SKUs
MIN_SEASONAL_DAYS = 4 * SEASON
# The smoothing is fit on the last weeks only: the level and weekly shape are what it forecasts
# (the annual season is not modelled), and short fits are several times faster.
FIT_DAYS = 16 * SEASON


@dataclass(frozen=True, slots=True)
class Accuracy:
    """Forecast error on the last `holdout_days` of the history, per warehouse x SKU."""

    holdout_days: int
    pairs: int
    wape: float  # sum |actual - forecast| / sum actual
    mase: float  # mean over pairs of MAE / in-sample seasonal-naive MAE
    naive_wape: float  # the seasonal-naive forecast's WAPE, as a baseline

    def as_dict(self) -> dict[str, float | int]:
        return {
            "holdout_days": self.holdout_days,
            "pairs": self.pairs,
            "wape": round(self.wape, 4),
            "mase": round(self.mase, 4),
            "naive_wape": round(self.naive_wape, 4),
        }


def history_matrix(
    history: pd.DataFrame, pairs: pd.MultiIndex
) -> tuple[FloatArray, pd.DatetimeIndex]:
    """Daily units, P x D over every day from the first to the last history date (a day
    without a row sold nothing)."""
    if history.empty:
        return np.zeros((len(pairs), 0)), pd.DatetimeIndex([])
    days = pd.date_range(history["date"].min(), history["date"].max(), freq="D")
    rows = pairs.get_indexer(pd.MultiIndex.from_frame(history[["warehouse", "sku"]]))
    cols = days.get_indexer(history["date"])
    matrix = np.zeros((len(pairs), len(days)))
    known = rows >= 0
    np.add.at(matrix, (rows[known], cols[known]), history["units"].to_numpy(float)[known])
    return matrix, days


def _smooth(series: FloatArray, steps: int) -> FloatArray:
    """Holt-Winters forecast of one warehouse's daily total."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    if series.size == 0 or not series.any():
        return np.zeros(steps)
    series = series[-FIT_DAYS:]
    if series.size >= MIN_SEASONAL_DAYS:
        model = ExponentialSmoothing(
            series,
            trend="add",
            damped_trend=True,
            seasonal="add",
            seasonal_periods=SEASON,
            initialization_method="heuristic",
        )
    else:  # under two weeks: a level only, starting at the mean
        model = ExponentialSmoothing(
            series, initialization_method="known", initial_level=float(series.mean())
        )
    with warnings.catch_warnings():
        # Convergence chatter from the optimiser; the fit is still the best found.
        warnings.simplefilter("ignore")
        fitted = model.fit(use_brute=False)  # the grid search of starting values triples the time
        out = np.asarray(fitted.forecast(steps), dtype=np.float64)
    return np.clip(np.nan_to_num(out, nan=0.0), 0.0, None)


def top_down(matrix: FloatArray, groups: npt.NDArray[np.int64], steps: int) -> FloatArray:
    """Forecast `steps` days for each row of `matrix` (P x D): each group's total smoothed,
    split by the rows' shares of the group's last SHARE_DAYS days."""
    out = np.zeros((matrix.shape[0], steps))
    if matrix.shape[1] == 0:
        return out
    recent = matrix[:, -SHARE_DAYS:].sum(axis=1)
    for group in np.unique(groups):
        rows = np.flatnonzero(groups == group)
        total = recent[rows].sum()
        if total <= 0:
            continue
        out[rows] = recent[rows, None] / total * _smooth(matrix[rows].sum(axis=0), steps)[None, :]
    return out


def accuracy(
    matrix: FloatArray, groups: npt.NDArray[np.int64], holdout_days: int
) -> Accuracy | None:
    """The top-down forecast's error on the last `holdout_days` days of `matrix`; None when the
    history is too short to hold out that much and still fit."""
    if holdout_days < 1 or matrix.shape[1] < holdout_days + MIN_SEASONAL_DAYS:
        return None
    train, actual = matrix[:, :-holdout_days], matrix[:, -holdout_days:]
    predicted = top_down(train, groups, holdout_days)
    reps = -(-holdout_days // SEASON)
    naive = np.tile(train[:, -SEASON:], reps)[:, :holdout_days]
    volume = actual.sum()
    wape = float(np.abs(actual - predicted).sum() / volume) if volume > 0 else float("nan")
    naive_wape = float(np.abs(actual - naive).sum() / volume) if volume > 0 else float("nan")
    scale = np.abs(train[:, SEASON:] - train[:, :-SEASON]).mean(axis=1)
    scored = scale > 0
    mae = np.abs(actual - predicted).mean(axis=1)
    mase = float((mae[scored] / scale[scored]).mean()) if scored.any() else float("nan")
    return Accuracy(holdout_days, int(scored.sum()), wape, mase, naive_wape)


def forecast_pairs(
    history: pd.DataFrame,
    pairs: pd.MultiIndex,
    first_day: date,
    horizon: int,
    holdout_days: int = 28,
) -> tuple[FloatArray, Accuracy | None]:
    """Daily demand P x `horizon` from `first_day`, for the (warehouse, sku) `pairs`."""
    matrix, days = history_matrix(history, pairs)
    if len(days) == 0:
        return np.zeros((len(pairs), horizon)), None
    following = (days[-1] + timedelta(days=1)).date()
    gap = max((first_day - following).days, 0)
    groups = pd.factorize(pairs.get_level_values(0))[0].astype(np.int64)
    ahead = top_down(matrix, groups, gap + horizon)[:, gap:]
    return ahead, accuracy(matrix, groups, holdout_days)
