"""A seeded demo of stock and demand over a network's warehouses (docs/stock.md).

Each SKU has a popularity drawn log-normally (a long tail: a few SKUs sell most units), a
size, a value and a margin. A SKU is stocked at a warehouse with a chance that grows with its
popularity and the warehouse's tier, so best sellers are everywhere and the tail in a few
places. Expected daily demand is popularity x warehouse share x weekly profile x annual
profile (a Q4 peak from the November sales to Christmas) x a two-day summer sales event in
mid-July; daily units are negative-binomial around it (over-dispersed, like real sales).
Stock on hand is a few weeks of recent demand, so some pairs run out inside a 120-day horizon.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from twin.domain.records import Network, NodeKind, Shipment, Tier
from twin.domain.stock import STOCK_COLUMNS

# Monday .. Sunday: online orders peak early in the week and dip on Saturday.
WEEKLY = np.array([1.12, 1.08, 1.02, 1.00, 0.96, 0.86, 0.96])
Q4_PEAK_DAY = 335  # day of year at the centre of the peak (early December)
Q4_PEAK_WIDTH = 22.0  # days (standard deviation of the bump)
Q4_PEAK_LIFT = 1.1  # the peak's centre sells 2.1x a quiet day
SUMMER_EVENT = (7, 15)  # month, day the summer sales event starts; it lasts two days
SUMMER_EVENT_DAYS = 2
SUMMER_EVENT_LIFT = 2.5
DISPERSION = 3.0  # negative-binomial size: variance = mean + mean^2 / DISPERSION
STOCK_SHARE = {Tier.distribution: 0.35, Tier.fulfillment: 0.15, Tier.delivery: 0.1}


@dataclass(frozen=True)
class DemoStock:
    stock: pd.DataFrame  # STOCK_COLUMNS
    history: pd.DataFrame  # warehouse, sku, date, units


def season_profile(days: pd.DatetimeIndex) -> np.ndarray:
    """The demand multiplier of each day: weekly x annual x summer event."""
    weekly = WEEKLY[days.day_of_week.to_numpy()]
    distance = np.abs(days.day_of_year.to_numpy() - Q4_PEAK_DAY)
    annual = 1.0 + Q4_PEAK_LIFT * np.exp(-0.5 * (distance / Q4_PEAK_WIDTH) ** 2)
    month, day = SUMMER_EVENT
    event = np.ones(len(days))
    for year in np.unique(days.year):
        first = pd.Timestamp(year=int(year), month=month, day=day)
        inside = (days >= first) & (days < first + pd.Timedelta(days=SUMMER_EVENT_DAYS))
        event[inside] = SUMMER_EVENT_LIFT
    return np.asarray(weekly * annual * event, dtype=np.float64)


def generate_stock(
    network: Network, *, skus: int = 500, days: int = 365, end: date, seed: int = 0
) -> DemoStock:
    """Stock on `end` and `days` of daily sales up to the day before, for `skus` SKUs."""
    if skus < 1 or days < 1:
        raise ValueError("skus and days must be at least 1")
    warehouses = [n for n in network.nodes if n.kind is NodeKind.warehouse]
    if not warehouses:
        raise ValueError(f"network '{network.name}' has no warehouse nodes")
    rng = np.random.default_rng(seed)
    width = max(3, len(str(skus)))
    names = np.array([f"SKU{i + 1:0{width}d}" for i in range(skus)])
    # Units a day across the whole network: median 3, a long right tail.
    popularity = rng.lognormal(np.log(3.0), 1.3, skus)
    cbm = np.round(rng.lognormal(np.log(0.012), 0.7, skus).clip(0.001, 0.25), 4)
    value = np.round(rng.lognormal(np.log(25.0), 0.8, skus).clip(2, 900), 2)
    margin = np.round(value * rng.uniform(0.15, 0.45, skus), 2)
    rank = np.argsort(np.argsort(-popularity)) / skus  # 0 for the best seller
    capacity = np.array([n.capacity or 1000.0 for n in warehouses])
    weight = capacity / capacity.sum()
    base = np.array([STOCK_SHARE.get(n.tier, 0.15) if n.tier else 0.15 for n in warehouses])
    chance = np.clip(base[None, :] * (2.5 - 2.0 * rank[:, None]), 0.02, 0.95)
    stocked = rng.random((skus, len(warehouses))) < chance
    # Every SKU is stocked somewhere: in the warehouse where its draw came closest.
    nowhere = ~stocked.any(axis=1)
    stocked[nowhere, rng.integers(len(warehouses), size=int(nowhere.sum()))] = True
    sku_i, wh_i = np.nonzero(stocked)
    share = weight[wh_i] / (stocked * weight[None, :]).sum(axis=1)[sku_i]
    rate = popularity[sku_i] * share  # mean units a day on a plain day

    dates = pd.date_range(end - timedelta(days=days), periods=days, freq="D")
    profile = season_profile(dates)
    mean = rate[:, None] * profile[None, :]
    units = rng.negative_binomial(DISPERSION, DISPERSION / (DISPERSION + mean))
    pair_wh = np.array([warehouses[i].id for i in wh_i])
    history = pd.DataFrame(
        {
            "warehouse": np.repeat(pair_wh, days),
            "sku": np.repeat(names[sku_i], days),
            "date": np.tile(dates.to_numpy(), len(sku_i)),
            "units": units.ravel().astype(float),
        }
    )
    history = history[history["units"] > 0].reset_index(drop=True)
    recent = units[:, -28:].mean(axis=1)
    cover = rng.uniform(10, 75, len(sku_i))
    on_hand = np.floor(np.maximum(recent, rate) * cover)
    safety = np.where(rng.random(len(sku_i)) < 0.5, 14.0, np.nan)
    stock = pd.DataFrame(
        {
            "warehouse": pair_wh,
            "sku": names[sku_i],
            "on_hand": on_hand,
            "unit_value": value[sku_i],
            "unit_margin": margin[sku_i],
            "cbm_per_unit": cbm[sku_i],
            "safety_days": safety,
        },
        columns=STOCK_COLUMNS,
    )
    return DemoStock(stock=stock, history=history)


def shipment_lines(
    shipments: list[Shipment], stock: pd.DataFrame, *, seed: int = 0, max_lines: int = 6
) -> tuple[list[Shipment], pd.DataFrame]:
    """SKU lines for shipments into stocked warehouses: a few SKUs of the destination, drawn by
    popularity, filling the shipment's cbm. Each such shipment's cbm is restated as its lines'
    total (rounded to 0.01), so lines and shipment agree; other shipments are left as they are."""
    rng = np.random.default_rng(seed)
    by_warehouse = {w: g for w, g in stock.groupby("warehouse")}
    rows: list[tuple[str, str, float]] = []
    out: list[Shipment] = []
    for shipment in shipments:
        group = by_warehouse.get(shipment.destination)
        if group is None:
            out.append(shipment)
            continue
        weights = group["on_hand"].to_numpy(float) + 1.0
        count = min(len(group), int(rng.integers(1, max_lines + 1)))
        picked = rng.choice(len(group), size=count, replace=False, p=weights / weights.sum())
        split = rng.dirichlet(np.ones(count)) * shipment.units
        total = 0.0
        for index, cbm_share in zip(picked, split):
            sku = str(group["sku"].iat[index])
            size = float(group["cbm_per_unit"].iat[index])
            units = max(1.0, float(np.round(cbm_share / size)))
            rows.append((shipment.id, sku, units))
            total += units * size
        out.append(shipment.model_copy(update={"units": max(round(total, 2), 0.01)}))
    lines = pd.DataFrame(rows, columns=["shipment", "sku", "units"])
    return out, lines
