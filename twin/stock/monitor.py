"""The `stock` dimension: each warehouse's projected shortage within its replenishment lead
time, weighted by margin at risk, with the chain cause -> shipments -> warehouse x SKU -> days
short (docs/stock.md, "Monitoring").

Each assessment projects every warehouse x SKU twice: at the plan of record's ETAs, and at
those ETAs shifted by the expected delays of the risks each shipment's route meets (the
engine's exposures). Sales lost before the warehouse's lead time has passed cannot be saved by
ordering now; their margin is what is at risk, and a warehouse scores
`m / (m + margin_at_half)`. The run without the delays tells which part the risks add: a
closure elsewhere raises a warehouse's score only where the delayed freight breaks its cover.

Pure: no clock, no files. The demand forecast (the slow part) is kept per day and pair set.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

import networkx as nx
import numpy as np
import pandas as pd

from twin.domain.alerts import Exposure
from twin.domain.plans import Routes
from twin.domain.records import Network, NodeKind, Shipment
from twin.domain.settings import StockSettings
from twin.domain.signals import STOCK_DIMENSION
from twin.domain.stock import (
    InboundLot,
    RiskCause,
    SkuAtRisk,
    StockImpact,
    StockInputs,
    StockMove,
    WarehouseStock,
)
from twin.scoring.scorers import SCORE_COLUMNS
from twin.stock.etas import departures
from twin.stock.forecast import FloatArray, forecast_pairs
from twin.stock.moves import Pair, Situation
from twin.stock.position import DAY, StockPosition, _given_forecast, _pairs_with_inbound
from twin.stock.pricing import StockPrice, price_book
from twin.stock.projection import NO_STOCKOUT, SHORT_UNITS, Projection, project

DIMENSION = STOCK_DIMENSION
SURFACE_MODES = ("sea", "rail", "road")
# Used when a warehouse has no route from any origin in the network (and none is configured).
FALLBACK_LEAD_TIME_DAYS = 30.0


def replenishment_lead_times(network: Network) -> dict[str, float]:
    """Days from the nearest origin to each warehouse by the fastest sea, rail or road route:
    lane transit days plus handling at each node reached and clearance where it is a customs
    entry for the origin's country. Replenishment travels by the usual modes; air is what an
    expedite buys. Warehouses no surface route reaches get the fastest route of any mode, or
    FALLBACK_LEAD_TIME_DAYS.

    >>> from twin.files.networks import load_network
    >>> times = replenishment_lead_times(load_network("demo")[0])
    >>> 10 < times["US-ONT8"] < 60
    True
    """
    nodes = network.node_by_id
    warehouses = [n.id for n in network.nodes if n.kind is NodeKind.warehouse]
    origins = [n for n in network.nodes if n.kind is NodeKind.origin]
    out: dict[str, float] = {}
    for modes in (SURFACE_MODES, (*SURFACE_MODES, "air")):
        fastest: dict[tuple[str, str], float] = {}
        for lane in network.lanes:
            if lane.mode.value in modes:
                key = (lane.from_, lane.to)
                fastest[key] = min(fastest.get(key, math.inf), lane.transit_days)
        graph = nx.DiGraph()
        graph.add_edges_from((a, b, {"days": d}) for (a, b), d in fastest.items())
        found: dict[str, float] = {}
        for origin in origins:
            if origin.id not in graph:
                continue

            def days(
                _: str, b: str, edge: dict[str, float], country: str | None = origin.country
            ) -> float:
                node = nodes[b]
                clearance = node.clearance_days if node.is_customs_entry_for(country) else 0.0
                return edge["days"] + node.handling_days + clearance

            reach = nx.single_source_dijkstra_path_length(graph, origin.id, weight=days)
            for warehouse in warehouses:
                if warehouse in reach:
                    found[warehouse] = min(found.get(warehouse, math.inf), float(reach[warehouse]))
        for warehouse, value in found.items():
            out.setdefault(warehouse, value)  # a surface route, where there is one
    return {w: round(out.get(w, FALLBACK_LEAD_TIME_DAYS), 3) for w in warehouses}


def shipment_delays(
    exposures: Iterable[Exposure],
) -> dict[str, tuple[float, tuple[tuple[str, str, float], ...]]]:
    """Expected delay days per shipment and what causes them, (target, dimension, days): per
    target the worst dimension (one event shows in several), added over the targets a route
    meets (a customs hold and a detour add up)."""
    worst: dict[str, dict[str, tuple[str, float]]] = defaultdict(dict)
    for e in exposures:
        if e.expected_delay_days <= 0:
            continue
        seen = worst[e.shipment].get(e.target)
        if seen is None or e.expected_delay_days > seen[1]:
            worst[e.shipment][e.target] = (e.dimension, e.expected_delay_days)
    return {
        sid: (
            sum(days for _, days in by_target.values()),
            tuple(sorted((t, dim, days) for t, (dim, days) in by_target.items())),
        )
        for sid, by_target in worst.items()
    }


@dataclass(frozen=True)
class StockAssessment:
    """One assessment: a score row per warehouse (`scores`, SCORE_COLUMNS plus `stock`, the
    WarehouseStock behind it) and the positions by warehouse."""

    now: datetime
    scores: pd.DataFrame
    warehouses: dict[str, WarehouseStock]


@dataclass(frozen=True)
class _Layout:
    """The pairs (stock rows plus SKUs arriving where none is held) and the SKU lines placed
    on them, as arrays: built once per set of destinations, reused by every pass."""

    table: pd.DataFrame
    pair_index: pd.MultiIndex  # (warehouse, SKU) of each pair
    warehouses: list[str]  # distinct, sorted
    codes: np.ndarray  # P: index into warehouses
    skus: np.ndarray  # P: SKU ids (str)
    on_hand: FloatArray
    margin: FloatArray
    window: np.ndarray  # P: whole days of the pair's warehouse lead time, at most the horizon
    line_rows: np.ndarray  # L: the pair each line feeds (-1: none)
    line_shipments: list[str]
    line_units: FloatArray
    line_skus: np.ndarray  # L: the SKU of each line
    lines_of: dict[int, list[int]]  # pair row -> its lines


@dataclass
class _Run:
    """One pass: the ETAs and delays, and per pair within its lead time the units lost and
    days short at the plan's own ETAs (`*_base`) and under the delays, with the first day
    short under the delays."""

    layout: _Layout
    demand: FloatArray
    cover_days: np.ndarray
    base_inbound: FloatArray
    outflow: FloatArray | None  # units leaving each pair's warehouse per day (transfers out)
    units_base: FloatArray
    days_base: np.ndarray
    units: FloatArray
    days: np.ndarray
    stockout_day: np.ndarray
    etas: dict[str, datetime]
    expected: dict[str, datetime]
    delays: dict[str, tuple[float, tuple[tuple[str, str, float], ...]]]


def _short_in_window(projection: Projection, window: np.ndarray) -> tuple[FloatArray, np.ndarray]:
    """Units lost and days short per pair on the days before its lead time has passed."""
    days = np.arange(projection.horizon)
    lost = np.where(days[None, :] < window[:, None], projection.lost, 0.0)
    return lost.sum(axis=1), (lost > SHORT_UNITS).sum(axis=1)


@dataclass(frozen=True)
class _Base:
    """The projection at the plan's own ETAs, reduced to what a pass reads."""

    inbound: FloatArray
    projection: Projection
    units: FloatArray
    days: np.ndarray


@dataclass
class StockMonitor:
    """Scores the stock dimension from stock inputs, the plan of record and the exposures.

    Parameters
    ----------
    inputs : validated stock inputs (twin.files.stock.load_stock).
    network : the twin's network (its warehouses' lead times).
    settings : the `[stock]` table (horizon, lead times, score scale, SKUs shown).
    """

    inputs: StockInputs
    network: Network
    settings: StockSettings = field(default_factory=StockSettings)
    lead_times: dict[str, float] = field(init=False)
    _layouts: dict[int, _Layout] = field(default_factory=dict, init=False, repr=False)
    _demand: dict[tuple[date, int], FloatArray] = field(
        default_factory=dict, init=False, repr=False
    )
    # The projection at the plan's own ETAs, kept while the day and the plan stay the same.
    _base: dict[tuple[date, int, int, int], _Base] = field(
        default_factory=dict, init=False, repr=False
    )
    # Lateness priced by stock, kept while the day and the book (ids, destinations, due dates,
    # cbm) stay the same: a re-plan asks on every incident, the book changes far less often.
    _prices: dict[tuple[date, int], dict[str, StockPrice]] = field(
        default_factory=dict, init=False, repr=False
    )

    # The stock moves whose lines are counted (`use_moves`), and the lines as given.
    _moves_key: tuple[object, ...] = field(default=(), init=False, repr=False)
    _given_lines: pd.DataFrame | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        derived = replenishment_lead_times(self.network)
        if self.settings.lead_time_days is not None:
            derived = {w: self.settings.lead_time_days for w in derived}
        self.lead_times = {**derived, **self.settings.lead_times}
        lines = self.inputs.lines
        self._carried = frozenset(lines["shipment"]) if not lines.empty else frozenset()

    def use_moves(self, moves: Sequence[StockMove]) -> None:
        """Count the SKU lines of the stock moves in force (twin.stock.moves) with the lines
        given: a transfer's, a replenishment's or a split part's shipment carries its lines,
        a split's shipment carries its lines less the part's. (A redirect changes only the
        shipment's destination, which the shipments say.) Caches are dropped when they change."""
        key = tuple(
            (m.shipment, m.parent, tuple((line.sku, line.units) for line in m.lines))
            for m in moves
            if m.kind != "redirect"
        )
        if key == self._moves_key:
            return
        if self._given_lines is None:
            self._given_lines = self.inputs.lines
        lines = self._given_lines
        added = [
            (m.shipment, line.sku, line.units)
            for m in moves
            if m.kind != "redirect"
            for line in m.lines
        ]
        taken: dict[tuple[str, str], float] = defaultdict(float)
        for m in moves:
            if m.parent is not None:
                for line in m.lines:
                    taken[(m.parent, line.sku)] += line.units
        if taken:
            less = np.array(
                [taken.get((sid, sku), 0.0) for sid, sku in zip(lines["shipment"], lines["sku"])]
            )
            lines = lines.assign(units=lines["units"].to_numpy(float) - less)
            lines = lines[lines["units"] > 0]
        if added:
            extra = pd.DataFrame(added, columns=["shipment", "sku", "units"])
            lines = pd.concat([lines, extra], ignore_index=True)
        self.inputs = replace(self.inputs, lines=lines.reset_index(drop=True))
        self._carried = frozenset(lines["shipment"]) if not lines.empty else frozenset()
        self._moves_key = key
        self._layouts.clear()
        self._demand.clear()
        self._base.clear()
        self._prices.clear()

    @property
    def horizon(self) -> int:
        return self.settings.horizon_days

    def carries(self, shipment: str) -> bool:
        """Whether the shipment has SKU lines (only those bring stock)."""
        return shipment in self._carried

    def _layout(self, destinations: Mapping[str, str]) -> tuple[int, _Layout]:
        key = hash(frozenset(destinations.items()))
        if key in self._layouts:
            return key, self._layouts[key]
        if len(self._layouts) > 8:  # shipments come and go; keep the recent few
            self._layouts.clear()
        # Only which shipments have ETAs matters here, not when.
        table = _pairs_with_inbound(
            self.inputs, destinations, dict.fromkeys(destinations, datetime.min)
        )
        warehouses = sorted(set(table["warehouse"]))
        pairs = pd.MultiIndex.from_frame(table[["warehouse", "sku"]])
        lines = self.inputs.lines
        rows = (
            pairs.get_indexer(
                pd.MultiIndex.from_arrays([lines["shipment"].map(destinations), lines["sku"]])
            )
            if not lines.empty
            else np.zeros(0, dtype=np.int64)
        )
        lines_of: dict[int, list[int]] = defaultdict(list)
        for index, row in enumerate(rows.tolist()):
            if row >= 0:
                lines_of[row].append(index)
        lead = table["warehouse"].map(self.lead_times).fillna(FALLBACK_LEAD_TIME_DAYS)
        layout = _Layout(
            table=table,
            pair_index=pairs,
            warehouses=warehouses,
            codes=np.searchsorted(warehouses, table["warehouse"].to_numpy(str)),
            skus=table["sku"].to_numpy(str),
            on_hand=table["on_hand"].to_numpy(float),
            margin=table["unit_margin"].to_numpy(float),
            window=np.minimum(np.ceil(lead.to_numpy(float)), self.horizon).astype(np.int64),
            line_rows=np.asarray(rows, dtype=np.int64),
            line_shipments=lines["shipment"].tolist(),
            line_units=lines["units"].to_numpy(float),
            line_skus=lines["sku"].to_numpy(str),
            lines_of=dict(lines_of),
        )
        self._layouts[key] = layout
        return key, layout

    def demand(self, now: datetime, destinations: Mapping[str, str]) -> FloatArray:
        """Daily demand per pair from now's day: the given forecast, else one fitted on the
        history before now's day. Kept per day and pair set: the fit takes seconds, a pass
        milliseconds."""
        key, layout = self._layout(destinations)
        if (now.date(), key) not in self._demand:
            self._demand.clear()  # one day's forecast is all a pass needs
            pairs = pd.MultiIndex.from_frame(layout.table[["warehouse", "sku"]])
            given, has_given = _given_forecast(self.inputs.forecast, pairs, now, self.horizon)
            history = self.inputs.history[self.inputs.history["date"] < pd.Timestamp(now.date())]
            learned, _ = forecast_pairs(history, pairs, now.date(), self.horizon, 0)
            self._demand[(now.date(), key)] = np.where(has_given[:, None], given, learned)
        return self._demand[(now.date(), key)]

    def prices(self, shipments: Mapping[str, Shipment], now: datetime) -> dict[str, StockPrice]:
        """Each shipment with SKU lines priced late by the stock it feeds
        (twin.stock.pricing.price_book, as `twin plan --stock` prices): the rate per cbm-day is
        the margin its lines would lose to shortage when late, less the holding saved, against
        stock on hand, the forecast and the rest of the book arriving on its due days."""
        carried = [s for sid, s in sorted(shipments.items()) if sid in self._carried]
        if not carried:
            return {}
        key = (now.date(), hash(tuple((s.id, s.destination, s.due_at, s.units) for s in carried)))
        if key not in self._prices:
            self._prices.clear()
            destinations = {s.id: s.destination for s in carried}
            demand = self.demand(now, destinations)
            _, layout = self._layout(destinations)
            inbound = self._inbound(layout, {s.id: s.due_at for s in carried}, now)
            outflow = self._outflow(layout, self._leaving(layout, carried, {}), now)
            position = StockPosition(
                table=layout.table,
                projection=project(
                    layout.on_hand, demand, inbound, layout.margin, now, outflow=outflow
                ),
                accuracy=None,
            )
            self._prices[key] = {
                p.shipment: p for p in price_book(position, carried, self.inputs.lines, now=now)
            }
        return self._prices[key]

    def _inbound(self, layout: _Layout, etas: Mapping[str, datetime], now: datetime) -> FloatArray:
        """Units arriving per pair and day (freight already due counts on day 0; none without
        an ETA or after the horizon)."""
        return self._by_day(layout, layout.line_rows, etas, now)

    def _outflow(
        self, layout: _Layout, leaving_at: Mapping[str, tuple[str, datetime]], now: datetime
    ) -> FloatArray | None:
        """Units leaving per pair and day: the lines of each shipment in `leaving_at`
        (shipment -> the warehouse it leaves and when; one already gone counts on day 0).
        None when nothing leaves."""
        if not leaving_at:
            return None
        origins = [leaving_at[sid][0] if sid in leaving_at else "" for sid in layout.line_shipments]
        rows = layout.pair_index.get_indexer(pd.MultiIndex.from_arrays([origins, layout.line_skus]))
        when = {sid: at for sid, (_, at) in leaving_at.items()}
        out = self._by_day(layout, rows, when, now)
        return out if out.any() else None

    def _by_day(
        self, layout: _Layout, rows: np.ndarray, when: Mapping[str, datetime], now: datetime
    ) -> FloatArray:
        """Each line's units placed on its pair (`rows`, -1: none) and on the whole day from
        now's midnight of its shipment's time in `when` (past: day 0; none without one or
        after the horizon)."""
        out = np.zeros((len(layout.table), self.horizon))
        midnight = datetime(now.year, now.month, now.day, tzinfo=now.tzinfo)
        day_of = {sid: (at - midnight) / DAY for sid, at in when.items()}
        day = np.array([day_of.get(sid, np.inf) for sid in layout.line_shipments], dtype=float)
        day = np.floor(day).clip(0, None)
        keep = (rows >= 0) & (day < self.horizon)
        np.add.at(out, (rows[keep], day[keep].astype(np.int64)), layout.line_units[keep])
        return out

    @staticmethod
    def _leaving(
        layout: _Layout, shipments: Iterable[Shipment], routes: Mapping[str, Routes]
    ) -> dict[str, tuple[str, datetime]]:
        """The shipments leaving a warehouse of the layout (transfers): shipment -> that
        warehouse and when it leaves (twin.stock.etas.departures)."""
        held = set(layout.warehouses)
        leaving = [s for s in shipments if s.origin in held]
        origin = {s.id: s.origin for s in leaving}
        return {sid: (origin[sid], at) for sid, at in departures(leaving, routes).items()}

    def _run(
        self,
        shipments: Mapping[str, Shipment],
        routes: Mapping[str, Routes],
        exposures: Iterable[Exposure],
        now: datetime,
    ) -> _Run:
        destinations = {sid: s.destination for sid, s in shipments.items() if sid in self._carried}
        etas: dict[str, datetime] = {}
        for sid in destinations:
            planned = routes.get(sid)
            if planned is None:  # not planned yet: expected when due
                etas[sid] = shipments[sid].due_at
            elif planned:  # a split shipment is sellable when its last part arrives
                etas[sid] = max(a.eta for a in planned)
        delays = {sid: d for sid, d in shipment_delays(exposures).items() if sid in etas}
        expected = {
            sid: eta + timedelta(days=delays[sid][0]) if sid in delays else eta
            for sid, eta in etas.items()
        }
        demand = self.demand(now, destinations)
        key, layout = self._layout(destinations)
        leaving_at = self._leaving(layout, (shipments[sid] for sid in destinations), routes)
        base_key = (
            now.date(),
            key,
            hash(frozenset(etas.items())),
            hash(frozenset(leaving_at.items())),
        )
        if base_key not in self._base:
            self._base.clear()
            inbound = self._inbound(layout, etas, now)
            outflow = self._outflow(layout, leaving_at, now)
            projection = project(
                layout.on_hand, demand, inbound, layout.margin, now, outflow=outflow
            )
            self._base[base_key] = _Base(
                inbound, projection, *_short_in_window(projection, layout.window)
            )
        base = self._base[base_key]
        units, days = base.units, base.days
        stockout_day = base.projection.stockout_day
        if delays:
            risk_in = self._inbound(layout, expected, now)
            # Only pairs whose inbound the delays move are projected again.
            rows = np.flatnonzero((risk_in != base.inbound).any(axis=1))
            outflow = base.projection.outflow
            moved = project(
                layout.on_hand[rows],
                demand[rows],
                risk_in[rows],
                layout.margin[rows],
                now,
                outflow=None if outflow is None else outflow[rows],
            )
            units, days, stockout_day = units.copy(), days.copy(), stockout_day.copy()
            units[rows], days[rows] = _short_in_window(moved, layout.window[rows])
            stockout_day[rows] = moved.stockout_day
        return _Run(
            layout=layout,
            demand=demand,
            cover_days=base.projection.cover_days,
            base_inbound=base.inbound,
            outflow=base.projection.outflow,
            units_base=base.units,
            days_base=base.days,
            units=units,
            days=days,
            stockout_day=stockout_day,
            etas=etas,
            expected=expected,
            delays=delays,
        )

    def assess(
        self,
        shipments: Mapping[str, Shipment],
        routes: Mapping[str, Routes],
        exposures: Iterable[Exposure],
        now: datetime,
    ) -> StockAssessment:
        """Score every warehouse at `now`.

        shipments: the active shipments; those with SKU lines bring stock at their ETA.
        routes: the plan of record (a shipment with no entry yet counts at its due date, one
        with no route, unserved, brings nothing). exposures: what the current risks do to the
        routes (twin.scoring.exposure.exposure); each shipment's expected delay is added to
        its ETA.
        """
        run = self._run(shipments, routes, exposures, now)
        layout = run.layout
        units, days, units_base, days_base = run.units, run.days, run.units_base, run.days_base
        margin, margin_base = units * layout.margin, units_base * layout.margin
        short = units > SHORT_UNITS
        count = len(layout.warehouses)

        def total(values: np.ndarray) -> list[float]:
            return np.bincount(layout.codes, weights=values, minlength=count).tolist()

        on_hand, inbound = total(layout.on_hand), total(run.base_inbound.sum(axis=1))
        outbound = total(run.outflow.sum(axis=1)) if run.outflow is not None else [0.0] * count
        units_short, at_risk_margin = total(np.where(short, units, 0.0)), total(margin)
        without = total(margin_base)
        skus = np.bincount(layout.codes, minlength=count).tolist()
        skus_short = np.bincount(layout.codes[short], minlength=count).tolist()
        cover = run.cover_days
        out_day = np.where(short, run.stockout_day, np.iinfo(np.int64).max)
        first_out = np.full(count, np.iinfo(np.int64).max)
        np.minimum.at(first_out, layout.codes, out_day)
        # Per warehouse, its short pairs by margin at risk (then SKU): the ones shown.
        order = np.lexsort((layout.skus, -margin, layout.codes))
        order = order[short[order]]
        shown: dict[int, list[int]] = defaultdict(list)
        for row in order.tolist():
            code = int(layout.codes[row])
            if len(shown[code]) < self.settings.skus_shown:
                shown[code].append(row)
        worse = short & (margin > margin_base + 1e-6)
        worse_rows: dict[int, list[int]] = defaultdict(list)
        for row in np.flatnonzero(worse).tolist():
            worse_rows[int(layout.codes[row])].append(row)
        # Median cover per warehouse from one sort by (warehouse, cover).
        by_cover = cover[np.lexsort((cover, layout.codes))]
        bounds = np.searchsorted(np.sort(layout.codes), np.arange(count + 1)).tolist()
        first_day = now.date()
        positions: dict[str, WarehouseStock] = {}
        for code, warehouse in enumerate(layout.warehouses):
            lo, hi = bounds[code], bounds[code + 1]
            median = (by_cover[lo + (hi - lo - 1) // 2] + by_cover[lo + (hi - lo) // 2]) / 2
            at_risk = tuple(
                SkuAtRisk(
                    sku=str(layout.skus[row]),
                    on_hand=float(layout.on_hand[row]),
                    demand_per_day=round(float(run.demand[row].mean()), 3),
                    cover_days=int(cover[row]),
                    stockout_on=first_day + timedelta(days=int(run.stockout_day[row]))
                    if run.stockout_day[row] != NO_STOCKOUT
                    else None,
                    days_short=int(days[row]),
                    units_short=round(float(units[row]), 2),
                    margin_at_risk=round(float(margin[row]), 2),
                    days_short_without_delays=int(days_base[row]),
                    inbound=self._lots(run, row),
                )
                for row in shown.get(code, [])
            )
            first = int(first_out[code])
            positions[warehouse] = WarehouseStock(
                warehouse=warehouse,
                lead_time_days=round(
                    float(self.lead_times.get(warehouse, FALLBACK_LEAD_TIME_DAYS)), 2
                ),
                skus=skus[code],
                on_hand=on_hand[code],
                inbound_units=inbound[code],
                outbound_units=outbound[code],
                median_cover_days=float(median) if hi > lo else 0.0,
                skus_short=skus_short[code],
                units_short=round(units_short[code], 2),
                margin_at_risk=round(at_risk_margin[code], 2),
                margin_at_risk_without_delays=round(without[code], 2),
                first_stockout_on=first_day + timedelta(days=first)
                if first != np.iinfo(np.int64).max
                else None,
                causes=self._causes(run, worse_rows.get(code, [])),
                at_risk=at_risk,
            )
        return StockAssessment(now, self._scores(positions), positions)

    def situation(
        self,
        shipments: Mapping[str, Shipment],
        routes: Mapping[str, Routes],
        exposures: Iterable[Exposure],
        now: datetime,
        warehouses: Collection[str],
    ) -> Situation:
        """What stock moves into `warehouses` are weighed against (twin.stock.moves): their
        pairs projected as `assess` projects them (the plan's ETAs under the expected delays),
        the SKU lines of the inbound freight bound for them, when each is expected, and the
        lines the stock pricing marks urgent (`urgent_lines`, as the replays split)."""
        run = self._run(shipments, routes, exposures, now)
        layout = run.layout
        table = layout.table
        rows = np.flatnonzero(table["warehouse"].isin(set(warehouses)).to_numpy())
        inbound = self._inbound(layout, run.expected, now)
        safety = table["safety_days"].to_numpy(float)
        value = table["unit_value"].to_numpy(float)
        size = table["cbm_per_unit"].to_numpy(float)
        pairs: dict[tuple[str, str], Pair] = {}
        for row in rows.tolist():
            window = int(layout.window[row])
            daily = float(run.demand[row][: max(window, 1)].mean())
            days = safety[row] if math.isfinite(safety[row]) else 0.0
            key = (str(table["warehouse"].iat[row]), str(layout.skus[row]))
            pairs[key] = Pair(
                warehouse=key[0],
                sku=key[1],
                on_hand=float(layout.on_hand[row]),
                unit_margin=float(layout.margin[row]),
                unit_value=float(value[row]),
                cbm_per_unit=float(size[row]),
                demand=run.demand[row],
                inbound=inbound[row],
                window=window,
                outflow=None if run.outflow is None else run.outflow[row],
                safety_units=days * daily,
            )
        lines: dict[str, list[tuple[str, float]]] = defaultdict(list)
        cbm: dict[str, list[float]] = defaultdict(list)
        wanted = set(rows.tolist())
        bound: set[str] = set()
        for index, sid in enumerate(layout.line_shipments):
            row = int(layout.line_rows[index])
            if row < 0:
                continue
            # Every line of a shipment, in the order its price lists them.
            lines[sid].append((str(layout.skus[row]), float(layout.line_units[index])))
            cbm[sid].append(float(layout.line_units[index] * size[row]))
            if row in wanted and sid in run.etas:
                bound.add(sid)
        prices = self.prices(shipments, now)
        midnight = datetime(now.year, now.month, now.day, tzinfo=now.tzinfo)
        return Situation(
            pairs=pairs,
            lines={sid: tuple(lines[sid]) for sid in sorted(bound)},
            arrival_day={
                sid: max(0, math.floor((run.expected[sid] - midnight) / DAY)) for sid in bound
            },
            line_rates={
                sid: prices[sid].line_net_per_day for sid in sorted(bound) if sid in prices
            },
            line_cbm={sid: tuple(cbm[sid]) for sid in sorted(bound)},
            now_day=(now - midnight) / DAY,
        )

    def _lots(self, run: _Run, row: int) -> tuple[InboundLot, ...]:
        """The inbound SKU units of a pair, soonest expected first."""
        lots = []
        for index in run.layout.lines_of.get(row, ()):
            sid = run.layout.line_shipments[index]
            if sid not in run.etas:
                continue
            delay, causes = run.delays.get(sid, (0.0, ()))
            lots.append(
                InboundLot(
                    shipment=sid,
                    units=float(run.layout.line_units[index]),
                    eta=run.etas[sid],
                    expected_eta=run.expected[sid],
                    delay_days=round(delay, 3),
                    causes=tuple(dict.fromkeys(target for target, _, _ in causes)),
                )
            )
        return tuple(sorted(lots, key=lambda lot: (lot.expected_eta, lot.shipment)))

    def _causes(self, run: _Run, rows: Sequence[int]) -> tuple[RiskCause, ...]:
        """The risks whose delays make these pairs shorter than the plan would."""
        found: dict[tuple[str, str], tuple[float, set[str]]] = {}
        for row in rows:
            for index in run.layout.lines_of.get(row, ()):
                sid = run.layout.line_shipments[index]
                for target, dimension, days in run.delays.get(sid, (0.0, ()))[1]:
                    most, ships = found.get((target, dimension), (0.0, set()))
                    found[(target, dimension)] = (max(most, days), ships | {sid})
        return tuple(
            RiskCause(target=t, dimension=d, delay_days=round(days, 3), shipments=tuple(sorted(s)))
            for (t, d), (days, s) in sorted(found.items())
        )

    def _scores(self, positions: Mapping[str, WarehouseStock]) -> pd.DataFrame:
        nodes = self.network.node_by_id
        half = self.settings.margin_at_half
        rows = []
        for warehouse, pos in positions.items():
            m = pos.margin_at_risk
            score = m / (m + half) if m > 0 else 0.0
            rows.append(
                {
                    "target": warehouse,
                    "dimension": DIMENSION,
                    "score": round(score, 6),
                    "explain": _explain(pos, score, self.network.currency),
                    "kind": "warehouse",
                    "country": nodes[warehouse].country if warehouse in nodes else None,
                    "via": (),
                    "sources": (),
                    "starts_at": pd.NaT,
                    "until": pd.NaT,
                    "stock": pos,
                }
            )
        frame = pd.DataFrame(rows, columns=[*SCORE_COLUMNS, "stock"])
        frame["score"] = frame["score"].astype(float)
        for column in ("starts_at", "until"):
            frame[column] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
        return frame

    def impact(
        self,
        shipments: Mapping[str, Shipment],
        before: Mapping[str, Routes],
        after: Mapping[str, Routes],
        exposures_before: Iterable[Exposure],
        exposures_after: Iterable[Exposure],
        changed: Iterable[str],
        now: datetime,
        added_costs: Mapping[str, float] | None = None,
    ) -> tuple[StockImpact, ...]:
        """What moving `changed` shipments from `before` routes to `after` routes does, under
        the current risks, to the warehouse x SKU pairs they carry: units short, days short and
        margin at risk within each warehouse's lead time, before and after. `added_costs`
        (shipment -> cost the move adds) is shared among each shipment's lines by cbm."""
        moved = set(changed) & self._carried
        if not moved:
            return ()
        run_before = self._run(shipments, before, exposures_before, now)
        run_after = self._run(shipments, after, exposures_after, now)
        layout = run_before.layout
        units_b, days_b = run_before.units, run_before.days
        units_a, days_a = run_after.units, run_after.days
        fed = [
            (i, sid, int(layout.line_rows[i]))
            for i, sid in enumerate(layout.line_shipments)
            if sid in moved and layout.line_rows[i] >= 0
        ]
        rows = sorted(
            {row for _, _, row in fed},
            key=lambda r: (layout.table["warehouse"].iat[r], layout.skus[r]),
        )
        cbm_per_unit = layout.table["cbm_per_unit"].to_numpy(float)
        line_cbm = {i: float(layout.line_units[i] * cbm_per_unit[row]) for i, _, row in fed}
        shipment_cbm: dict[str, float] = defaultdict(float)
        for i, sid, _ in fed:
            shipment_cbm[sid] += line_cbm[i]
        cost: dict[int, float] = defaultdict(float)
        for i, sid, row in fed:
            share = line_cbm[i] / shipment_cbm[sid] if shipment_cbm[sid] > 0 else 0.0
            cost[row] += (added_costs or {}).get(sid, 0.0) * share
        return tuple(
            StockImpact(
                warehouse=str(layout.table["warehouse"].iat[r]),
                sku=str(layout.skus[r]),
                units_short_before=round(float(units_b[r]), 2),
                units_short_after=round(float(units_a[r]), 2),
                days_short_before=int(days_b[r]),
                days_short_after=int(days_a[r]),
                margin_at_risk_before=round(float(units_b[r] * layout.margin[r]), 2),
                margin_at_risk_after=round(float(units_a[r] * layout.margin[r]), 2),
                added_cost=round(cost[r], 2),
            )
            for r in rows
        )


def _explain(pos: WarehouseStock, score: float, currency: str) -> str:
    if pos.margin_at_risk <= 0:
        return (
            f"stock {score:.2f}: no sales lost within the {pos.lead_time_days:g}-day lead time "
            f"(median cover {pos.median_cover_days:g} d)"
        )
    text = (
        f"stock {score:.2f}: {pos.margin_at_risk:,.0f} {currency} margin at risk within the "
        f"{pos.lead_time_days:g}-day lead time, {pos.skus_short} SKU"
        + ("s" if pos.skus_short != 1 else "")
        + " short"
        + (f" from {pos.first_stockout_on.isoformat()}" if pos.first_stockout_on else "")
    )
    added = pos.margin_at_risk - pos.margin_at_risk_without_delays
    if pos.causes and added > 0:
        causes = ", ".join(f"{c.target} {c.dimension} +{c.delay_days:g} d" for c in pos.causes)
        text += f"; {added:,.0f} of it from delays ({causes})"
    return text
