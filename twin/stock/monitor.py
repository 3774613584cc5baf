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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import networkx as nx
import numpy as np
import pandas as pd

from twin.domain.alerts import Exposure
from twin.domain.plans import Routes
from twin.domain.records import Network, NodeKind, Shipment
from twin.domain.settings import StockSettings
from twin.domain.stock import (
    InboundLot,
    RiskCause,
    SkuAtRisk,
    StockImpact,
    StockInputs,
    WarehouseStock,
)
from twin.scoring.scorers import SCORE_COLUMNS
from twin.stock.forecast import FloatArray, forecast_pairs
from twin.stock.position import _given_forecast, _pairs_with_inbound, inbound_matrix
from twin.stock.projection import NO_STOCKOUT, SHORT_UNITS, Projection, project

DIMENSION = "stock"
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


@dataclass
class _Run:
    """The pair table, demand and the two projections of one assessment."""

    table: pd.DataFrame
    demand: FloatArray
    window: np.ndarray  # P: days of each pair's lead time (whole days, at most the horizon)
    base: Projection
    risk: Projection
    base_inbound: FloatArray
    etas: dict[str, datetime]
    expected: dict[str, datetime]
    delays: dict[str, tuple[float, tuple[tuple[str, str, float], ...]]]
    destinations: dict[str, str]


def _short_in_window(projection: Projection, window: np.ndarray) -> tuple[FloatArray, np.ndarray]:
    """Units lost and days short per pair on the days before its lead time has passed."""
    days = np.arange(projection.horizon)
    inside = days[None, :] < window[:, None]
    lost = np.where(inside, projection.lost, 0.0)
    return lost.sum(axis=1), (lost > SHORT_UNITS).sum(axis=1)


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
    _demand: dict[tuple[date, int], tuple[pd.DataFrame, FloatArray]] = field(
        default_factory=dict, init=False, repr=False
    )

    def __post_init__(self) -> None:
        derived = replenishment_lead_times(self.network)
        if self.settings.lead_time_days is not None:
            derived = {w: self.settings.lead_time_days for w in derived}
        self.lead_times = {**derived, **self.settings.lead_times}

    @property
    def horizon(self) -> int:
        return self.settings.horizon_days

    def demand(
        self, now: datetime, destinations: Mapping[str, str]
    ) -> tuple[pd.DataFrame, FloatArray]:
        """The pair table (stock rows plus SKUs arriving where none is held) and its daily
        demand from now's day: the given forecast, else one fitted on the history before
        now's day. Kept per day and pair set: the fit takes seconds, a pass milliseconds."""
        table = _pairs_with_inbound(self.inputs, destinations, dict.fromkeys(destinations, now))
        pairs = pd.MultiIndex.from_frame(table[["warehouse", "sku"]])
        key = (now.date(), hash(tuple(pairs)))
        if key not in self._demand:
            self._demand.clear()  # one day's forecast is all a pass needs
            given, has_given = _given_forecast(self.inputs.forecast, pairs, now, self.horizon)
            history = self.inputs.history[self.inputs.history["date"] < pd.Timestamp(now.date())]
            learned, _ = forecast_pairs(history, pairs, now.date(), self.horizon, 0)
            self._demand[key] = (table, np.where(has_given[:, None], given, learned))
        return self._demand[key]

    def _run(
        self,
        shipments: Mapping[str, Shipment],
        routes: Mapping[str, Routes],
        exposures: Iterable[Exposure],
        now: datetime,
    ) -> _Run:
        lines = self.inputs.lines
        carried = set(lines["shipment"]) if not lines.empty else set()
        destinations = {sid: s.destination for sid, s in shipments.items() if sid in carried}
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
        table, demand = self.demand(now, destinations)
        pairs = pd.MultiIndex.from_frame(table[["warehouse", "sku"]])
        base_in = inbound_matrix(pairs, lines, destinations, etas, now, self.horizon)
        risk_in = (
            inbound_matrix(pairs, lines, destinations, expected, now, self.horizon)
            if delays
            else base_in
        )
        on_hand = table["on_hand"].to_numpy(float)
        margin = table["unit_margin"].to_numpy(float)
        base = project(on_hand, demand, base_in, margin, now)
        risk = project(on_hand, demand, risk_in, margin, now) if delays else base
        lead = table["warehouse"].map(self.lead_times).fillna(FALLBACK_LEAD_TIME_DAYS)
        window = np.minimum(np.ceil(lead.to_numpy(float)), self.horizon).astype(np.int64)
        return _Run(
            table, demand, window, base, risk, base_in, etas, expected, delays, destinations
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
        table = run.table
        units_risk, days_risk = _short_in_window(run.risk, run.window)
        units_base, days_base = _short_in_window(run.base, run.window)
        margin = table["unit_margin"].to_numpy(float)
        frame = table[["warehouse", "sku", "on_hand"]].assign(
            demand_per_day=run.demand.mean(axis=1),
            cover_days=run.risk.cover_days,
            inbound=run.base_inbound.sum(axis=1),
            stockout_day=run.risk.stockout_day,
            units_short=units_risk,
            days_short=days_risk,
            margin_at_risk=units_risk * margin,
            days_base=days_base,
            margin_base=units_base * margin,
        )
        lots = self._lots(run)
        first_day = pd.Timestamp(now.date())
        positions: dict[str, WarehouseStock] = {}
        for warehouse, group in frame.groupby("warehouse", sort=True):
            short = group[group["units_short"] > SHORT_UNITS].sort_values(
                ["margin_at_risk", "sku"], ascending=[False, True]
            )
            at_risk = tuple(
                SkuAtRisk(
                    sku=row.sku,
                    on_hand=float(row.on_hand),
                    demand_per_day=round(float(row.demand_per_day), 3),
                    cover_days=int(row.cover_days),
                    stockout_on=(first_day + pd.Timedelta(days=int(row.stockout_day))).date()
                    if row.stockout_day != NO_STOCKOUT
                    else None,
                    days_short=int(row.days_short),
                    units_short=round(float(row.units_short), 2),
                    margin_at_risk=round(float(row.margin_at_risk), 2),
                    days_short_without_delays=int(row.days_base),
                    inbound=lots.get((str(warehouse), row.sku), ()),
                )
                for row in short.head(self.settings.skus_shown).itertuples()
            )
            worse = short[short["margin_at_risk"] > short["margin_base"] + 1e-6]
            positions[str(warehouse)] = WarehouseStock(
                warehouse=str(warehouse),
                lead_time_days=round(
                    float(self.lead_times.get(str(warehouse), FALLBACK_LEAD_TIME_DAYS)), 2
                ),
                skus=len(group),
                on_hand=float(group["on_hand"].sum()),
                inbound_units=float(group["inbound"].sum()),
                median_cover_days=float(group["cover_days"].median()),
                skus_short=len(short),
                units_short=round(float(short["units_short"].sum()), 2),
                margin_at_risk=round(float(group["margin_at_risk"].sum()), 2),
                margin_at_risk_without_delays=round(float(group["margin_base"].sum()), 2),
                first_stockout_on=min(
                    (s.stockout_on for s in at_risk if s.stockout_on), default=None
                ),
                causes=self._causes(run, lots, str(warehouse), set(worse["sku"])),
                at_risk=at_risk,
            )
        return StockAssessment(now, self._scores(positions), positions)

    def _lots(self, run: _Run) -> dict[tuple[str, str], tuple[InboundLot, ...]]:
        """Inbound SKU units per pair, soonest first."""
        lines = self.inputs.lines
        out: dict[tuple[str, str], list[InboundLot]] = defaultdict(list)
        if lines.empty:
            return {}
        for sid, sku, units in zip(lines["shipment"], lines["sku"], lines["units"]):
            if sid not in run.etas:
                continue
            delay, causes = run.delays.get(sid, (0.0, ()))
            out[(run.destinations[sid], sku)].append(
                InboundLot(
                    shipment=sid,
                    units=float(units),
                    eta=run.etas[sid],
                    expected_eta=run.expected[sid],
                    delay_days=round(delay, 3),
                    causes=tuple(dict.fromkeys(target for target, _, _ in causes)),
                )
            )
        return {
            key: tuple(sorted(found, key=lambda lot: (lot.expected_eta or lot.eta, lot.shipment)))
            for key, found in out.items()
        }

    def _causes(
        self,
        run: _Run,
        lots: Mapping[tuple[str, str], Sequence[InboundLot]],
        warehouse: str,
        worse: set[str],
    ) -> tuple[RiskCause, ...]:
        """The risks whose delays make SKUs of the warehouse shorter than the plan would."""
        found: dict[tuple[str, str], tuple[float, set[str]]] = {}
        for sku in worse:
            for lot in lots.get((warehouse, sku), ()):
                for target, dimension, days in run.delays.get(lot.shipment, (0.0, ()))[1]:
                    most, ships = found.get((target, dimension), (0.0, set()))
                    found[(target, dimension)] = (max(most, days), ships | {lot.shipment})
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
    ) -> tuple[StockImpact, ...]:
        """What moving `changed` shipments from `before` routes to `after` routes does, under
        the current risks, to the warehouse x SKU pairs they carry: units short, days short and
        margin at risk within each warehouse's lead time, before and after."""
        lines = self.inputs.lines
        moved = set(changed)
        if lines.empty or not moved & set(lines["shipment"]):
            return ()
        run_before = self._run(shipments, before, exposures_before, now)
        run_after = self._run(shipments, after, exposures_after, now)
        table = run_before.table
        units_b, days_b = _short_in_window(run_before.risk, run_before.window)
        units_a, days_a = _short_in_window(run_after.risk, run_after.window)
        fed = lines[lines["shipment"].isin(moved)]
        keys = {
            (run_before.destinations[sid], sku)
            for sid, sku in zip(fed["shipment"], fed["sku"])
            if sid in run_before.destinations
        }
        index = {key: i for i, key in enumerate(zip(table["warehouse"], table["sku"]))}
        margin = table["unit_margin"].to_numpy(float)
        out = []
        for key in sorted(keys):
            i = index[key]
            out.append(
                StockImpact(
                    warehouse=key[0],
                    sku=key[1],
                    units_short_before=round(float(units_b[i]), 2),
                    units_short_after=round(float(units_a[i]), 2),
                    days_short_before=int(days_b[i]),
                    days_short_after=int(days_a[i]),
                    margin_at_risk_before=round(float(units_b[i] * margin[i]), 2),
                    margin_at_risk_after=round(float(units_a[i] * margin[i]), 2),
                )
            )
        return tuple(out)


def _explain(pos: WarehouseStock, score: float, currency: str) -> str:
    if pos.margin_at_risk <= 0:
        return (
            f"stock {score:.2f}: no sales lost within the {pos.lead_time_days:g}-day lead time "
            f"(median cover {pos.median_cover_days:g} d)"
        )
    text = (
        f"stock {score:.2f}: {pos.margin_at_risk:,.0f} {currency} margin at risk within the "
        f"{pos.lead_time_days:g}-day lead time, {pos.skus_short} SKUs short"
        + (f" from {pos.first_stockout_on.isoformat()}" if pos.first_stockout_on else "")
    )
    added = pos.margin_at_risk - pos.margin_at_risk_without_delays
    if pos.causes and added > 0:
        causes = ", ".join(f"{c.target} {c.dimension} +{c.delay_days:g} d" for c in pos.causes)
        text += f"; {added:,.0f} of it from delays ({causes})"
    return text
