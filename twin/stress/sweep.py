"""Network stress test: close each element (node, lane, chokepoint, or a set of them) for a
span of days, re-plan the freight it carried, and rank the elements by what the closure costs.

L1 pure core: `now` comes with the request; no clock, file or database (a caller may pass
its clock for timings). One persistent solver model serves the whole sweep
(`twin.optimise.solve.Persistent`): each scenario changes column bounds and closes arcs in
pricing, then re-solves warm — never a rebuild per element.

Closing element e over days [start, start + days) of the plan's day grid closes every
(lane, departure day) arc in that span of: the lane e; every lane leaving, entering or passing
through (`via`) the node or chokepoint e. Freight whose plan of record (the baseline plan)
takes a closed arc is re-planned from its position; all other freight keeps its routes and
the capacity they hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from itertools import combinations
from typing import Any, Protocol

import numpy as np

from twin.domain.plans import PlanStatus
from twin.domain.records import Network, NodeKind
from twin.network.graph import NetworkView
from twin.optimise import PlanRequest, SolveOptions, build
from twin.optimise.request import Clock
from twin.optimise.solve import Persistent, SolveResult

KINDS = ("node", "lane", "chokepoint")


@dataclass(frozen=True)
class Closure:
    """Elements closed together (one element, or a pair) over days [start_day, start_day+days)."""

    elements: tuple[str, ...]
    start_day: int = 0
    days: int = 14

    @property
    def label(self) -> str:
        return "+".join(self.elements)


@dataclass
class Impact:
    """What one closure costs, against the baseline plan.

    added_cost: plan cost with the closure minus without (money; the unserved penalty counts).
    unserved_units / late_units: units unserved / arriving after their due day, added.
    margin_lost, time_to_survive_days: filled by a StockModel when stock data is given (days
        until the first stock-out; distinct from a replay's time to recover), else None.
    """

    label: str
    kind: str
    elements: tuple[str, ...]
    affected_shipments: int
    affected_units: float
    added_cost: float
    unserved_units: float
    late_units: float
    status: str
    gap: float | None = None
    margin_lost: float | None = None
    time_to_survive_days: float | None = None
    rank: int = 0


class StockModel(Protocol):
    """The hook for stock data: given how a closure changes each shipment's arrival (days
    later; None when unserved), the margin lost and the days until the first stock-out."""

    def assess(self, delays: dict[str, float | None]) -> tuple[float, float | None]: ...


@dataclass
class StressReport:
    baseline_objective: float | None
    baseline_status: str
    shipments: int
    impacts: list[Impact]
    timing: dict[str, float] = field(default_factory=dict)

    def to_document(self) -> dict[str, Any]:
        return {
            "baseline": {
                "objective": self.baseline_objective,
                "status": self.baseline_status,
                "shipments": self.shipments,
            },
            "elements": [
                {
                    k: None if isinstance(v, float) and not np.isfinite(v) else v
                    for k, v in (asdict(i) | {"elements": list(i.elements)}).items()
                }
                for i in self.impacts
            ],
            "timing": dict(self.timing),
        }


def elements_of(network: Network, kinds: Iterable[str] = KINDS) -> list[tuple[str, str]]:
    """(id, kind) of every node (chokepoints apart), lane and chokepoint, in network order."""
    wanted = set(kinds)
    unknown = wanted - set(KINDS)
    if unknown:
        raise ValueError(f"unknown element kind {min(unknown)!r}; use {', '.join(KINDS)}")
    out: list[tuple[str, str]] = []
    for node in network.nodes:
        kind = "chokepoint" if node.kind is NodeKind.chokepoint else "node"
        if kind in wanted:
            out.append((node.id, kind))
    if "lane" in wanted:
        out += [(lane.id, "lane") for lane in network.lanes]
    return out


def kind_of(network: Network, element: str) -> str:
    if element in network.lane_by_id:
        return "lane"
    node = network.node_by_id.get(element)
    if node is None:
        raise ValueError(f"{element!r} is not a node, lane or chokepoint of the network")
    return "chokepoint" if node.kind is NodeKind.chokepoint else "node"


def closures(
    elements: Sequence[str], start_day: int = 0, days: int = 14, pairs: bool = False
) -> list[Closure]:
    """One closure per element, or one per pair of elements when `pairs`."""
    if days < 1 or start_day < 0:
        raise ValueError("a closure needs start_day >= 0 and days >= 1")
    if pairs:
        return [Closure((a, b), start_day, days) for a, b in combinations(elements, 2)]
    return [Closure((e,), start_day, days) for e in elements]


class Sweeper:
    """The baseline plan of a request on one live model, and closures re-solved on it."""

    def __init__(
        self,
        view: NetworkView,
        request: PlanRequest,
        options: SolveOptions | None = None,
        clock: Clock | None = None,
        stock: StockModel | None = None,
    ):
        self.view, self.request, self.stock = view, request, stock
        self.model = build(view, request)
        self.persistent = Persistent(self.model, options, clock)
        self.baseline = self.persistent.baseline
        inst = self.model.instance
        self._lanes_of: dict[str, list[int]] = {}
        for i, lane_id in enumerate(inst.lane_ids):
            lane = view.network.lane_by_id[lane_id]
            for member in {lane.id, lane.from_, lane.to, *lane.via}:
                self._lanes_of.setdefault(member, []).append(i)
        self._base = _outcomes(self.model, self.baseline)

    def closed_arcs(self, closure: Closure) -> np.ndarray:
        inst = self.model.instance
        closed = np.zeros((len(inst.lane_ids), inst.horizon + 1), dtype=bool)
        first = min(closure.start_day, inst.horizon + 1)
        last = min(closure.start_day + closure.days, inst.horizon + 1)
        for element in closure.elements:
            lanes = self._lanes_of.get(element, [])
            if lanes:
                closed[np.array(lanes), first:last] = True
        return closed

    def impact(self, closure: Closure) -> Impact:
        network = self.view.network
        kinds = {kind_of(network, e) for e in closure.elements}
        result, hit = self.persistent.resolve(self.closed_arcs(closure))
        inst = self.model.instance
        shipments = [s for c in inst.commodities if hit[c.index] for s in c.shipments]
        units = float(sum(c.units for c in inst.commodities if hit[c.index]))
        base_obj = self.baseline.objective or 0.0
        if result.objective is None:
            return Impact(
                closure.label, "+".join(sorted(kinds)), closure.elements, len(shipments), units,
                float("nan"), float("nan"), float("nan"), result.status.value,
            )  # fmt: skip
        now = _outcomes(self.model, result)
        impact = Impact(
            label=closure.label,
            kind="+".join(sorted(kinds)),
            elements=closure.elements,
            affected_shipments=len(shipments),
            affected_units=units,
            added_cost=result.objective - base_obj,
            unserved_units=now.unserved - self._base.unserved,
            late_units=now.late - self._base.late,
            status=result.status.value,
            gap=result.gap,
        )
        if self.stock is not None:
            delays = {
                s: now.arrival.get(s) - self._base.arrival[s]  # type: ignore[operator]
                if now.arrival.get(s) is not None and s in self._base.arrival
                else None
                for s in shipments
            }
            impact.margin_lost, impact.time_to_survive_days = self.stock.assess(delays)
        return impact


@dataclass
class _Outcome:
    unserved: float
    late: float
    arrival: dict[str, float]  # commodity's last arrival day, per member shipment


def _outcomes(model: Any, result: SolveResult) -> _Outcome:
    inst, pool = model.instance, model.pool
    unserved = late = 0.0
    arrival: dict[str, float] = {}
    if result.flow is None or result.unserved is None:
        return _Outcome(0.0, 0.0, {})
    units = np.array([c.units for c in inst.commodities])
    unserved = float(np.dot(units, result.unserved))
    last: dict[int, int] = {}
    for p, share in enumerate(result.flow.tolist()):
        if share <= 1e-9:
            continue
        col = pool.columns[p]
        if col.late_days > 0:
            late += share * units[col.commodity]
        last[col.commodity] = max(last.get(col.commodity, -1), col.arrival)
    for c in inst.commodities:
        if c.index in last:
            arrival.update(dict.fromkeys(c.shipments, float(last[c.index])))
    return _Outcome(unserved, late, arrival)


def rank(impacts: list[Impact]) -> list[Impact]:
    """Most damaging first: added cost, then unserved units, then late units, then label."""

    def key(i: Impact) -> tuple[float, float, float, str]:
        def neg(x: float) -> float:
            return -round(x, 6) if np.isfinite(x) else -np.inf

        return (neg(i.added_cost), neg(i.unserved_units), neg(i.late_units), i.label)

    out = sorted(impacts, key=key)
    for n, i in enumerate(out, start=1):
        i.rank = n
    return out


def _sweep_chunk(
    view: NetworkView,
    request: PlanRequest,
    options: SolveOptions | None,
    chunk: list[Closure],
) -> list[Impact]:
    sweeper = Sweeper(view, request, options)
    return [sweeper.impact(c) for c in chunk]


def sweep(
    view: NetworkView,
    request: PlanRequest,
    scenarios: Sequence[Closure],
    options: SolveOptions | None = None,
    clock: Clock | None = None,
    client: Any = None,
    stock: StockModel | None = None,
) -> StressReport:
    """Every closure's impact, ranked; on one live model, or fanned out over `client`.

    client: an existing dask.distributed Client (duck-typed: `map`, `gather`,
        `scheduler_info`); the closures are split into one chunk per worker and each worker
        keeps one live model for its chunk.
    """
    network = view.network
    for closure in scenarios:
        for element in closure.elements:
            kind_of(network, element)
    tick = clock or (lambda: 0.0)
    t0 = tick()
    sweeper = Sweeper(view, request, options, clock, stock)
    t1 = tick()
    if client is None:
        impacts = [sweeper.impact(c) for c in scenarios]
    else:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        chunks = [list(scenarios[i::workers]) for i in range(workers)]
        futures = client.map(
            _sweep_chunk,
            [view] * workers,
            [request] * workers,
            [options] * workers,
            chunks,
            pure=False,
        )
        impacts = [i for part in client.gather(futures) for i in part]
    t2 = tick()
    base = sweeper.baseline
    timing = {"baseline_s": t1 - t0, "sweep_s": t2 - t1, "scenarios": float(len(scenarios))}
    return StressReport(
        baseline_objective=base.objective,
        baseline_status=base.status.value,
        shipments=len(request.shipments),
        impacts=rank(impacts),
        timing=timing if clock else {"scenarios": float(len(scenarios))},
    )


def applicable(report: StressReport) -> bool:
    """Whether the baseline is a proven optimum (otherwise added costs are against a plan
    that is not)."""
    return report.baseline_status == PlanStatus.optimal.value
