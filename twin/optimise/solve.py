"""Solve a built plan model with HiGHS: column generation on the LP, then, when the LP leaves
an unsplittable shipment split, branch-and-price — returning a typed result, never a bare number.

The master problem is handed to one persistent highspy instance straight from the column pool's
arrays; each pricing round appends its columns and rows and re-solves warm from the last basis.

Exactness (`optimal` means proven, within `mip_rel_gap`):

1. Column generation proves the LP optimum over every route: a lower bound LB.
2. An incumbent: the MIP over the generated routes, then the splittable shipments re-optimised
   by column generation with the integer choices fixed — a real plan, value UB.
3. Every unsplittable route whose reduced cost at the LP duals is at most UB - LB is listed:
   a route with a larger reduced cost cannot be in a plan better than UB (its shipment takes
   it in full, so the plan costs at least LB + that reduced cost). The integer choices are
   then over a complete, finite set.
4. Branch-and-price over those choices (best bound first): each node fixes route choices by
   bounds and prices the splittable shipments by column generation, so each node's bound is
   exact over all their routes. A splittable route is never excluded, so pricing needs no
   branching rules. The tree closes -> `optimal`; a limit -> `feasible` with the proven bound.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import highspy
import numpy as np

from twin.domain.plans import PlanStatus
from twin.optimise.build import PlanModel
from twin.optimise.columns import Column, price_within, routes_within
from twin.optimise.request import Clock, SolveOptions

_INF = highspy.kHighsInf
# Share of the time budget column generation leaves for the MIP and branch-and-price.
INTEGER_SHARE = 0.2
# A master of at least this many columns that a pricing round more than doubles is re-solved
# from scratch (see _Master.add_columns): the congested L plan's first round (10,000 columns).
COLD_COLUMNS = 5_000
# LP re-solves of the dive to whole route choices before the rest is left unserved.
DIVE_STEPS = 50
# Share of the time budget kept for extracting the plan after the solve (XL: 4.9 s of 198).
EXTRACT_SHARE = 0.05
_OK = highspy.HighsModelStatus.kOptimal
# HiGHS simplex strategies. After pricing adds columns the last basis is still primal
# feasible, so primal simplex goes on from it; dual simplex (HiGHS's default) suits a
# basis that bound changes left dual feasible (branching, a stress scenario) and the MIP.
# Measured on the daemon's L re-plans: 2-4x fewer LP seconds per pricing round (docs/daemon.md).
_DUAL, _PRIMAL = 1, 4


@dataclass
class SolveResult:
    """What a solve produced: status, objective, proof and where the time went.

    objective: the plan's total cost (None when there is no usable solution).
    lp_bound: the LP optimum over all routes when column generation converged, else None.
    lower_bound: the best proven lower bound on any plan (the LP bound, the branch-and-price
        tree's, or, when column generation stopped before the LP optimum, the Lagrangian bound
        of its best whole pricing pass); equal to the objective, within `mip_rel_gap`, when
        the status is optimal. None when no pricing pass was whole.
    highs_s: HiGHS's own run time summed over every LP and MIP run (highspy getRunTime).
    solve_s: wall time of the whole solve by the caller's clock (0 when none was given).
    nodes: branch-and-price nodes solved (0 when the LP optimum was integral).
    flow: share of each pool column's commodity on it; unserved: share of each commodity.
    """

    status: PlanStatus
    objective: float | None
    lp_bound: float | None
    highs_s: float
    solve_s: float
    rounds: int
    columns: int
    rows: int
    mip: bool
    message: str = ""
    flow: np.ndarray | None = None
    unserved: np.ndarray | None = None
    parts_s: dict[str, float] = field(default_factory=dict)
    lower_bound: float | None = None
    nodes: int = 0

    @property
    def gap(self) -> float | None:
        """Proven absolute gap: objective - lower bound (None without both)."""
        if self.objective is None or self.lower_bound is None:
            return None
        return max(0.0, self.objective - self.lower_bound)


class _Master:
    """The persistent HiGHS master problem and the maps from pool rows/columns to its indices.

    Column order: the unserved share of every commodity, then the pool's routes in pool order;
    row order: demand rows, then capacity rows as routes first use them (lane and node rows
    interleaved; `lane_row` / `node_row` map pool rows to HiGHS rows).
    """

    def __init__(self, plan_model: PlanModel, options: SolveOptions):
        self.pm = plan_model
        self.options = options
        inst = plan_model.instance
        n_com = len(inst.commodities)
        # highspy.Highs's constructor enables its Python callbacks, and that prints HiGHS's
        # banner to file descriptor 1 before output_flag can be set, corrupting `--json`
        # output; the exported base class has the same solver methods without that.
        h = highspy._Highs()  # type: ignore[attr-defined]
        h.setOptionValue("output_flag", bool(options.log))
        h.setOptionValue("presolve_rule_off", int(options.presolve_rule_off))
        h.setOptionValue("mip_rel_gap", float(options.mip_rel_gap))
        if options.threads is not None:
            h.setOptionValue("threads", int(options.threads))
        self.h = h
        self.strategy = _DUAL  # for the next run: see _PRIMAL
        ones = np.ones(n_com)
        h.addRows(n_com, ones, ones, 0, np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
        # Per HiGHS row its upper bound, per HiGHS column its capacity rows (for the dive).
        self.row_upper: list[float] = [1.0] * n_com
        self.rows_of: list[list[int]] = [[] for _ in range(n_com)]
        penalty = inst.request.unserved_penalty_per_unit
        h.addCols(
            n_com,
            np.array([c.units * penalty for c in inst.commodities], dtype=float),
            np.zeros(n_com),
            np.full(n_com, _INF),
            n_com,
            np.arange(n_com, dtype=np.int32),
            np.arange(n_com, dtype=np.int32),
            ones,
        )
        self.unserved_col = list(range(n_com))
        # Per HiGHS column: its cost and its commodity (for a plan built without a solve).
        self.cost = [c.units * penalty for c in inst.commodities]
        self.commodity_of = list(range(n_com))
        self.integer_cols = [c.index for c in inst.commodities if not c.split]
        self.flow_col: list[int] = []
        self.lane_row: list[int] = []
        self.node_row: list[int] = []
        self.highs_s = 0.0
        # Bounds every column returns to between branch-and-price nodes (a stress scenario
        # fixes some columns here; see Persistent).
        self.lower = np.zeros(n_com)
        self.upper = np.full(n_com, _INF)
        self._append(list(range(len(plan_model.pool.columns))))

    def run(self, time_left: float) -> highspy.HighsModelStatus:
        # HiGHS checks time_limit against its run clock summed over every run of this model,
        # so the limit is that clock now plus what is left (not what is left alone, which
        # stopped late runs at once: measured on the daemon's HORMUZ re-plan).
        before = self.h.getRunTime()
        self.h.setOptionValue("time_limit", before + max(0.001, time_left))
        self.h.setOptionValue("simplex_strategy", self.strategy)
        self.h.run()
        self.highs_s += self.h.getRunTime() - before
        return self.h.getModelStatus()

    def add_columns(self, columns: list[Column]) -> None:
        """Append columns (and any rows they are the first to use) to the live HiGHS model."""
        before = self.h.getNumCol()
        added = [p for p in (self.pm.pool.add(c) for c in columns) if p is not None]
        self._append(added)
        if added:
            self.strategy = _PRIMAL
        if len(added) > before >= COLD_COLUMNS:
            # A big master more than doubled (the first round of a big plan): from scratch,
            # presolved, by dual simplex. Primal simplex from the last basis took over 46 s
            # on the XL master that bare highspy solves cold in 6.3 s. Small masters keep
            # the warm start (on them it is quick, and it keeps the LP's vertex).
            self.h.clearSolver()
            self.strategy = _DUAL

    def _append(self, pool_columns: list[int]) -> None:
        if not pool_columns:
            return
        inst, pool, h = self.pm.instance, self.pm.pool, self.h
        self._add_new_rows()
        starts: list[int] = []
        index: list[int] = []
        value: list[float] = []
        cost: list[float] = []
        first = h.getNumCol()
        for i, p in enumerate(pool_columns):
            column = pool.columns[p]
            commodity = inst.commodities[column.commodity]
            starts.append(len(index))
            rows = [column.commodity]
            rows += [self.lane_row[r] for r in pool.col_lane_rows[p]]
            rows += [self.node_row[r] for r in pool.col_node_rows[p]]
            index += rows
            self.rows_of.append(rows[1:])
            value += [1.0] + [commodity.units] * (len(rows) - 1)
            cost.append(commodity.units * column.cost_pu)
            self.flow_col.append(first + i)
            self.commodity_of.append(column.commodity)
            if not commodity.split:
                self.integer_cols.append(first + i)
        n = len(starts)
        self.cost += cost
        self.lower = np.concatenate([self.lower, np.zeros(n)])
        self.upper = np.concatenate([self.upper, np.full(n, _INF)])
        h.addCols(
            n,
            np.array(cost, dtype=float),
            np.zeros(n),
            np.full(n, _INF),
            len(index),
            np.array(starts, dtype=np.int32),
            np.array(index, dtype=np.int32),
            np.array(value, dtype=float),
        )

    def _add_new_rows(self) -> None:
        inst, pool, h = self.pm.instance, self.pm.pool, self.h
        lane_keys = list(pool.lane_rows)[len(self.lane_row) :]
        node_keys = list(pool.node_rows)[len(self.node_row) :]
        if not lane_keys and not node_keys:
            return
        upper = [inst.lane_residual(*k) for k in lane_keys] + [
            inst.node_residual(*k) for k in node_keys
        ]
        first = h.getNumRow()
        n = len(upper)
        self.row_upper += upper
        h.addRows(
            n,
            np.full(n, -_INF),
            np.array(upper, dtype=float),
            0,
            np.zeros(0, dtype=np.int32),
            np.zeros(0, dtype=np.int32),
            np.zeros(0),
        )
        self.lane_row += list(range(first, first + len(lane_keys)))
        self.node_row += list(range(first + len(lane_keys), first + n))

    def duals(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        row_dual = np.asarray(self.h.getSolution().row_dual)
        n_com = len(self.pm.instance.commodities)
        return (
            row_dual[:n_com],
            row_dual[np.array(self.lane_row, dtype=np.int64)],
            row_dual[np.array(self.node_row, dtype=np.int64)],
        )

    def objective(self) -> float:
        return float(self.h.getInfo().objective_function_value)

    def values(self) -> np.ndarray:
        return np.asarray(self.h.getSolution().col_value, dtype=float)

    def integer_index(self) -> np.ndarray:
        return np.array(sorted(set(self.integer_cols)), dtype=np.int32)

    def set_integrality(self, integer: bool) -> None:
        idx = self.integer_index()
        kind = highspy.HighsVarType.kInteger if integer else highspy.HighsVarType.kContinuous
        self.h.changeColsIntegrality(len(idx), idx, np.full(len(idx), kind))
        self.strategy = _DUAL

    def set_base_bounds(self, lower: np.ndarray, upper: np.ndarray) -> None:
        """Bounds of every column outside branching (e.g. a scenario's fixed freight)."""
        self.lower, self.upper = lower.astype(float), upper.astype(float)
        idx = np.arange(len(lower), dtype=np.int32)
        self.h.changeColsBounds(len(idx), idx, self.lower, self.upper)
        self.strategy = _DUAL

    def bound_integer_columns(self, fixes: dict[int, float]) -> None:
        """Return every integer column to its base bounds except `fixes` (column -> value)."""
        idx = self.integer_index()
        lower, upper = self.lower[idx].copy(), self.upper[idx].copy()
        where = {int(j): i for i, j in enumerate(idx)}
        for col, v in fixes.items():
            lower[where[col]] = upper[where[col]] = v
        self.h.changeColsBounds(len(idx), idx, lower, upper)
        self.strategy = _DUAL


class _Budget:
    """The caller's time budget: by the caller's clock when given one, else by HiGHS's own run
    time (the pure core reads no clock; pricing time then goes uncounted). With the clock it
    runs from `started` (the caller's start of the whole plan, build included) and keeps
    EXTRACT_SHARE of the limit for turning the result into a plan."""

    def __init__(
        self, limit_s: float, clock: Clock | None, master: _Master, started: float | None = None
    ):
        self.clock, self.master = clock, master
        self.limit_s = limit_s * (1.0 - EXTRACT_SHARE) if clock else limit_s
        if clock:
            self.start = clock() if started is None else started
        else:
            self.start = master.highs_s

    def used(self) -> float:
        return self.clock() - self.start if self.clock else self.master.highs_s - self.start

    def left(self) -> float:
        return self.limit_s - self.used()


@dataclass
class _Incumbent:
    value: float
    values: np.ndarray


def solve(
    plan_model: PlanModel,
    options: SolveOptions | None = None,
    clock: Clock | None = None,
    started: float | None = None,
) -> SolveResult:
    """Solve a built model: column generation to the LP optimum, then branch-and-price if needed.

    Parameters
    ----------
    plan_model : PlanModel
        From `build`. Its column pool grows as pricing adds routes.
    options : SolveOptions, optional
        Time budget, MIP gap, node limit, HiGHS options; defaults are the measured ones.
    clock : callable, optional
        Seconds from some origin (e.g. `time.perf_counter`), passed in by the caller: the
        budget `options.time_limit_s` and the timings are measured by it. Without one the
        budget counts HiGHS's own run time only and no wall-clock timings are reported.
    started : float, optional
        When the caller's work on this plan began, by `clock` (e.g. before `build`): the
        budget then counts the build too, and leaves EXTRACT_SHARE of it for extraction, so
        build + solve + extract end within it. Default: the budget starts with the solve.

    Returns
    -------
    SolveResult
        `status` is PlanStatus.optimal only with a proof: the LP optimum over all routes is
        integral, or branch-and-price closed the gap to `mip_rel_gap`. A limit gives `feasible`
        (a plan, with `lower_bound` and `gap` proven) or `time_limit` (none); neither is
        ever applied.

    Notes
    -----
    The oracle tests compare it with a time-expanded arc MILP solved independently (scipy).
    """
    options = options or SolveOptions()
    tick = clock or (lambda: 0.0)
    start = tick()
    master = _Master(plan_model, options)
    parts = {"pass_s": tick() - start, "pricing_s": 0.0} if clock else {}
    pricer = _Pricer(master, options, parts, clock)
    return _solve_master(master, pricer, start, started)


def _solve_master(
    master: _Master, pricer: _Pricer, start: float, started: float | None = None
) -> SolveResult:
    """Column generation, then branch-and-price if needed, on a live master (see `solve`)."""
    options, clock, parts = pricer.options, pricer.clock, pricer.parts
    tick = clock or (lambda: 0.0)
    budget = _Budget(options.time_limit_s, clock, master, started)
    status, rounds, converged = pricer.generate(budget, only_split=False)
    if status != _OK or pricer.last_lp is None:
        return _failed(master, status, tick() - start, rounds, parts)
    lp = pricer.last_lp
    lp_bound = lp.value if converged else None
    message = "" if converged else "column generation stopped before proving the LP optimum"
    mip = bool(master.integer_cols) and _fractional(master, lp.values)
    nodes = 0
    if not mip:
        plan_status = PlanStatus.optimal if converged else PlanStatus.feasible
        incumbent = lp
        lower = lp_bound if lp_bound is not None else pricer.lagrangian
    else:
        outcome = _price_and_branch(master, pricer, lp, lp_bound, budget, options)
        if isinstance(outcome, highspy.HighsModelStatus):
            return _failed(master, outcome, tick() - start, rounds, parts)
        incumbent, lower, nodes, note = outcome
        if lower is None:
            lower = pricer.lagrangian
        proven = lower is not None and _closed(incumbent.value, lower, options)
        plan_status = PlanStatus.optimal if proven else PlanStatus.feasible
        message = message or note
    values = np.zeros(master.h.getNumCol())
    values[: len(incumbent.values)] = incumbent.values
    return SolveResult(
        status=plan_status,
        objective=incumbent.value,
        lp_bound=lp_bound,
        highs_s=master.highs_s,
        solve_s=tick() - start,
        rounds=rounds,
        columns=len(master.pm.pool.columns),
        rows=master.h.getNumRow(),
        mip=mip,
        message=message,
        flow=values[np.array(master.flow_col, dtype=np.int64)],
        unserved=values[np.array(master.unserved_col, dtype=np.int64)],
        parts_s=parts,
        lower_bound=lower,
        nodes=nodes,
    )


class Persistent:
    """One plan's live HiGHS model, re-solved under closures: a stress sweep changes bounds
    and re-solves warm instead of rebuilding the model for every scenario.

    `baseline` is the plan of all the request's freight. `resolve(closed)` closes a set of
    (lane, departure day) arcs: commodities whose baseline routes use a closed arc are
    re-planned (routes through closed arcs bounded to 0, pricing kept off them), every other
    commodity keeps its baseline routes and the capacity they hold (bounds fixed to the
    baseline). Each result is exact (same proof as `solve`) and its objective minus the
    baseline's is the cost the closure adds.
    """

    def __init__(
        self, plan_model: PlanModel, options: SolveOptions | None = None, clock: Clock | None = None
    ):
        self.model = plan_model
        self.options = options or SolveOptions()
        self.clock = clock
        tick = clock or (lambda: 0.0)
        start = tick()
        self.master = _Master(plan_model, self.options)
        self.pricer = _Pricer(self.master, self.options, {}, clock)
        self.baseline = _solve_master(self.master, self.pricer, start)
        self._base_values = self._full_values(self.baseline)

    def _full_values(self, result: SolveResult) -> np.ndarray:
        values = np.zeros(self.master.h.getNumCol())
        if result.flow is not None and result.unserved is not None:
            values[np.array(self.master.flow_col, dtype=np.int64)] = result.flow
            values[np.array(self.master.unserved_col, dtype=np.int64)] = result.unserved
        return values

    def _baseline_values(self) -> np.ndarray:
        """The baseline's value of every column of the live model (0 for routes added since)."""
        values = np.zeros(self.master.h.getNumCol())
        values[: len(self._base_values)] = self._base_values
        return values

    def arcs_used(self, closed: np.ndarray) -> np.ndarray:
        """Bool per pool column: whether its route takes a closed (lane, day) arc."""
        pool = self.model.pool
        return np.array(
            [any(closed[lane, day] for lane, day in col.legs) for col in pool.columns], dtype=bool
        )

    def affected(self, closed: np.ndarray) -> np.ndarray:
        """Bool per commodity: whether its baseline plan takes a closed arc."""
        n_com = len(self.model.instance.commodities)
        uses = self.arcs_used(closed)
        flow = self._baseline_values()[np.array(self.master.flow_col, dtype=np.int64)]
        hit = np.zeros(n_com, dtype=bool)
        commodity = np.array([c.commodity for c in self.model.pool.columns], dtype=np.int64)
        moving = uses[: len(flow)] & (flow > 1e-9)
        hit[commodity[: len(flow)][moving]] = True
        return hit

    def resolve(self, closed: np.ndarray) -> tuple[SolveResult, np.ndarray]:
        """(result with the closed arcs, bool per commodity: re-planned)."""
        master = self.master
        tick = self.clock or (lambda: 0.0)
        start = tick()
        hit = self.affected(closed)
        n_cols = master.h.getNumCol()
        values = self._baseline_values()
        commodity_of = np.zeros(n_cols, dtype=np.int64)
        commodity_of[master.unserved_col] = np.arange(len(master.unserved_col))
        commodity_of[master.flow_col] = [c.commodity for c in self.model.pool.columns]
        free = hit[commodity_of]
        lower = np.where(free, 0.0, values)
        upper = np.where(free, _INF, values)
        blocked = np.zeros(n_cols, dtype=bool)
        blocked[master.flow_col] = self.arcs_used(closed)
        upper[blocked] = 0.0
        lower[blocked] = 0.0
        master.set_base_bounds(lower, upper)
        self.pricer.allowed, self.pricer.closed = hit, closed
        try:
            result = _solve_master(master, self.pricer, start)
        finally:
            self.pricer.allowed = self.pricer.closed = None
        return result, hit


class _Pricer:
    """Column generation on the live master: re-solve, price, add, until nothing prices out."""

    def __init__(
        self, master: _Master, options: SolveOptions, parts: dict[str, float], clock: Clock | None
    ):
        self.master, self.options, self.parts, self.clock = master, options, parts, clock
        # A scenario's restriction: the commodities that may move, the arcs that are closed.
        self.allowed: np.ndarray | None = None
        self.closed: np.ndarray | None = None
        # The last LP optimum of `generate` (value, every column's value): the master's own
        # solution is gone when a later LP stops at the time limit.
        self.last_lp: _Incumbent | None = None
        # The best Lagrangian lower bound of the root's column generation (None before a
        # whole pricing pass): a proven bound on every plan even when the LP optimum is not.
        self.lagrangian: float | None = None

    def generate(
        self, budget: _Budget, only_split: bool
    ) -> tuple[highspy.HighsModelStatus, int, bool]:
        """(HiGHS status of the last LP, rounds, whether no route prices out)."""
        master, rounds = self.master, 0
        # Pricing looks at routes up to cap x the capacity-free cheapest first (cheap DPs);
        # a round that finds nothing under the cap widens it, and only a round with no cap
        # and no columns ends column generation (the LP optimum over every route).
        cap: float | None = self.options.pricing_cap
        # The root column generation stops with a share of the budget left for the
        # integer stage, so a run out of time still ends with a plan (`feasible`, no LP
        # bound); re-optimisation and tree nodes may use all of it.
        reserve = 0.0 if only_split else INTEGER_SHARE * budget.limit_s
        self.last_lp = None
        # The Lagrangian bound holds for the master as it stands at the root: every
        # commodity free, no route bounded (a scenario's fixed freight is not).
        bounded = only_split or self.allowed is not None
        if not only_split:
            self.lagrangian = None
        n_com = len(master.unserved_col)
        while True:
            if self.last_lp is None or only_split:
                status = master.run(budget.left())
            else:
                # A later LP of the root stops with the integer stage's share still left; the
                # LP before it (its routes a subset of these) then stands, as after pricing.
                status = master.run(budget.left() - reserve)
                if status == highspy.HighsModelStatus.kTimeLimit:
                    padded = np.zeros(master.h.getNumCol())
                    padded[: len(self.last_lp.values)] = self.last_lp.values
                    self.last_lp = _Incumbent(self.last_lp.value, padded)
                    return _OK, rounds, False
            if status != _OK:
                return status, rounds, False
            self.last_lp = _Incumbent(master.objective(), master.values())
            rounds += 1
            if rounds > self.options.max_rounds or budget.left() <= reserve:
                return status, rounds, False
            while True:
                t = self.clock() if self.clock else 0.0
                reduced = None if bounded else np.zeros(n_com)
                new, capped = price_within(
                    master.pm.pool,
                    *master.duals(),
                    self.options.reduced_cost_tol,
                    only_split,
                    self.allowed,
                    self.closed,
                    cap,
                    self.options.routes_per_round,
                    out_of_time=lambda: budget.left() <= reserve,
                    reduced=reduced,
                    enough=self.options.pricing_batch,
                )
                if self.clock:
                    self.parts["pricing_s"] = self.parts.get("pricing_s", 0.0) + self.clock() - t
                if reduced is not None:
                    # LP value + each commodity's least reduced cost (below 0) bounds every
                    # plan (Lagrangian relaxation of the capacity rows at these duals); -tol
                    # per commodity covers those not priced; -inf when the pass was cut short.
                    bound = master.objective() + float(np.minimum(reduced, 0.0).sum())
                    bound -= self.options.reduced_cost_tol * n_com
                    if np.isfinite(bound) and (self.lagrangian is None or bound > self.lagrangian):
                        self.lagrangian = bound
                if budget.left() <= reserve:
                    # Pricing used up the time (it stops part-way through a round): the last
                    # LP optimum stands (re-solving with these routes could hit the limit and
                    # leave no plan at all, as seen on XL).
                    return status, rounds, False
                if new or not capped:
                    break
                cap = cap * 4.0 if cap is not None and cap < 64.0 else None
            if not new:
                return status, rounds, True
            master.add_columns(new)


def _closed(upper: float, lower: float, options: SolveOptions) -> bool:
    return upper - lower <= max(options.mip_rel_gap * abs(upper), 1e-9)


def _price_and_branch(
    master: _Master,
    pricer: _Pricer,
    lp: _Incumbent,
    lp_bound: float | None,
    budget: _Budget,
    options: SolveOptions,
) -> tuple[_Incumbent, float | None, int, str] | highspy.HighsModelStatus:
    """Steps 2-4 of the module docstring: (incumbent, proven lower bound, nodes, note), or the
    HiGHS status when no plan was found at all."""
    root_duals = master.duals()
    incumbent = _incumbent(master, pricer, budget, lp.values)
    if isinstance(incumbent, highspy.HighsModelStatus):
        return incumbent
    if lp_bound is None:
        return incumbent, None, 0, ""
    if _closed(incumbent.value, lp_bound, options):
        return incumbent, lp_bound, 0, ""
    inst = master.pm.instance
    fixed = [
        c
        for c in inst.commodities
        if not c.split and (pricer.allowed is None or pricer.allowed[c.index])
    ]
    # Rows added since the root LP (by the incumbent's re-optimisation) had no route at the
    # root, so their dual there is 0 — what the root's proof of optimality assumed.
    demand_dual, lane_dual, node_dual = root_duals
    pool = master.pm.pool
    lane_dual = np.pad(lane_dual, (0, len(pool.lane_rows) - len(lane_dual)))
    node_dual = np.pad(node_dual, (0, len(pool.node_rows) - len(node_dual)))
    extra, complete = routes_within(
        pool,
        demand_dual,
        lane_dual,
        node_dual,
        delta=incumbent.value - lp_bound,
        commodities=fixed,
        cap=options.gap_routes_cap,
        closed=pricer.closed,
        out_of_time=lambda: budget.left() <= 0,
    )
    if not complete:
        # The proof is lost; a second MIP over the routes listed so far would only polish
        # the plan (2.5e-6 of the congested M plan's cost, for a third of its HiGHS time).
        note = (
            "not proven optimal: the routes within the gap could not all be listed (more "
            "than gap_routes_cap for a shipment, or out of time)"
        )
        return incumbent, lp_bound, 0, note
    if extra:
        master.add_columns(extra)
        better = _incumbent(master, pricer, budget)
        if isinstance(better, _Incumbent) and better.value < incumbent.value:
            incumbent = better
        if _closed(incumbent.value, lp_bound, options):
            return incumbent, lp_bound, 0, ""
    return _branch(master, pricer, incumbent, lp_bound, budget, options)


def _incumbent(
    master: _Master, pricer: _Pricer, budget: _Budget, lp_values: np.ndarray | None = None
) -> _Incumbent | highspy.HighsModelStatus:
    """A real plan and its value: a dive from the LP optimum `lp_values` (the master's last LP
    re-solved when None) to whole route choices, then the MIP over every generated route
    when the model is small enough (`SolveOptions.mip_columns`; kept when it beats the
    dive), then the splittable shipments re-optimised by column generation with the integer
    choices fixed."""
    if lp_values is None:
        status = master.run(budget.left())
        if status != _OK:
            return status
        lp_values = master.values()
    idx = master.integer_index()
    dived = _dive(master, budget, lp_values)
    values = dived if dived is not None else lp_values
    x = values[idx]
    split_cols = idx[np.abs(x - np.round(x)) > 1e-9]
    if len(split_cols) or dived is None:
        # Out of time (or dive steps) before every choice was whole: the plan with the
        # shipments still split left unserved is one (it only frees capacity).
        values, value = _unsplit(master, values, split_cols)
    else:
        value = master.objective()
    # The dive's last LP basis: the MIP leaves none behind, and from this one only the
    # splittable shipments' columns may be out of place after it.
    basis = master.h.getBasis()
    # A big master's MIP looks only at the routes the LP or the dive takes (a restricted
    # master heuristic): over every route, the XL bench's MIP ran out its budget share.
    restrict = len(idx) > master.options.mip_restrict_columns
    keep = (lp_values[idx] > 1e-9) | (values[idx] > 1e-9) if restrict else np.ones(len(idx), bool)
    if int(keep.sum()) <= master.options.mip_columns and budget.left() > 0:
        master.bound_integer_columns({int(j): 0.0 for j in idx[~keep]})
        master.set_integrality(True)
        # At most mip_share of the budget: on the XL bench it ran 75 s at the root.
        cap = master.options.mip_share * master.options.time_limit_s
        status = master.run(min(budget.left(), cap))
        if status == _OK or _has_solution(master):
            # Its cost from its values. The dive's plan is not passed as a start: after
            # setSolution HiGHS reported MIPs optimal at objectives its returned values do
            # not have (a 3-node case: 36, below the LP bound 63, for values costing 64; the
            # congested M plan: 4,011,255.5 for values costing 4,011,345.8).
            mip_values = master.values()
            mip_value = float(np.dot(master.cost, mip_values))
            if mip_value < value:
                values, value = mip_values, mip_value
        master.set_integrality(False)
    master.bound_integer_columns(
        {int(j): float(v) for j, v in zip(idx, np.round(values[idx]), strict=True)}
    )
    if basis.valid:
        master.h.setBasis(basis)
    polished, _, _ = pricer.generate(budget, only_split=True)
    # If the re-optimisation stops early, the plan found before it stands.
    found = (
        _Incumbent(master.objective(), master.values())
        if polished == _OK and master.objective() <= value
        else _Incumbent(value, values)
    )
    master.bound_integer_columns({})
    return found


def _dive(master: _Master, budget: _Budget, values: np.ndarray) -> np.ndarray | None:
    """Whole route choices by diving from the LP solution `values`: fix every route the LP
    takes whole; of each shipment it splits, fix the route it sends most on, when that fits
    the capacity the fixed routes leave (else bar it); re-solve the LP warm (only bounds
    change) and repeat. Returns the last LP's values (every choice whole unless the steps
    ran out), or None when an LP stopped (out of time)."""
    idx = master.integer_index()
    commodity_of = np.array(master.commodity_of, dtype=np.int64)
    units = np.array([c.units for c in master.pm.instance.commodities])
    upper = np.array(master.row_upper)
    load = np.zeros(len(upper))
    fixes: dict[int, float] = {}
    for _ in range(DIVE_STEPS):
        x = values[idx]
        split = np.abs(x - np.round(x)) > 1e-9
        for j in idx[~split & (np.round(x) == 1.0)].tolist():
            if j not in fixes:
                fixes[j] = 1.0
                load[master.rows_of[j]] += units[commodity_of[j]]
        if not split.any():
            return values
        taken: set[int] = set()
        candidates = idx[split]
        for j in candidates[np.argsort(-values[candidates], kind="stable")].tolist():
            k = int(commodity_of[j])
            if k in taken:
                continue
            taken.add(k)
            rows = master.rows_of[j]
            if np.all(load[rows] + units[k] <= upper[rows] + 1e-9):
                fixes[j] = 1.0
                load[rows] += units[k]
            else:
                fixes[j] = 0.0
        master.bound_integer_columns(fixes)
        if budget.left() <= 0 or master.run(budget.left()) != _OK:
            return None
        values = master.values()
    return values


def _unsplit(
    master: _Master, values: np.ndarray, split_cols: np.ndarray
) -> tuple[np.ndarray, float]:
    """The LP solution `values` with every commodity owning one of `split_cols` (integer
    columns at a fractional value) moved wholly to its unserved column: (values, cost)."""
    out = values.copy()
    commodity_of = np.array(master.commodity_of, dtype=np.int64)
    hit = np.zeros(len(master.unserved_col), dtype=bool)
    hit[commodity_of[split_cols]] = True
    out[hit[commodity_of]] = 0.0
    out[np.array(master.unserved_col, dtype=np.int64)[hit]] = 1.0
    return out, float(np.dot(np.array(master.cost), out))


def _has_solution(master: _Master) -> bool:
    return bool(master.h.getInfo().primal_solution_status == 2)


def _branch(
    master: _Master,
    pricer: _Pricer,
    incumbent: _Incumbent,
    lp_bound: float,
    budget: _Budget,
    options: SolveOptions,
) -> tuple[_Incumbent, float, int, str]:
    """Best-bound branch-and-price over the unsplittable route choices (a column fixed to 1 or
    to 0); splittable shipments are priced at every node. Returns (incumbent, proven lower
    bound, nodes solved, note)."""
    # (bound, -depth, sequence, fixes): best bound first, deepest first among equal bounds.
    open_nodes: list[tuple[float, int, int, tuple[tuple[int, float], ...]]] = []
    heapq.heappush(open_nodes, (lp_bound, 0, 0, ()))
    seq, nodes = 0, 0
    note = ""
    while open_nodes:
        bound, depth_key, _, fixes = open_nodes[0]
        if _closed(incumbent.value, bound, options):
            open_nodes.clear()
            break
        if nodes >= options.node_limit or budget.left() <= 0:
            note = "not proven optimal: branch-and-price stopped at its node or time limit"
            break
        heapq.heappop(open_nodes)
        nodes += 1
        master.bound_integer_columns(dict(fixes))
        status, _, converged = pricer.generate(budget, only_split=True)
        if status == highspy.HighsModelStatus.kInfeasible:
            continue
        if status != _OK or not converged:
            heapq.heappush(open_nodes, (bound, depth_key, seq, fixes))
            note = "not proven optimal: a branch-and-price node hit the time or round limit"
            break
        value = master.objective()
        if value >= incumbent.value or _closed(incumbent.value, value, options):
            continue
        values = master.values()
        idx = master.integer_index()
        x = values[idx]
        frac = np.abs(x - np.round(x)) > 1e-6
        if not frac.any():
            incumbent = _Incumbent(value, values)
            continue
        # Branch on the fractional route choice closest to 1: fixing it to 1 first (a dive
        # towards a plan), to 0 second.
        j = int(idx[frac][np.argmax(x[frac])])
        for fix in (1.0, 0.0):
            seq += 1
            heapq.heappush(open_nodes, (value, depth_key - 1, seq, fixes + ((j, fix),)))
    master.bound_integer_columns({})
    lower = min([incumbent.value] + [b for b, *_ in open_nodes])
    return incumbent, max(lp_bound, lower), nodes, note


def _fractional(master: _Master, values: np.ndarray) -> bool:
    """Whether the LP optimum `values` leaves an unsplittable shipment split (else it is the
    MIP's too)."""
    x = values[master.integer_index()]
    return bool(np.any(np.abs(x - np.round(x)) > 1e-9))


def _failed(
    master: _Master,
    status: highspy.HighsModelStatus,
    solve_s: float,
    rounds: int,
    parts: dict[str, float],
) -> SolveResult:
    mapping = {
        highspy.HighsModelStatus.kInfeasible: PlanStatus.infeasible,
        highspy.HighsModelStatus.kTimeLimit: PlanStatus.time_limit,
        highspy.HighsModelStatus.kInterrupt: PlanStatus.time_limit,
    }
    plan_status = mapping.get(status, PlanStatus.error)
    return SolveResult(
        status=plan_status,
        objective=None,
        lp_bound=None,
        highs_s=master.highs_s,
        solve_s=solve_s,
        rounds=rounds,
        columns=len(master.pm.pool.columns),
        rows=master.h.getNumRow(),
        mip=bool(master.integer_cols),
        message=f"HiGHS: {master.h.modelStatusToString(status)}",
        parts_s=parts,
    )
