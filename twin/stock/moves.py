"""Stock moves against a stock-out: the candidates, what each saves and costs, and the choice.

When a warehouse is projected short within its replenishment lead time, four moves can put
stock on its shelf sooner (docs/stock.md, "Stock moves"):

- `split`: the short SKUs' lines of a shipment not yet departed for it, flown apart (the lines
  the stock pricing marks urgent, as the replays' stock-aware engine books them apart);
- `redirect`: a shipment bound for another warehouse of the same market (country) sent to the
  short one instead, from a point of its route still ahead: a port change (a sister sea
  service, twin.shipments.diversion) or an onward leg from a node it will reach;
- `transfer`: units from a warehouse of the market with spare cover (stock beyond its own
  needs within its lead time and safety days), by a road, rail or air way between them;
- `replenish`: a new shipment from an origin by the mode (sea, rail, road, air) whose arrival
  beats the stock-out at least cost.

Each candidate is valued alone against the current projection (the plan of record's ETAs
under the current risks' delays): the margin of the sales it saves within the short
warehouse's lead time, less the margin it makes another warehouse lose within its lead time
(a redirect's old destination, a transfer's source), less what it adds to transport. The
choice among them is a small MIP (HiGHS through scipy.optimize.milp): most net saving, at
most one move per warehouse x SKU it fills, each shipment moved once, a source's units given
at most once, within an optional budget. Doing nothing is worth zero, so a move is chosen
only where it saves more than it costs.

Pure: a network, arrays and numbers in; candidates and a choice out. Days are counted from
now's midnight (day 0 is today), as the projection counts them.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import cast

import networkx as nx
import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from twin.domain.records import Mode, Network
from twin.stock.forecast import FloatArray
from twin.stock.pricing import SPLIT_AT, urgent_lines
from twin.stock.projection import SHORT_UNITS, project

MOVE_KINDS = ("split", "redirect", "transfer", "replenish")
# The modes each kind may use unless a playbook narrows them: a split flies; a transfer
# between warehouses of a market goes by road, rail or air; a replenishment by any mode.
DEFAULT_MODES: dict[str, tuple[str, ...]] = {
    "split": ("air",),
    "redirect": ("sea", "rail", "road", "air"),
    "transfer": ("road", "rail", "air"),
    "replenish": ("sea", "rail", "road", "air"),
}
# Days between deciding a replenishment and its freight leaving the origin (order, pick,
# pack, book): an assumption, set per playbook (`replenish: {ready_days: N}`).
READY_DAYS = 2.0
# The same for a transfer leaving a warehouse (pick, load, book a truck): an assumption, set
# per playbook (`transfer: {ready_days: N}`).
TRANSFER_READY_DAYS = 0.5
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Pair:
    """One warehouse x SKU as the monitor projects it: stock on hand, what a unit earns, is
    worth and takes up, its daily demand and the inbound expected under the current risks
    (both over the horizon), the whole days of its warehouse's lead time, the units the
    warehouse wants to keep (safety days x average demand) and the units leaving it for other
    warehouses each day (transfers already booked; None: none)."""

    warehouse: str
    sku: str
    on_hand: float
    unit_margin: float
    unit_value: float
    cbm_per_unit: float
    demand: FloatArray
    inbound: FloatArray
    window: int
    safety_units: float = 0.0
    outflow: FloatArray | None = None


@dataclass(frozen=True)
class TurningPoint:
    """A place an inbound shipment can still be sent elsewhere from: the node, the day it is
    there, the old route's cost per cbm from there on (saved by leaving it), the legs kept up
    to it (indices into the shipment's current main route) and, for a port change, the sister
    lane taken and its fee per cbm."""

    node: str
    day: float
    cost_left_per_cbm: float
    kept_legs: int
    turned_lane: str | None = None
    fee_per_cbm: float = 0.0


@dataclass(frozen=True)
class Inbound:
    """A shipment with SKU lines on its way: where to, its cbm and lines (SKU, units), the day
    it is expected under the current risks, its route's cost per cbm, and where it can still
    turn (`points`; empty: nowhere). `departed`: it has left its origin (no split then);
    `urgent`: the SKUs of its lines the stock pricing marks urgent (the split's lines)."""

    shipment: str
    origin: str
    destination: str
    cbm: float
    lines: tuple[tuple[str, float], ...]
    arrival_day: int
    ready_day: float
    cost_per_cbm: float
    departed: bool = False
    points: tuple[TurningPoint, ...] = ()
    urgent: tuple[str, ...] = ()


@dataclass(frozen=True)
class Way:
    """A way between two nodes: its lanes, each leg's (lane, from, to, start, end) in days
    from the way's start (handling and clearance at each node reached and the lanes' expected
    risk delays included), its days, its cost per cbm and its main mode (the mode of its
    longest leg)."""

    lanes: tuple[str, ...]
    legs: tuple[tuple[str, str, str, float, float], ...]
    days: float
    cost_per_cbm: float
    mode: str


@dataclass(frozen=True)
class PairEffect:
    """What a move does to one warehouse x SKU within its lead time: units and days short and
    margin at risk before and after."""

    warehouse: str
    sku: str
    units_before: float
    units_after: float
    days_before: int
    days_after: int
    margin_before: float
    margin_after: float

    @property
    def margin_saved(self) -> float:
        return self.margin_before - self.margin_after


@dataclass(frozen=True)
class Candidate:
    """One move: its kind, the warehouse it fills, the lines it carries (SKU, units) and their
    cbm, where it starts (`source`: an origin, a warehouse, or the node a redirect turns at)
    and when (day), the way, the day it lands, the shipment it moves (split, redirect) and
    the point it turns at, what it adds to transport (`cost`), and its effects per pair
    (filled pairs save, a redirect's old destination or a transfer's source may lose)."""

    kind: str
    warehouse: str
    lines: tuple[tuple[str, float], ...]
    cbm: float
    source: str
    start_day: float
    way: Way
    arrival_day: int
    cost: float
    effects: tuple[PairEffect, ...]
    shipment: str | None = None
    point: TurningPoint | None = None
    drawn_from: tuple[str, str] | None = None  # a transfer's source pair
    old_destination: str | None = None  # a redirect's

    @property
    def margin_saved(self) -> float:
        return sum(e.margin_saved for e in self.effects)

    @property
    def net(self) -> float:
        return self.margin_saved - self.cost

    @property
    def fills_margin(self) -> float:
        """The margin it saves at the warehouse it fills (before any loss elsewhere)."""
        return sum(e.margin_saved for e in self.effects if e.warehouse == self.warehouse)

    @property
    def fills(self) -> tuple[tuple[str, str], ...]:
        """The pairs it puts stock into (a move per pair is chosen at most)."""
        return tuple((self.warehouse, sku) for sku, _ in self.lines)


@dataclass(frozen=True)
class Situation:
    """What the stock monitor knows of a market when a move is weighed (built by
    StockMonitor.situation): its pairs, the SKU lines of each inbound shipment bound for one of
    its warehouses, the day each is expected (under the current risks' delays), each line's
    net loss per day of delay (twin.stock.pricing, `StockPrice.line_net_per_day`) and cbm, and
    the time of day now (in days)."""

    pairs: Mapping[tuple[str, str], Pair]
    lines: Mapping[str, tuple[tuple[str, float], ...]]
    arrival_day: Mapping[str, int]
    line_rates: Mapping[str, tuple[float, ...]]
    line_cbm: Mapping[str, tuple[float, ...]]
    now_day: float

    def urgent(self, shipment: str, split_at: float = SPLIT_AT) -> tuple[str, ...]:
        """The SKUs of the shipment's urgent lines (`urgent_lines`: the lines the replays'
        stock-aware engine books apart)."""
        rates = self.line_rates.get(shipment)
        lines = self.lines.get(shipment, ())
        if rates is None or len(rates) != len(lines):
            return ()
        flags = urgent_lines(rates, self.line_cbm[shipment], split_at)
        return tuple(sku for (sku, _), flag in zip(lines, flags) if flag)

    def short(self, warehouse: str) -> list[tuple[str, str]]:
        """The warehouse's pairs that lose sales within its lead time."""
        mine = {k: p for k, p in self.pairs.items() if p.warehouse == warehouse}
        book = _Book(mine)
        return sorted(key for key in mine if book.base(key)[0] > SHORT_UNITS)


# --- ways through the network -----------------------------------------------------------------


class Router:
    """Fastest ways through a network, the graphs and shortest-path trees built once per set
    of modes and start (a candidate search asks thousands of times)."""

    def __init__(self, network: Network, risk_days: Mapping[str, float] | None = None):
        self.network = network
        self.risk = dict(risk_days or {})
        self._graphs: dict[tuple[frozenset[str], str | None], nx.DiGraph] = {}
        self._trees: dict[tuple[frozenset[str], str], dict[str, list[str]]] = {}

    def _graph(self, allowed: frozenset[str], country: str | None) -> nx.DiGraph:
        key = (allowed, country)
        if key not in self._graphs:
            nodes = self.network.node_by_id
            graph = nx.DiGraph()
            for lane in self.network.lanes:
                if lane.mode.value not in allowed:
                    continue
                node = nodes.get(lane.to)
                stop = 0.0
                if node is not None:
                    stop = node.handling_days
                    stop += node.clearance_days if node.is_customs_entry_for(country) else 0.0
                days = lane.transit_days + self.risk.get(lane.id, 0.0) + stop
                seen = graph.get_edge_data(lane.from_, lane.to)
                # Of parallel lanes, the fastest (then the cheaper) stands for the pair.
                if seen is None or (days, lane.cost_per_unit) < (
                    seen["days"],
                    seen["lane"].cost_per_unit,
                ):
                    graph.add_edge(lane.from_, lane.to, days=days, lane=lane)
            self._graphs[key] = graph
        return self._graphs[key]

    def fastest(self, start: str, end: str, modes: Collection[str]) -> Way | None:
        """The fastest way from `start` to `end` on lanes of `modes` (road always allowed, for
        the first and last miles): lane transit days plus their expected risk delay, then
        handling at each node reached and clearance where it is a customs entry for the
        start's country (as the warehouses' lead times count them). None: no such way."""
        nodes = self.network.node_by_id
        country = nodes[start].country if start in nodes else None
        allowed = frozenset(modes) | {Mode.road.value}
        graph = self._graph(allowed, country)
        if start not in graph:
            return None
        key = (allowed, start)
        if key not in self._trees:
            self._trees[key] = nx.single_source_dijkstra_path(graph, start, weight="days")
        path = self._trees[key].get(end)
        if path is None or len(path) < 2:
            return None
        legs: list[tuple[str, str, str, float, float]] = []
        clock, cost = 0.0, 0.0
        longest: tuple[float, str] = (-1.0, "")
        for a, b in itertools.pairwise(path):
            data = graph[a][b]
            lane = data["lane"]
            transit = lane.transit_days + self.risk.get(lane.id, 0.0)
            legs.append((lane.id, a, b, clock, clock + transit))
            clock += data["days"]
            cost += lane.cost_per_unit
            longest = max(longest, (lane.transit_days, lane.mode.value))
        return Way(
            lanes=tuple(leg[0] for leg in legs),
            legs=tuple(legs),
            days=round(clock, 6),
            cost_per_cbm=round(cost, 6),
            mode=longest[1],
        )


def fastest_way(
    network: Network,
    start: str,
    end: str,
    modes: Collection[str],
    risk_days: Mapping[str, float] | None = None,
) -> Way | None:
    """`Router.fastest` on its own (see there)."""
    return Router(network, risk_days).fastest(start, end, modes)


def ways(router: Router, start: str, end: str, modes: Collection[str]) -> list[Way]:
    """One fastest way per allowed main mode (distinct ways only): the menu a move picks from
    (by sea it is cheap and slow, by air dear and fast)."""
    found: dict[tuple[str, ...], Way] = {}
    for mode in modes:
        way = router.fastest(start, end, {mode})
        if way is not None and way.mode == mode:
            found.setdefault(way.lanes, way)
    return sorted(found.values(), key=lambda w: (w.days, w.cost_per_cbm, w.lanes))


# The ways from a node to a node by some modes (memoised per call of `candidates`).
Menu = Callable[[str, str, tuple[str, ...]], list[Way]]


# --- valuing a move -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pending:
    """An effect asked for, projected with the others in one batch (`_Book.resolve`)."""

    key: tuple[str, str]
    on_hand_delta: float
    moved: tuple[tuple[int, float], ...]


@dataclass
class _Book:
    """The pairs, each one's shortage at the current projection (all projected at once, on
    first use), and the effects moves ask for, projected together in one batch."""

    pairs: Mapping[tuple[str, str], Pair]
    _base: dict[tuple[str, str], tuple[float, int, FloatArray, FloatArray]] = field(
        default_factory=dict
    )
    _pending: dict[_Pending, PairEffect | None] = field(default_factory=dict)

    def base(self, key: tuple[str, str]) -> tuple[float, int, FloatArray, FloatArray]:
        """Units and days short within the window, and the daily lost units and stock."""
        if not self._base:
            keys = list(self.pairs)
            results = _short_many([self.pairs[k] for k in keys], None, None)
            self._base = dict(zip(keys, results))
        return self._base[key]

    def effect(
        self, key: tuple[str, str], on_hand_delta: float, moved: Sequence[tuple[int, float]]
    ) -> PairEffect:
        """The pair's shortage with `on_hand_delta` units more today and `moved` (day, units)
        added to (negative: taken from) its inbound: asked now, projected by `resolve` (until
        then a placeholder stands in the candidate)."""
        pending = _Pending(key, on_hand_delta, tuple(moved))
        self._pending.setdefault(pending, None)
        return cast(PairEffect, pending)

    def resolve(self, found: Sequence[Candidate]) -> list[Candidate]:
        """The candidates with their effects projected: every one asked for, in one batch."""
        asked = [p for p, done in self._pending.items() if done is None]
        if asked:
            pairs, starts, inbounds = [], [], []
            for pending in asked:
                pair = self.pairs[pending.key]
                inbound = pair.inbound.copy()
                horizon = len(inbound)
                for day, units in pending.moved:
                    inbound[min(max(day, 0), horizon - 1)] += units if day < horizon else 0.0
                pairs.append(pair)
                starts.append(max(pair.on_hand + pending.on_hand_delta, 0.0))
                inbounds.append(np.maximum(inbound, 0.0))
            results = _short_many(pairs, starts, inbounds)
            for pending, pair, (units_a, days_a, _, _) in zip(asked, pairs, results):
                units_b, days_b, _, _ = self.base(pending.key)
                self._pending[pending] = PairEffect(
                    pair.warehouse,
                    pair.sku,
                    round(units_b, 6),
                    round(units_a, 6),
                    days_b,
                    days_a,
                    round(units_b * pair.unit_margin, 6),
                    round(units_a * pair.unit_margin, 6),
                )
        return [
            replace(c, effects=tuple(self._pending[cast(_Pending, e)] for e in c.effects))  # type: ignore[misc]
            for c in found
        ]


def _short_many(
    pairs: Sequence[Pair],
    starts: Sequence[float] | None,
    inbounds: Sequence[FloatArray] | None,
) -> list[tuple[float, int, FloatArray, FloatArray]]:
    """Per pair (at `starts` on hand and `inbounds`, else its own): units and days short within
    its window, its daily lost units and stock; one projection for them all."""
    if not pairs:
        return []
    leaving = any(p.outflow is not None for p in pairs)
    run = project(
        [p.on_hand for p in pairs] if starts is None else starts,
        np.vstack([p.demand for p in pairs]),
        np.vstack([p.inbound for p in pairs] if inbounds is None else inbounds),
        [p.unit_margin for p in pairs],
        now=_EPOCH,
        outflow=np.vstack(
            [p.outflow if p.outflow is not None else np.zeros_like(p.demand) for p in pairs]
        )
        if leaving
        else None,
    )
    out = []
    for index, pair in enumerate(pairs):
        lost = run.lost[index][: pair.window]
        out.append(
            (
                float(lost.sum()),
                int((lost > SHORT_UNITS).sum()),
                run.lost[index],
                run.stock[index],
            )
        )
    return out


def _day(value: float) -> int:
    return math.floor(value + 1e-9)


@dataclass(frozen=True)
class MoveSettings:
    """What a playbook allows: the kinds and, per kind, the modes; days before a replenishment
    leaves its origin and a transfer its warehouse; the origins a replenishment may come from (None: those of the inbound
    freight of the SKU, else every origin)."""

    kinds: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_MODES))
    ready_days: float = READY_DAYS
    transfer_ready_days: float = TRANSFER_READY_DAYS
    origins: tuple[str, ...] | None = None


def candidates(
    network: Network,
    pairs: Mapping[tuple[str, str], Pair],
    short: Sequence[tuple[str, str]],
    inbound: Sequence[Inbound],
    *,
    now_day: float,
    settings: MoveSettings | None = None,
    risk_days: Mapping[str, float] | None = None,
) -> list[Candidate]:
    """Every move that puts stock into a `short` pair before its lead time has passed, valued
    against the current projection. `now_day`: the time of day now, in days (0.5 at noon)."""
    settings = settings or MoveSettings()
    book = _Book(pairs)
    nodes = network.node_by_id
    found: list[Candidate] = []
    shortage: dict[tuple[str, str], float] = {}
    for key in short:
        if key in pairs and book.base(key)[0] > SHORT_UNITS:
            shortage[key] = book.base(key)[0]
    if not shortage:
        return []
    kinds = settings.kinds
    market = _markets(network)
    by_sku: dict[str, list[Inbound]] = defaultdict(list)
    for shipment in inbound:
        for sku, _ in shipment.lines:
            by_sku[sku].append(shipment)
    way_memo: dict[tuple[str, str, str], list[Way]] = {}
    router = Router(network, risk_days)

    def menu(start: str, end: str, modes: tuple[str, ...]) -> list[Way]:
        key = (start, end, ",".join(modes))
        if key not in way_memo:
            way_memo[key] = ways(router, start, end, modes)
        return way_memo[key]

    for (warehouse, sku), _ in sorted(shortage.items()):
        pair = pairs[(warehouse, sku)]
        _, _, lost, _ = book.base((warehouse, sku))
        sisters = [w for w in market.get(_country(nodes, warehouse), ()) if w != warehouse]

        def needed(arrival: int, pair: Pair = pair, lost: FloatArray = lost) -> float:
            """Units that, landing on `arrival`, cover every sale lost from then in the window."""
            return float(math.ceil(lost[max(arrival, 0) : pair.window].sum() - 1e-9))

        if "transfer" in kinds:
            for source in sisters:
                if (source, sku) not in pairs:
                    continue
                spare = _spare(book, pairs[(source, sku)])
                leaves = now_day + settings.transfer_ready_days
                for way in menu(source, warehouse, kinds["transfer"]):
                    arrival = _day(leaves + way.days)
                    units = min(needed(arrival), spare)
                    if units <= 0:
                        continue
                    found.append(_transfer(book, pair, source, way, leaves, arrival, units))
        if "replenish" in kinds:
            origins = (
                settings.origins
                or tuple(sorted({s.origin for s in by_sku.get(sku, ())}))
                or tuple(sorted(n.id for n in network.nodes if n.kind.value == "origin"))
            )
            start = now_day + settings.ready_days
            for origin in origins:
                for way in menu(origin, warehouse, kinds["replenish"]):
                    arrival = _day(start + way.days)
                    units = needed(arrival)
                    if units <= 0:
                        continue
                    effect = book.effect((warehouse, sku), 0.0, [(arrival, units)])
                    cbm = units * pair.cbm_per_unit
                    found.append(
                        Candidate(
                            kind="replenish",
                            warehouse=warehouse,
                            lines=((sku, units),),
                            cbm=round(cbm, 6),
                            source=origin,
                            start_day=start,
                            way=way,
                            arrival_day=arrival,
                            cost=round(cbm * way.cost_per_cbm, 6),
                            effects=(effect,),
                        )
                    )
    short_skus: dict[str, set[str]] = defaultdict(set)
    for warehouse, sku in shortage:
        short_skus[warehouse].add(sku)
    for shipment in inbound:
        if "split" in kinds and shipment.destination in short_skus and not shipment.departed:
            found += _splits(book, shipment, short_skus[shipment.destination], menu, kinds)
        if "redirect" in kinds:
            for warehouse, skus in sorted(short_skus.items()):
                if warehouse == shipment.destination or not skus & {s for s, _ in shipment.lines}:
                    continue
                if _country(nodes, warehouse) != _country(nodes, shipment.destination):
                    continue
                found += _redirects(book, shipment, warehouse, menu, kinds["redirect"])
    return book.resolve(found)


def _country(nodes: Mapping[str, object], node: str) -> str | None:
    return getattr(nodes.get(node), "country", None)


def _markets(network: Network) -> dict[str | None, list[str]]:
    """Warehouses by country: a market is the warehouses of one country."""
    out: dict[str | None, list[str]] = defaultdict(list)
    for node in network.nodes:
        if node.kind.value == "warehouse":
            out[node.country].append(node.id)
    return {k: sorted(v) for k, v in out.items()}


def _spare(book: _Book, source: Pair) -> float:
    """Whole units a warehouse can give today without a sale lost within its own lead time
    and keeping its safety units: its least projected stock over that window, less them."""
    units, _, _, stock = book.base((source.warehouse, source.sku))
    if units > SHORT_UNITS:
        return 0.0
    window = max(source.window, 1)
    lowest = min(source.on_hand, float(stock[:window].min()))
    return float(max(0.0, math.floor(lowest - source.safety_units + 1e-9)))


def _transfer(
    book: _Book, pair: Pair, source: str, way: Way, leaves: float, arrival: int, units: float
) -> Candidate:
    gained = book.effect((pair.warehouse, pair.sku), 0.0, [(arrival, units)])
    given = book.effect((source, pair.sku), -units, [])
    cbm = units * pair.cbm_per_unit
    return Candidate(
        kind="transfer",
        warehouse=pair.warehouse,
        lines=((pair.sku, units),),
        cbm=round(cbm, 6),
        source=source,
        start_day=leaves,
        way=way,
        arrival_day=arrival,
        cost=round(cbm * way.cost_per_cbm, 6),
        effects=(gained, given),
        drawn_from=(source, pair.sku),
    )


def _lines_cbm(book: _Book, warehouse: str, lines: Sequence[tuple[str, float]]) -> float:
    sizes = {sku: p.cbm_per_unit for (_, sku), p in book.pairs.items()}
    return sum(units * sizes.get(sku, 0.0) for sku, units in lines)


def _splits(
    book: _Book,
    shipment: Inbound,
    short: set[str],
    menu: Menu,
    kinds: Mapping[str, tuple[str, ...]],
) -> list[Candidate]:
    """The shipment's urgent lines of SKUs short at its destination, by each allowed way from
    its origin, leaving when it is ready; the rest stays on its route."""
    lines = tuple((sku, u) for sku, u in shipment.lines if sku in short and sku in shipment.urgent)
    if not lines:
        return []
    cbm = _lines_cbm(book, shipment.destination, lines)
    out = []
    for way in menu(shipment.origin, shipment.destination, kinds["split"]):
        arrival = _day(shipment.ready_day + way.days)
        if arrival >= shipment.arrival_day:
            continue
        effects = tuple(
            book.effect(
                (shipment.destination, sku), 0.0, [(shipment.arrival_day, -u), (arrival, u)]
            )
            for sku, u in lines
            if (shipment.destination, sku) in book.pairs
        )
        out.append(
            Candidate(
                kind="split",
                warehouse=shipment.destination,
                lines=lines,
                cbm=round(cbm, 6),
                source=shipment.origin,
                start_day=shipment.ready_day,
                way=way,
                arrival_day=arrival,
                # The split lines leave the old route (its cost per cbm saved) for the new way.
                cost=round(cbm * (way.cost_per_cbm - shipment.cost_per_cbm), 6),
                effects=effects,
                shipment=shipment.shipment,
            )
        )
    return out


def _redirects(
    book: _Book,
    shipment: Inbound,
    warehouse: str,
    menu: Menu,
    modes: tuple[str, ...],
) -> list[Candidate]:
    """The whole shipment sent to `warehouse` from each point still ahead on its route (the
    fastest allowed way on from there), its old destination losing it."""
    out = []
    for point in shipment.points:
        for way in menu(point.node, warehouse, modes):
            arrival = _day(point.day + way.days)
            effects = []
            for sku, units in shipment.lines:
                if (warehouse, sku) in book.pairs:
                    effects.append(book.effect((warehouse, sku), 0.0, [(arrival, units)]))
                if (shipment.destination, sku) in book.pairs:
                    effects.append(
                        book.effect(
                            (shipment.destination, sku), 0.0, [(shipment.arrival_day, -units)]
                        )
                    )
            per_cbm = way.cost_per_cbm + point.fee_per_cbm - point.cost_left_per_cbm
            out.append(
                Candidate(
                    kind="redirect",
                    warehouse=warehouse,
                    lines=shipment.lines,
                    cbm=shipment.cbm,
                    source=point.node,
                    start_day=point.day,
                    way=way,
                    arrival_day=arrival,
                    cost=round(shipment.cbm * per_cbm, 6),
                    effects=tuple(effects),
                    shipment=shipment.shipment,
                    point=point,
                    old_destination=shipment.destination,
                )
            )
    return out


# --- the choice ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """The moves chosen (most net saving first), how many were weighed, and the solver's word."""

    chosen: tuple[Candidate, ...]
    considered: int
    status: str
    net: float


def choose(
    found: Sequence[Candidate], *, max_cost: float | None = None, min_net: float = 0.0
) -> Choice:
    """The set of moves that saves the most margin net of cost: a binary choice per move, at
    most one move filling each warehouse x SKU, each shipment moved once, no more units drawn
    from a source than it can spare (and no source both giving and losing inbound), total cost
    within `max_cost`. Moves netting `min_net` or less, or saving no sale where they deliver,
    are not weighed; doing nothing nets 0.

    >>> choose([]).chosen
    ()
    """
    # A move must put sales back on the short shelf: a redirect that only saves transport
    # (freight sent where it is cheaper to deliver, no sale saved) is no answer to a stock-out.
    weighed = [c for c in found if c.net > min_net + 1e-9 and c.fills_margin > 1e-9]
    if not weighed:
        return Choice((), len(found), "nothing worth doing", 0.0)
    count = len(weighed)
    rows: list[np.ndarray] = []
    upper: list[float] = []

    def at_most(members: Sequence[int], weights: Sequence[float], bound: float) -> None:
        row = np.zeros(count)
        for index, weight in zip(members, weights):
            row[index] += weight
        rows.append(row)
        upper.append(bound)

    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for index, move in enumerate(weighed):
        for warehouse, sku in move.fills:
            groups[("fill", warehouse, sku)].append(index)
        if move.shipment is not None:
            groups[("shipment", move.shipment)].append(index)
        # A pair that gives units (transfer) or loses inbound (redirect) does so once: each
        # move was valued against the pair as it is.
        if move.drawn_from is not None:
            groups[("drawn", *move.drawn_from)].append(index)
        if move.old_destination is not None:
            for sku, _ in move.lines:
                groups[("drawn", move.old_destination, sku)].append(index)
    for members in groups.values():
        unique = sorted(set(members))
        if len(unique) > 1:
            at_most(unique, [1.0] * len(unique), 1.0)
    if max_cost is not None:
        at_most(range(count), [m.cost for m in weighed], max_cost)
    net = np.array([m.net for m in weighed])
    constraints = [LinearConstraint(np.vstack(rows), -np.inf, np.array(upper))] if rows else []
    result = milp(
        c=-net,
        integrality=np.ones(count),
        bounds=Bounds(0, 1),
        constraints=constraints,
    )
    if result.status != 0 or result.x is None:
        return Choice((), len(found), f"solver: {result.message}", 0.0)
    picked = [weighed[i] for i in range(count) if result.x[i] > 0.5]
    picked.sort(key=lambda m: (-m.net, m.kind, m.warehouse))
    return Choice(tuple(picked), len(found), "optimal", round(sum(m.net for m in picked), 6))


def consolidate(chosen: Sequence[Candidate]) -> tuple[Candidate, ...]:
    """The chosen moves as they are booked: the transfers (or the replenishments) from one
    source into one warehouse by the same way, leaving the same day, become one shipment
    carrying each SKU's line (one truck, one order); their cost, saving and effects add up
    (the lanes price per cbm, so the cost is the same). Other moves are booked as chosen.

    >>> consolidate([]) == ()
    True
    """
    groups: dict[tuple[object, ...], list[Candidate]] = defaultdict(list)
    order: list[tuple[object, ...]] = []
    for move in chosen:
        key: tuple[object, ...] = (id(move),)
        if move.kind in ("transfer", "replenish"):
            key = (move.kind, move.source, move.warehouse, move.way.lanes, move.start_day)
        if key not in groups:
            order.append(key)
        groups[key].append(move)
    out = []
    for key in order:
        first, *rest = groups[key]
        if not rest:
            out.append(first)
            continue
        together = [first, *rest]
        out.append(
            replace(
                first,
                lines=tuple(line for m in together for line in m.lines),
                cbm=round(sum(m.cbm for m in together), 6),
                cost=round(sum(m.cost for m in together), 6),
                arrival_day=max(m.arrival_day for m in together),
                effects=tuple(e for m in together for e in m.effects),
                drawn_from=None,
            )
        )
    return tuple(out)
