"""The demo's stock: a gentle, seeded position for `twin demo` (docs/stock.md, "The demo").

`twin stock generate` draws 10-75 days of cover against 20-38-day lead times, so a daemon
started on it opens stock alerts at its first passes, and its year of history costs seconds
of Holt-Winters fits. The demo needs the opposite: no warehouse short while the plan holds,
and shortage only where a disruption's delay breaks cover. So each warehouse x SKU's stock
on hand is sized against its lead time and its inbound freight:

- a pair with no inbound holds enough for the run (RUN_DAYS), its lead time and BUFFER_DAYS;
- a pair fed by the book sells its inbound over the same span and holds enough to reach each
  inbound shipment's planned arrival plus SLACK_DAYS (with the units of the shipments before
  it): its inbound is needed, and a delay beyond the slack within the lead time costs sales.

Freight on time (or up to SLACK_DAYS late) then loses no sale within any lead time; freight
delayed more than SLACK_DAYS into a pair whose due day falls inside the lead time does. The
demand is given as a forecast (flat per pair), so the daemon fits no model.

Pure: a network, shipments and a seed in; tables out.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from twin.domain.records import Network, NodeKind, Shipment
from twin.domain.stock import STOCK_COLUMNS
from twin.stock.monitor import replenishment_lead_times

SLACK_DAYS = 8.5  # how late inbound freight may land before its pair runs short
BUFFER_DAYS = 10.0  # cover beyond the lead time with every inbound shipment in
SKUS_PER_WAREHOUSE = 6
RUN_DAYS = 90.0  # the red-sea-2024 scenario's three months: no pair runs dry before


@dataclass(frozen=True)
class DemoPosition:
    """The demo's stock inputs (stock.csv, forecast.csv, shipment_lines.csv) and the
    shipments with their cbm restated as their lines' total."""

    stock: pd.DataFrame
    forecast: pd.DataFrame
    lines: pd.DataFrame
    shipments: list[Shipment]


def demo_stock(
    network: Network,
    shipments: Sequence[Shipment],
    *,
    start: datetime,
    days: int,
    seed: int = 0,
    skus_per_warehouse: int = SKUS_PER_WAREHOUSE,
    lead_time_days: float | None = None,
    slack_days: float = SLACK_DAYS,
    arrivals: Mapping[str, datetime] | None = None,
    run_days: float = RUN_DAYS,
) -> DemoPosition:
    """Stock, a flat forecast over `days` from `start`'s day, and one SKU line per shipment
    bound for a warehouse (a SKU the warehouse stocks, its units the shipment's cbm).
    `arrivals`: when each shipment is planned to land (the plan of record's ETAs); a shipment
    without one is sized against its due date. `lead_time_days`: the one lead time the
    `[stock]` table sets, else each warehouse's from the network."""
    rng = np.random.default_rng(seed)
    lead = replenishment_lead_times(network)
    if lead_time_days is not None:  # as the `[stock]` table sets it for every warehouse
        lead = dict.fromkeys(lead, lead_time_days)
    warehouses = sorted(n.id for n in network.nodes if n.kind is NodeKind.warehouse)
    skus: dict[str, list[str]] = {}
    rows: dict[tuple[str, str], dict[str, float]] = {}
    for w_index, warehouse in enumerate(warehouses):
        skus[warehouse] = []
        for k in range(skus_per_warehouse):
            sku = f"SKU{w_index * skus_per_warehouse + k + 1:04d}"
            skus[warehouse].append(sku)
            value = float(np.round(rng.uniform(8, 60), 2))
            rows[(warehouse, sku)] = {
                "unit_value": value,
                "unit_margin": float(np.round(value * rng.uniform(0.25, 0.45), 2)),
                "cbm_per_unit": float(np.round(rng.uniform(0.004, 0.02), 4)),
                "demand": float(np.round(rng.lognormal(math.log(20), 0.6), 1)),
            }
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    inbound: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    restated: list[Shipment] = []
    lines = []
    for shipment in shipments:
        if shipment.destination not in skus:
            restated.append(shipment)
            continue
        sku = skus[shipment.destination][int(rng.integers(skus_per_warehouse))]
        size = rows[(shipment.destination, sku)]["cbm_per_unit"]
        units = max(1.0, float(round(shipment.units / size)))
        lines.append((shipment.id, sku, units))
        lands = (arrivals or {}).get(shipment.id, shipment.due_at)
        due_day = (lands - midnight) / timedelta(days=1)
        inbound[(shipment.destination, sku)].append((due_day, units))
        restated.append(shipment.model_copy(update={"units": round(units * size, 6)}))
    stock = []
    for (warehouse, sku), row in rows.items():
        window = lead.get(warehouse, 30.0)
        last_day = run_days + window + BUFFER_DAYS  # the stock must last the run and a lead time
        arriving = sorted(inbound.get((warehouse, sku), []))
        total = sum(units for _, units in arriving)
        if arriving:
            # Sold so the inbound is needed: on hand reaches the first arrival plus the slack,
            # the inbound carries the rest of the run.
            row["demand"] = round(total / max(last_day - arriving[0][0] - slack_days, 1.0), 2)
        daily = row["demand"]
        on_hand = daily * last_day - total
        before = 0.0
        for due_day, units in arriving:  # reach each one's arrival + slack with those before
            on_hand = max(on_hand, daily * (due_day + slack_days) - before)
            before += units
        stock.append(
            (
                warehouse,
                sku,
                float(math.ceil(max(on_hand, 0.0))),
                row["unit_value"],
                row["unit_margin"],
                row["cbm_per_unit"],
                None,
            )
        )
    stock_frame = pd.DataFrame(stock, columns=STOCK_COLUMNS)
    dates = pd.date_range(midnight.date(), periods=days)
    forecast = pd.DataFrame(
        [(w, s, d, rows[(w, s)]["demand"]) for (w, s) in rows for d in dates],
        columns=["warehouse", "sku", "date", "units"],
    )
    return DemoPosition(
        stock=stock_frame,
        forecast=forecast,
        lines=pd.DataFrame(lines, columns=["shipment", "sku", "units"]),
        shipments=restated,
    )


# The demo's `[stock]` table: sea replenishment from China takes about six weeks, so freight at
# sea counts within the lead time, and a warehouse warns at 400 of margin at risk.
DEMO_LEAD_TIME_DAYS = 45.0
DEMO_HORIZON_DAYS = 60
DEMO_MARGIN_AT_HALF = 400.0
DEMO_FORECAST_DAYS = 180  # the scenario's three months and a horizon beyond
STOCK_TOML = (
    f'\n[stock]\npath = "stock"\nlead_time_days = {DEMO_LEAD_TIME_DAYS:g}\n'
    f"horizon_days = {DEMO_HORIZON_DAYS}\nmargin_at_half = {DEMO_MARGIN_AT_HALF:g}\n"
)


def stock_report(
    demo: DemoPosition, *, days_elapsed: int, delivered: Sequence[str]
) -> pd.DataFrame:
    """stock.csv as the warehouses would report it `days_elapsed` whole days on: the stock
    on hand then, plus the lines of the shipments delivered, less the forecast sold since
    (never below zero). The demo rewrites the file with it, so the daemon's projections start
    from the shelf as it is, not as it was when the demo began."""
    received = demo.lines[demo.lines["shipment"].isin(set(delivered))]
    destination = {s.id: s.destination for s in demo.shipments}
    added = (
        received.assign(warehouse=received["shipment"].map(destination))
        .groupby(["warehouse", "sku"])["units"]
        .sum()
    )
    daily = demo.forecast.groupby(["warehouse", "sku"])["units"].first()
    keys = pd.MultiIndex.from_frame(demo.stock[["warehouse", "sku"]])
    on_hand = (
        demo.stock["on_hand"].to_numpy(float)
        + added.reindex(keys, fill_value=0.0).to_numpy(float)
        - daily.reindex(keys, fill_value=0.0).to_numpy(float) * max(days_elapsed, 0)
    )
    return demo.stock.assign(on_hand=np.floor(np.maximum(on_hand, 0.0)))
