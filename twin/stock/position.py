"""The stock position of every warehouse x SKU: inputs joined, demand forecast, stock projected.

The ETAs are an input mapping (shipment id -> when its freight is sellable at the
destination), so a caller passes the plan of record's ETAs, or ones shifted by the current
risks' expected delays. Shipments without SKU lines add nothing here. A shipment whose
origin is a warehouse (a transfer) takes its lines' units out of that warehouse's stock from
its departure day on (`origins` and `departures`), as it adds them at its destination's ETA.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from twin.domain.stock import StockInputs
from twin.stock.forecast import Accuracy, FloatArray, forecast_pairs
from twin.stock.projection import NO_STOCKOUT, Projection, project

DAY = timedelta(days=1)


@dataclass(frozen=True)
class StockPosition:
    """Per-pair table (one row per warehouse x SKU, in the projection's row order), the
    projection itself and the forecast's held-out accuracy (None when not measurable)."""

    table: pd.DataFrame
    projection: Projection
    accuracy: Accuracy | None


def inbound_matrix(
    pairs: pd.MultiIndex,
    lines: pd.DataFrame,
    destinations: Mapping[str, str],
    etas: Mapping[str, datetime],
    now: datetime,
    horizon: int,
) -> FloatArray:
    """Units arriving per pair and day: day = whole days from now's midnight to the ETA
    (freight already due arrives on day 0). Lines of shipments without an ETA, or arriving
    after the horizon, are left out."""
    out = np.zeros((len(pairs), horizon))
    if lines.empty:
        return out
    shipment = lines["shipment"]
    eta = pd.to_datetime(shipment.map(etas), utc=True)
    since = (
        eta - pd.Timestamp(now).normalize()
    ).dt.total_seconds().to_numpy() / DAY.total_seconds()
    day = np.floor(np.nan_to_num(since, nan=np.inf)).clip(0, None)
    keys = pd.MultiIndex.from_arrays([shipment.map(destinations), lines["sku"]])
    rows = pairs.get_indexer(keys)
    keep = (rows >= 0) & (day < horizon)
    np.add.at(out, (rows[keep], day[keep].astype(np.int64)), lines["units"].to_numpy(float)[keep])
    return out


def _pairs_with_inbound(
    inputs: StockInputs, destinations: Mapping[str, str], etas: Mapping[str, datetime]
) -> pd.DataFrame:
    """The stock table plus a zero-stock row for each SKU arriving where none is held yet."""
    stock = inputs.stock
    lines = inputs.lines[inputs.lines["shipment"].isin(set(etas))]
    arriving = pd.DataFrame(
        {"warehouse": lines["shipment"].map(destinations), "sku": lines["sku"]}
    ).dropna()
    arriving = arriving.drop_duplicates()
    held = pd.MultiIndex.from_frame(stock[["warehouse", "sku"]])
    new = arriving[~pd.MultiIndex.from_frame(arriving).isin(held)]
    if new.empty:
        return stock.reset_index(drop=True)
    per_sku = stock.drop_duplicates("sku").set_index("sku")
    added = new.assign(
        on_hand=0.0,
        unit_value=new["sku"].map(per_sku["unit_value"]).to_numpy(),
        unit_margin=new["sku"].map(per_sku["unit_margin"]).to_numpy(),
        cbm_per_unit=new["sku"].map(per_sku["cbm_per_unit"]).to_numpy(),
        safety_days=np.nan,
    )
    return pd.concat([stock, added], ignore_index=True)


def _given_forecast(
    forecast: pd.DataFrame, pairs: pd.MultiIndex, now: datetime, horizon: int
) -> tuple[FloatArray, np.ndarray]:
    """The forecast rows as P x horizon from now's day (a missing day is zero), and which
    pairs have any."""
    out = np.zeros((len(pairs), horizon))
    has = np.zeros(len(pairs), dtype=bool)
    if forecast.empty:
        return out, has
    rows = pairs.get_indexer(pd.MultiIndex.from_frame(forecast[["warehouse", "sku"]]))
    first = pd.Timestamp(now.date())
    day = ((forecast["date"] - first) / pd.Timedelta(days=1)).to_numpy()
    has[rows[rows >= 0]] = True
    keep = (rows >= 0) & (day >= 0) & (day < horizon)
    np.add.at(out, (rows[keep], day[keep].astype(np.int64)), forecast["units"].to_numpy()[keep])
    return out, has


def stock_position(
    inputs: StockInputs,
    *,
    destinations: Mapping[str, str],
    etas: Mapping[str, datetime],
    now: datetime,
    horizon: int = 120,
    holdout_days: int = 28,
    origins: Mapping[str, str] | None = None,
    departures: Mapping[str, datetime] | None = None,
) -> StockPosition:
    """Project every pair over `horizon` days from `now`. `origins` and `departures`
    (shipment -> where and when it leaves): the lines of a shipment leaving a warehouse of the
    table are taken out of its stock from that day (a departure already past: day 0)."""
    if horizon < 1:
        raise ValueError("horizon must be at least 1 day")
    table = _pairs_with_inbound(inputs, destinations, etas)
    pairs = pd.MultiIndex.from_frame(table[["warehouse", "sku"]])
    given, has_given = _given_forecast(inputs.forecast, pairs, now, horizon)
    history = inputs.history[inputs.history["date"] < pd.Timestamp(now.date())]
    learned, accuracy = forecast_pairs(history, pairs, now.date(), horizon, holdout_days)
    demand = np.where(has_given[:, None], given, learned)
    inbound = inbound_matrix(pairs, inputs.lines, destinations, etas, now, horizon)
    # Units leaving a warehouse are placed as inbound is, keyed by the shipment's origin.
    outflow = inbound_matrix(pairs, inputs.lines, origins or {}, departures or {}, now, horizon)
    projection = project(
        table["on_hand"].to_numpy(float),
        demand,
        inbound,
        table["unit_margin"].to_numpy(float),
        now,
        outflow=outflow if outflow.any() else None,
    )
    has_history = np.zeros(len(pairs), dtype=bool)
    if not history.empty:
        seen = pairs.get_indexer(pd.MultiIndex.from_frame(history[["warehouse", "sku"]]))
        has_history[seen[seen >= 0]] = True
    out_day = projection.stockout_day
    first_day = pd.Timestamp(now.date())
    result = table.assign(
        demand_per_day=demand.mean(axis=1),
        inbound_units=inbound.sum(axis=1),
        outbound_units=outflow.sum(axis=1),
        cover_days=projection.cover_days,
        stockout_day=np.where(out_day == NO_STOCKOUT, np.nan, out_day),
        stockout_date=[
            (first_day + pd.Timedelta(days=int(d))).date() if d != NO_STOCKOUT else None
            for d in out_day
        ],
        days_short=projection.days_short,
        units_lost=projection.units_lost,
        margin_lost=projection.margin_lost,
        end_stock=projection.stock[:, -1],
        below_safety=projection.cover_days < table["safety_days"].fillna(0).to_numpy(),
        forecast=np.where(has_given, "given", np.where(has_history, "history", "none")),
    )
    return StockPosition(table=result, projection=projection, accuracy=accuracy)
