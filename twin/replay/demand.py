"""Replays with demand: the world sells day by day, and what is not on the shelf is lost.

A scenario with stock data (`stock: {generate: {...}}`, docs/replay.md "Replays with demand")
gives each warehouse x SKU pair its stock on hand at the scenario's start, the demand that
really comes each day (and the forecast the seller plans on) and the SKU lines of the
scenario's shipments. A run's outcomes (when each shipment part really arrived) become the
pairs' inbound; the lost-sales projection (twin.stock.projection) then sells the real demand
day by day. Every comparator is scored on the same demand, so the differences come from when
the freight arrived.

`StockPricer` is the stock-aware engine's view: at each booking it projects the seller's
stock (on hand now, freight in transit at its tracked ETA, the forecast) and prices each new
shipment's late day by the margin its lines would lose (twin.stock.pricing).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from twin.domain.arrays import FloatArray
from twin.domain.records import Network, NodeKind, Shipment
from twin.domain.stock import STOCK_COLUMNS, StockInputs
from twin.files.stock import load_stock
from twin.replay.world import Outcome, World
from twin.stock.generate import DISPERSION, season_profile
from twin.stock.pricing import (
    FLOOR_PER_CBM_DAY,
    HOLDING_RATE_PER_YEAR,
    SPLIT_AT,
    LineRequest,
    PricedLine,
    StockPrice,
    price_lateness,
    urgent_lines,
)
from twin.stock.projection import Projection, project

DAY = timedelta(days=1)
# The stock-aware engine books a shipment's urgent SKU lines apart under this id suffix.
URGENT_SUFFIX = "~urgent"
# Sales run this long past the last due day (the planner's late window), so late freight counts.
SETTLE_DAYS = 14


@dataclass(frozen=True)
class ScenarioStock:
    """A scenario's stock and demand, pairs in row order.

    `stock`: STOCK_COLUMNS, one row per warehouse x SKU; `lines`: shipment, warehouse (where
    it lands), sku, units;
    `expected` (the seller's forecast) and `actual` (the demand that comes): P x H units a day
    from `first_day` (the scenario start's midnight, UTC).
    """

    first_day: datetime
    stock: pd.DataFrame
    lines: pd.DataFrame
    expected: FloatArray
    actual: FloatArray
    holding_rate_per_year: float = HOLDING_RATE_PER_YEAR
    # shipment -> [(pair row, units)], filled from `lines`.
    line_rows: dict[str, list[tuple[int, float]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        pairs = pd.MultiIndex.from_frame(self.stock[["warehouse", "sku"]])
        rows = pairs.get_indexer(pd.MultiIndex.from_frame(self.lines[["warehouse", "sku"]]))
        if (rows < 0).any():
            raise ValueError("a line lands in a warehouse x SKU with no stock row")
        for shipment, row, units in zip(self.lines["shipment"], rows, self.lines["units"]):
            self.line_rows.setdefault(str(shipment), []).append((int(row), float(units)))

    @property
    def horizon(self) -> int:
        return int(self.actual.shape[1])

    def day_of(self, when: datetime) -> int:
        """Whole days from the first day (negative before it)."""
        return int((when - self.first_day) // DAY)


def generate_scenario_stock(
    network: Network,
    shipments: Sequence[Shipment],
    *,
    start: datetime,
    skus: int = 150,
    seed: int = 0,
    slack_days: tuple[float, float] = (0.0, 21.0),
    settle_days: int = SETTLE_DAYS,
) -> ScenarioStock:
    """Seeded stock and demand for a scenario's shipments (docs/replay.md).

    A catalogue of `skus` SKUs (popularity log-normal, size, value and margin as
    twin.stock.generate draws them); each destination warehouse stocks 6-15 of them, drawn by
    popularity; each shipment into it carries 1-3 of its SKUs, its cbm split between them.
    Sales run from the start's day to `settle_days` after the last due day. A pair's demand
    rate is what its inbound lines can sustain from their first due day on (90-100% of it); on
    hand at the start is the least stock with which freight arriving on its due days never
    runs short of the forecast, plus `slack_days` (drawn uniformly) of sales: pairs with little
    slack run out when their freight is late, pairs with much do not. Daily demand is negative-binomial round the
    weekly and annual season (twin.stock.generate.season_profile).
    """
    if skus < 1:
        raise ValueError("skus must be at least 1")
    rng = np.random.default_rng(seed)
    width = max(3, len(str(skus)))
    names = np.array([f"SKU{i + 1:0{width}d}" for i in range(skus)])
    popularity = rng.lognormal(np.log(3.0), 1.0, skus)
    cbm = np.round(rng.lognormal(np.log(0.012), 0.7, skus).clip(0.001, 0.25), 4)
    value = np.round(rng.lognormal(np.log(25.0), 0.8, skus).clip(2, 900), 2)
    margin = np.round(value * rng.uniform(0.15, 0.45, skus), 2)
    warehouses = sorted(
        {
            s.destination
            for s in shipments
            if network.node_by_id[s.destination].kind is NodeKind.warehouse
        }
    )
    weights = popularity / popularity.sum()
    assortment = {
        w: np.sort(
            rng.choice(skus, size=min(skus, int(rng.integers(6, 16))), replace=False, p=weights)
        )
        for w in warehouses
    }
    first = pd.Timestamp(start).tz_convert("UTC").normalize().to_pydatetime()
    rows: list[tuple[str, str, str, float, int]] = []
    for shipment in sorted(shipments, key=lambda s: s.id):
        held = assortment.get(shipment.destination)
        if held is None:
            continue
        count = min(len(held), int(rng.integers(1, 4)))
        p = popularity[held] / popularity[held].sum()
        picked = rng.choice(held, size=count, replace=False, p=p)
        split = rng.dirichlet(np.ones(count)) * shipment.units
        due = int((shipment.due_at - first) // DAY)
        for sku, share in zip(picked, split):
            units = max(1.0, float(np.round(share / cbm[sku])))
            rows.append((shipment.id, shipment.destination, str(names[sku]), units, due))
    lines = pd.DataFrame(rows, columns=["shipment", "warehouse", "sku", "units", "due"])
    horizon = int(lines["due"].max()) + settle_days + 1 if not lines.empty else settle_days + 1
    per_pair = lines.groupby(["warehouse", "sku"], sort=True).agg(
        inbound=("units", "sum"), first_due=("due", "min")
    )
    pair_count = len(per_pair)
    first_due = per_pair["first_due"].to_numpy(float).clip(0, horizon - 1)
    sku_index = {str(n): i for i, n in enumerate(names)}
    sku_of = np.array([sku_index[s] for s in per_pair.index.get_level_values("sku")])
    rate = (
        per_pair["inbound"].to_numpy(float)
        / np.maximum(horizon - first_due, 1.0)
        * rng.uniform(0.9, 1.0, pair_count)
    )
    days = pd.date_range(first.replace(tzinfo=None), periods=horizon, freq="D")
    profile = season_profile(days)
    expected = rate[:, None] * (profile / profile.mean())[None, :]
    # The least stock on hand that on-time freight and the forecast never run out of
    # (S_0 >= max_t (demand to t - inbound to t)), plus the pair's slack in days of sales.
    pair_index = pd.MultiIndex.from_frame(per_pair.index.to_frame(index=False))
    due_inbound = np.zeros((pair_count, horizon))
    line_rows = pair_index.get_indexer(pd.MultiIndex.from_frame(lines[["warehouse", "sku"]]))
    np.add.at(
        due_inbound, (line_rows, lines["due"].clip(0, horizon - 1).to_numpy()), lines["units"]
    )
    need = np.maximum(np.cumsum(expected - due_inbound, axis=1).max(axis=1), 0.0)
    on_hand = np.floor(need + rate * np.maximum(rng.uniform(*slack_days, pair_count), 0.0))
    actual = rng.negative_binomial(DISPERSION, DISPERSION / (DISPERSION + expected)).astype(float)
    stock = pd.DataFrame(
        {
            "warehouse": per_pair.index.get_level_values("warehouse"),
            "sku": per_pair.index.get_level_values("sku"),
            "on_hand": on_hand,
            "unit_value": value[sku_of],
            "unit_margin": margin[sku_of],
            "cbm_per_unit": cbm[sku_of],
            "safety_days": np.nan,
        },
        columns=STOCK_COLUMNS,
    )
    return ScenarioStock(
        first_day=first,
        stock=stock,
        lines=lines[["shipment", "warehouse", "sku", "units"]],
        expected=expected,
        actual=actual,
    )


# A part of a shipment booked apart (the stock-aware engine's split): its planned id ->
# (its cbm, its lines as (pair row, units)).
PartLines = Mapping[str, tuple[float, list[tuple[int, float]]]]
# Freight in a run: (shipment, planned part, cbm, delivered at).
Delivery = tuple[str, str, float, datetime | None]


def arrivals(
    stock: ScenarioStock,
    parts: Iterable[Delivery],
    shipments: Mapping[str, Shipment],
    part_lines: PartLines | None = None,
) -> FloatArray:
    """Units landing per pair and day from shipment parts: a part booked apart carries its own
    lines (`part_lines`), any other its share of the shipment's lines. Parts never delivered,
    or after the horizon, add nothing; parts delivered before the first day land on day 0."""
    out = np.zeros((len(stock.stock), stock.horizon))
    booked_apart = part_lines or {}
    for shipment_id, part, units, delivered in parts:
        if part in booked_apart:
            whole, lines = booked_apart[part]
        else:
            whole, lines = shipments[shipment_id].units, stock.line_rows.get(shipment_id, [])
        if not lines or delivered is None or units <= 0:
            continue
        day = max(stock.day_of(delivered), 0)
        if day >= stock.horizon:
            continue
        share = units / whole
        for row, line_units in lines:
            out[row, day] += line_units * share
    return out


def sell(
    stock: ScenarioStock,
    outcomes: Iterable[Outcome],
    shipments: Mapping[str, Shipment],
    part_lines: PartLines | None = None,
) -> Projection:
    """The real demand sold day by day from the stock on hand and the run's deliveries."""
    inbound = arrivals(
        stock,
        ((o.shipment, o.part, o.units, o.delivered_at) for o in outcomes),
        shipments,
        part_lines,
    )
    return project(
        stock.stock["on_hand"].to_numpy(float),
        stock.actual,
        inbound,
        stock.stock["unit_margin"].to_numpy(float),
        stock.first_day,
    )


def stock_kpis(
    stock: ScenarioStock,
    outcomes: Sequence[Outcome],
    shipments: Mapping[str, Shipment],
    part_lines: PartLines | None = None,
) -> dict[str, Any]:
    """Fill rate, lost units and margin, stock-out days, average cover and holding cost of a
    run's deliveries; `stock_total_cost` is transport + unserved + lost margin + holding (what
    the run cost the seller, lateness counted as the sales it lost)."""
    sold = sell(stock, outcomes, shipments, part_lines)
    value = stock.stock["unit_value"].to_numpy(float)
    demand = float(sold.demand.sum())
    lost = float(sold.units_lost.sum())
    holding = float((sold.stock.sum(axis=1) * value).sum() * stock.holding_rate_per_year / 365.0)
    margin = float(sold.margin_lost.sum())
    transport = sum(o.transport_cost for o in outcomes)
    unserved = sum(o.unserved_cost for o in outcomes)
    mean_demand = demand / max(sold.horizon, 1)
    mean_stock = float(sold.stock.sum()) / max(sold.horizon, 1)
    return {
        "pairs": len(stock.stock),
        "days": sold.horizon,
        "demand_units": round(demand, 2),
        "sold_units": round(demand - lost, 2),
        "fill_rate": round((demand - lost) / demand, 4) if demand > 0 else None,
        "lost_units": round(lost, 2),
        "lost_margin": round(margin, 2),
        "stockout_days": int(sold.days_short.sum()),
        "pairs_out": int((sold.days_short > 0).sum()),
        "avg_cover_days": round(mean_stock / mean_demand, 2) if mean_demand > 0 else None,
        "holding_cost": round(holding, 2),
        "stock_total_cost": round(transport + unserved + margin + holding, 2),
    }


class StockPricer:
    """The stock-aware engine's pricing of new bookings (twin.stock.pricing).

    At a booking at `now` the seller knows its stock on hand (its warehouses' own count: the
    real demand sold until today against the freight delivered so far), the freight in
    transit at the ETA track and trace gives (`World.as_known`), and its forecast. Each new
    shipment with lines gets `late_penalty_per_unit_day` = the margin a late day of its lines
    would lose there, less the holding it saves (floor: twin.stock.pricing.FLOOR_PER_CBM_DAY).

    Triage by split: a shipment that may be split, some of whose lines would lose sales when
    late (at least `split_at` per cbm-day) and some not, is booked as two: the urgent lines
    (id + URGENT_SUFFIX, priced by their own margin) and the rest (priced by theirs), so the
    planner can send the part the shelf needs by a faster mode and the rest the cheap way.
    `parent` maps a booked id back to the shipment; `part_lines` says what each part carries;
    `prices` keeps every price set and `splits` the shipments split, for the report.

    `redirect` (off by default; needs `network`): each shipment goes to the warehouse of its
    country where its lines, arriving on the due day, save the most margin net of the cheapest
    route's extra cost. Greedy, one booking at a time against today's projection: measured on
    typhoon-prd it moved 166 shipments, saved 53,000 of transport and lost 50,000 more margin
    (the warehouses it took freight from ran short later), so it is not used.
    """

    def __init__(
        self,
        stock: ScenarioStock,
        buffer_days: float = 0.0,
        split_at: float | None = SPLIT_AT,
        *,
        redirect: bool = False,
        network: Network | None = None,
    ):
        self.stock = stock
        self.buffer_days = buffer_days
        self.split_at = split_at
        self.redirect = redirect
        self.prices: dict[str, float] = {}
        self.part_lines: dict[str, tuple[float, list[tuple[int, float]]]] = {}
        self.destinations: dict[str, str] = {}  # shipments redirected: id -> warehouse
        self.splits = 0
        self.redirects = 0
        self._cbm = stock.stock["cbm_per_unit"].to_numpy(float)
        self._sku = stock.stock["sku"].to_numpy()
        self._pair = {
            (str(w), str(k)): i for i, (w, k) in enumerate(zip(stock.stock["warehouse"], self._sku))
        }
        self._costs: dict[str, dict[str, float]] = {}
        self._market: dict[str | None, list[str]] = {}
        if network is not None:
            for warehouse in sorted(set(stock.stock["warehouse"])):
                node = network.node_by_id.get(str(warehouse))
                if node is not None:
                    self._market.setdefault(node.country, []).append(str(warehouse))

    @staticmethod
    def parent(booked: str) -> str:
        return booked.removesuffix(URGENT_SUFFIX)

    def __call__(self, batch: Sequence[Shipment], now: datetime, world: World) -> list[Shipment]:
        stock = self.stock
        today = stock.day_of(now)
        if today >= stock.horizon or not any(s.id in stock.line_rows for s in batch):
            return list(batch)
        today = max(today, 0)
        delivered: list[Delivery] = []
        coming: list[Delivery] = []
        for sid, parts in world.journeys.items():
            if sid not in stock.line_rows:
                continue
            known = None
            for index, part in enumerate(parts):
                booked = part.route.shipment
                if part.delivered_at is not None and stock.day_of(part.delivered_at) < today:
                    delivered.append((sid, booked, part.route.units, part.delivered_at))
                    continue
                if part.delivered_at is not None:
                    coming.append((sid, booked, part.route.units, part.delivered_at))
                    continue
                known = known or world.as_known(sid, now)
                coming.append((sid, booked, part.route.units, max(known[index].eta, now)))
        shipments = world.shipments
        on_hand = stock.stock["on_hand"].to_numpy(float)
        if today > 0:
            past = project(
                on_hand,
                stock.actual[:, :today],
                arrivals(stock, delivered, shipments, self.part_lines)[:, :today],
                stock.stock["unit_margin"].to_numpy(float),
                stock.first_day,
            )
            on_hand = past.stock[:, -1]
        inbound = arrivals(stock, coming, shipments, self.part_lines)[:, today:]
        if self.buffer_days > 0:
            # Demand and transit times vary: stock within a buffer of the forecast is not
            # counted on.
            reserve = self.buffer_days * stock.expected[:, today:].mean(axis=1)
            on_hand = np.maximum(on_hand - reserve, 0.0)
        demand = stock.expected[:, today:]
        priced: list[tuple[Shipment, list[tuple[int, float]]]] = []
        for shipment in batch:
            if shipment.id not in stock.line_rows:
                continue
            lines = stock.line_rows[shipment.id]
            if self.redirect:
                shipment, lines = self._redirected(
                    shipment, lines, world, on_hand, demand, inbound, today
                )
            priced.append((shipment, lines))
        requests = [
            LineRequest(
                s.id,
                s.units,
                stock.day_of(s.due_at) - today,
                tuple(PricedLine(row, units) for row, units in lines),
            )
            for s, lines in priced
        ]
        prices = price_lateness(
            requests,
            on_hand=on_hand,
            demand=stock.expected[:, today:],
            inbound=inbound,
            unit_margin=stock.stock["unit_margin"].to_numpy(float),
            unit_value=stock.stock["unit_value"].to_numpy(float),
            holding_rate_per_year=stock.holding_rate_per_year,
        )
        out: list[Shipment] = [s for s in batch if s.id not in stock.line_rows]
        for (shipment, lines), price in zip(priced, prices):
            out += self._booked(shipment, lines, price)
        return out

    def _redirected(
        self,
        shipment: Shipment,
        lines: list[tuple[int, float]],
        world: World,
        on_hand: FloatArray,
        demand: FloatArray,
        inbound: FloatArray,
        today: int,
    ) -> tuple[Shipment, list[tuple[int, float]]]:
        """The shipment sent to the warehouse of its market (same country) where its lines,
        arriving on the due day, save the most margin net of the cheapest route's extra cost
        (its own destination when none beats it)."""
        network = world.network
        country = network.node_by_id[shipment.destination].country
        skus = [str(self._sku[row]) for row, _ in lines]
        day = min(max(self.stock.day_of(shipment.due_at) - today, 0), demand.shape[1] - 1)
        margin = self.stock.stock["unit_margin"].to_numpy(float)

        def saved(rows: list[int]) -> float:
            # Margin the lines save at these pairs by arriving on their due day.
            arriving = inbound[rows].copy()
            arriving[np.arange(len(rows)), day] += [units for _, units in lines]
            both = project(
                np.tile(on_hand[rows], 2),
                np.tile(demand[rows], (2, 1)),
                np.vstack([inbound[rows], arriving]),
                np.tile(margin[rows], 2),
                self.stock.first_day,
            )
            return float(both.margin_lost[: len(rows)].sum() - both.margin_lost[len(rows) :].sum())

        costs = self._route_costs(network, shipment.origin)
        here = [row for row, _ in lines]
        best: tuple[float, tuple[str, list[int]] | None] = (
            saved(here) - costs.get(shipment.destination, np.inf) * shipment.units,
            None,
        )
        for warehouse in self._market.get(country, ()):
            if warehouse == shipment.destination or warehouse not in costs:
                continue
            rows = [self._pair.get((warehouse, sku), -1) for sku in skus]
            if min(rows) < 0:
                continue
            value = saved(rows) - costs[warehouse] * shipment.units
            if value > best[0] + 1e-6:
                best = (value, (warehouse, rows))
        if best[1] is None:
            return shipment, lines
        warehouse, rows = best[1]
        self.redirects += 1
        moved = [(row, units) for row, (_, units) in zip(rows, lines)]
        self.part_lines[shipment.id] = (shipment.units, moved)
        self.destinations[shipment.id] = warehouse
        return shipment.model_copy(update={"destination": warehouse}), moved

    def _route_costs(self, network: Network, origin: str) -> dict[str, float]:
        """Least transport cost per unit from `origin` to every node (networkx Dijkstra)."""
        if origin not in self._costs:
            graph = nx.DiGraph()
            for lane in network.lanes:
                cost = graph.get_edge_data(lane.from_, lane.to, {}).get("cost", np.inf)
                graph.add_edge(lane.from_, lane.to, cost=min(cost, lane.cost_per_unit))
            self._costs[origin] = dict(
                nx.single_source_dijkstra_path_length(graph, origin, weight="cost")
            )
        return self._costs[origin]

    def _booked(
        self, shipment: Shipment, lines: list[tuple[int, float]], price: StockPrice
    ) -> list[Shipment]:
        """The shipment as booked: re-priced, or split into its urgent lines and the rest."""
        cbm = np.array([units * self._cbm[row] for row, units in lines])
        # Each line's cbm in the shipment's own units (lines count whole units).
        cbm *= shipment.units / max(cbm.sum(), 1e-9)
        per_cbm_day = np.array(price.line_net_per_day) / np.maximum(cbm, 1e-9)
        urgent = urgent_lines(price.line_net_per_day, cbm, self.split_at)
        if not shipment.split or urgent.all() or not urgent.any():
            self.prices[shipment.id] = price.per_cbm_day
            return [shipment.model_copy(update={"late_penalty_per_unit_day": price.per_cbm_day})]
        self.splits += 1
        booked = []
        for chosen, booked_id in ((urgent, shipment.id + URGENT_SUFFIX), (~urgent, shipment.id)):
            units = float(cbm[chosen].sum())
            rate = float(np.dot(per_cbm_day[chosen], cbm[chosen]) / max(units, 1e-9))
            rate = max(FLOOR_PER_CBM_DAY, rate)
            self.prices[booked_id] = rate
            self.part_lines[booked_id] = (
                units,
                [line for line, keep in zip(lines, chosen) if keep],
            )
            booked.append(
                shipment.model_copy(
                    update={"id": booked_id, "units": units, "late_penalty_per_unit_day": rate}
                )
            )
        return booked


def stock_from_inputs(
    inputs: StockInputs,
    shipments: Sequence[Shipment],
    *,
    start: datetime,
    settle_days: int = SETTLE_DAYS,
) -> ScenarioStock:
    """A scenario's stock from stock inputs (docs/stock.md): on hand at the start, the demand
    that comes (`demand.csv` rows from the start's day on), the forecast the seller plans on
    (`forecast.csv`; a pair without one plans on the demand that comes, a perfect forecast)
    and the lines of the scenario's shipments (lines of other shipments are left out). Sales
    run to the later of the last demand row and `settle_days` after the last due day."""
    first = pd.Timestamp(start).tz_convert("UTC").normalize().to_pydatetime()
    by_id = {s.id: s for s in shipments}
    lines = inputs.lines[inputs.lines["shipment"].isin(set(by_id))]
    lines = lines.assign(warehouse=lines["shipment"].map(lambda sid: by_id[sid].destination))
    stock = inputs.stock.reset_index(drop=True)
    held = pd.MultiIndex.from_frame(stock[["warehouse", "sku"]])
    arriving = lines[["warehouse", "sku"]].drop_duplicates()
    new = arriving[~pd.MultiIndex.from_frame(arriving).isin(held)]
    if not new.empty:
        per_sku = stock.drop_duplicates("sku").set_index("sku")
        stock = pd.concat(
            [
                stock,
                new.assign(
                    on_hand=0.0,
                    unit_value=new["sku"].map(per_sku["unit_value"]).to_numpy(),
                    unit_margin=new["sku"].map(per_sku["unit_margin"]).to_numpy(),
                    cbm_per_unit=new["sku"].map(per_sku["cbm_per_unit"]).to_numpy(),
                    safety_days=np.nan,
                )[STOCK_COLUMNS],
            ],
            ignore_index=True,
        )
    first_date = pd.Timestamp(first.date())
    last_due = max((int((s.due_at - first) // DAY) for s in shipments), default=0)
    history = inputs.history[inputs.history["date"] >= first_date]
    last_demand = int(
        ((history["date"].max() - first_date) // pd.Timedelta(days=1)) if len(history) else 0
    )
    horizon = max(last_due + settle_days, last_demand) + 1
    pairs = pd.MultiIndex.from_frame(stock[["warehouse", "sku"]])

    def matrix(rows: pd.DataFrame) -> tuple[FloatArray, np.ndarray]:
        out = np.zeros((len(pairs), horizon))
        has = np.zeros(len(pairs), dtype=bool)
        if rows.empty:
            return out, has
        index = pairs.get_indexer(pd.MultiIndex.from_frame(rows[["warehouse", "sku"]]))
        day = ((rows["date"] - first_date) // pd.Timedelta(days=1)).to_numpy()
        keep = (index >= 0) & (day >= 0) & (day < horizon)
        np.add.at(out, (index[keep], day[keep]), rows["units"].to_numpy(float)[keep])
        has[index[index >= 0]] = True
        return out, has

    actual, _ = matrix(history)
    given, has_forecast = matrix(inputs.forecast)
    expected = np.where(has_forecast[:, None], given, actual)
    return ScenarioStock(
        first_day=first,
        stock=stock,
        lines=lines[["shipment", "warehouse", "sku", "units"]].reset_index(drop=True),
        expected=expected,
        actual=actual,
    )


def scenario_stock(
    network: Network,
    spec: Any,
    shipments: Sequence[Shipment],
    *,
    start: datetime,
    seed: int,
    path: Path | None = None,
) -> ScenarioStock | None:
    """The stock data a scenario's `stock` entry describes (None: the scenario has none);
    `path`: where its stock inputs were found (LoadedScenario.stock_path)."""
    if spec is None:
        return None
    if spec.path is not None:
        if path is None:
            raise ValueError("the scenario's stock inputs were not found (load_scenario)")
        inputs, _ = load_stock(path, network, shipments)
        return stock_from_inputs(inputs, shipments, start=start)
    generate = spec.generate
    return generate_scenario_stock(
        network,
        shipments,
        start=start,
        skus=generate.skus,
        seed=seed if generate.seed is None else generate.seed,
        slack_days=generate.slack_days,
    )
