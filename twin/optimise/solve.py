"""Solve a built plan model with HiGHS: column generation on the LP, then the MIP over the
generated columns (price-and-branch), returning a typed result — never a bare number.

The Pyomo model is compiled once in bulk (LinearStandardFormCompiler) and passed to one
persistent highspy instance; each pricing round adds its columns and rows to that instance
and re-solves warm from the last basis, so a round costs about what HiGHS itself spends.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import highspy
import numpy as np
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from twin.domain.plans import PlanStatus
from twin.optimise.build import PlanModel
from twin.optimise.columns import Column, price, routes_within
from twin.optimise.request import SolveOptions

_INF = highspy.kHighsInf


@dataclass
class SolveResult:
    """What a solve produced: status, objective, proof and where the time went.

    objective: the plan's total cost (None when there is no usable solution).
    lp_bound: the LP optimum over all routes (a lower bound on any plan) when column
        generation converged, else None.
    highs_s: HiGHS's own run time summed over every LP and MIP run (highspy getRunTime).
    solve_s: wall time of the whole solve (compile + pass + rounds + pricing + MIP).
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


class _Master:
    """The persistent HiGHS master problem and the maps from pool rows/columns to its indices."""

    def __init__(self, plan_model: PlanModel, options: SolveOptions):
        self.pm = plan_model
        self.options = options
        inst, pool, m = plan_model.instance, plan_model.pool, plan_model.model
        n_cols, n_com = len(pool.columns), len(inst.commodities)
        column_order = [m.f[p] for p in range(n_cols)] + [m.u[k] for k in range(n_com)]
        row_order = (
            [m.demand[k] for k in range(n_com)]
            + [m.lane_cap[r] for r in range(len(pool.lane_rows))]
            + [m.node_cap[r] for r in range(len(pool.node_rows))]
        )
        info = LinearStandardFormCompiler().write(
            m, mixed_form=True, column_order=column_order, row_order=row_order
        )
        # Deterministic, known order: columns f then u, rows demand, lane, node (checked).
        if len(info.columns) != len(column_order) or len(info.rows) != len(row_order):
            raise RuntimeError("the compiled model lost rows or columns")
        self.integer_cols = [j for j, var in enumerate(info.columns) if var.is_integer()]

        lp = highspy.HighsLp()
        lp.num_col_ = len(info.columns)
        lp.num_row_ = len(info.rows)
        lp.col_cost_ = (
            np.asarray(info.c.todense()).ravel().astype(float)
            if info.c.shape[0]
            else np.zeros(lp.num_col_)
        )
        lp.col_lower_ = np.array([v.lb for v in info.columns], dtype=float)
        lp.col_upper_ = np.array(
            [_INF if v.ub is None else v.ub for v in info.columns], dtype=float
        )
        rhs = np.asarray(info.rhs, dtype=float)
        kind = np.array([row.bound_type for row in info.rows], dtype=int)
        lp.row_lower_ = np.where(kind == 1, -_INF, rhs)
        lp.row_upper_ = np.where(kind == -1, _INF, rhs)
        a = info.A.tocsc()
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = a.indptr.astype(np.int32)
        lp.a_matrix_.index_ = a.indices.astype(np.int32)
        lp.a_matrix_.value_ = a.data.astype(float)
        lp.a_matrix_.num_col_ = lp.num_col_
        lp.a_matrix_.num_row_ = lp.num_row_

        # highspy.Highs's constructor enables its Python callbacks, and that prints HiGHS's
        # banner to file descriptor 1 before output_flag can be set, corrupting `--json`
        # output; the exported base class has the same solver methods without that.
        h = highspy._Highs()
        h.setOptionValue("output_flag", bool(options.log))
        h.setOptionValue("presolve_rule_off", int(options.presolve_rule_off))
        h.setOptionValue("mip_rel_gap", float(options.mip_rel_gap))
        if options.threads is not None:
            h.setOptionValue("threads", int(options.threads))
        h.passModel(lp)
        self.h = h
        self.flow_col = list(range(n_cols))
        self.unserved_col = list(range(n_cols, n_cols + n_com))
        self.lane_row = list(range(n_com, n_com + len(pool.lane_rows)))
        self.node_row = list(range(n_com + len(pool.lane_rows), len(info.rows)))
        self.highs_s = 0.0

    def run(self, time_left: float) -> highspy.HighsModelStatus:
        self.h.setOptionValue("time_limit", max(0.001, time_left))
        before = self.h.getRunTime()
        self.h.run()
        self.highs_s += self.h.getRunTime() - before
        return self.h.getModelStatus()

    def add_columns(self, columns: list[Column]) -> None:
        """Append columns (and any rows they are the first to use) to the live HiGHS model."""
        inst, pool, h = self.pm.instance, self.pm.pool, self.h
        n_com = len(inst.commodities)
        starts, index, value, cost = [], [], [], []
        for column in columns:
            p = pool.add(column)
            if p is None:
                continue
            self._add_new_rows()
            units = inst.commodities[column.commodity].units
            starts.append(len(index))
            rows = [column.commodity]
            rows += [self.lane_row[r] for r in pool.col_lane_rows[p]]
            rows += [self.node_row[r] for r in pool.col_node_rows[p]]
            index += rows
            value += [1.0] + [units] * (len(rows) - 1)
            cost.append(units * column.cost_pu)
            self.flow_col.append(h.getNumCol() + len(starts) - 1)
            if not inst.commodities[column.commodity].split:
                self.integer_cols.append(self.flow_col[-1])
        if starts:
            n = len(starts)
            h.addCols(
                n,
                np.array(cost),
                np.zeros(n),
                np.full(n, _INF),
                len(index),
                np.array(starts, dtype=np.int32),
                np.array(index, dtype=np.int32),
                np.array(value, dtype=float),
            )
        del n_com

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


def solve(plan_model: PlanModel, options: SolveOptions | None = None) -> SolveResult:
    """Solve a built model: column generation to the LP optimum, then the MIP if needed.

    Parameters
    ----------
    plan_model : PlanModel
        From `build`. Its column pool grows as pricing adds routes.
    options : SolveOptions, optional
        Time limit, MIP gap, HiGHS options; defaults are the measured ones.

    Returns
    -------
    SolveResult
        `status` is PlanStatus.optimal only when the LP was solved to optimality over all
        routes (no column prices out) and the MIP over the generated columns, if any, closed
        its gap. A time limit gives `feasible` (a solution, unproven) or `time_limit` (none);
        neither is ever applied.

    Notes
    -----
    For unsplittable shipments this is price-and-branch: exact over the generated columns.
    The oracle tests compare it with a time-expanded MILP solved independently.
    """
    options = options or SolveOptions()
    start = time.perf_counter()
    deadline = start + options.time_limit_s
    master = _Master(plan_model, options)
    parts = {"pass_s": time.perf_counter() - start, "pricing_s": 0.0}
    ok = highspy.HighsModelStatus.kOptimal
    rounds, converged, lp_bound = 0, False, None
    message = ""
    while True:
        status = master.run(deadline - time.perf_counter())
        if status != ok:
            return _failed(master, status, start, rounds, parts)
        rounds += 1
        if rounds > options.max_rounds or time.perf_counter() > deadline:
            message = "column generation stopped before proving the LP optimum"
            break
        t = time.perf_counter()
        demand_dual, lane_dual, node_dual = master.duals()
        new = price(plan_model.pool, demand_dual, lane_dual, node_dual, options.reduced_cost_tol)
        parts["pricing_s"] += time.perf_counter() - t
        if not new:
            converged = True
            lp_bound = float(master.h.getInfo().objective_function_value)
            break
        master.add_columns(new)

    mip = bool(master.integer_cols) and _fractional(master)
    if mip:
        lp_duals = master.duals()
        outcome = _price_and_branch(master, lp_duals, lp_bound, converged, deadline, options)
        if isinstance(outcome, SolveResult):
            return outcome
        plan_status, note = outcome
        message = message or note
    else:
        plan_status = PlanStatus.optimal if converged else PlanStatus.feasible
    values = np.asarray(master.h.getSolution().col_value)
    objective = float(master.h.getInfo().objective_function_value)
    return SolveResult(
        status=plan_status,
        objective=objective,
        lp_bound=lp_bound,
        highs_s=master.highs_s,
        solve_s=time.perf_counter() - start,
        rounds=rounds,
        columns=len(plan_model.pool.columns),
        rows=master.h.getNumRow(),
        mip=mip,
        message=message,
        flow=values[np.array(master.flow_col, dtype=np.int64)],
        unserved=values[np.array(master.unserved_col, dtype=np.int64)],
        parts_s=parts,
    )


def _price_and_branch(
    master: _Master,
    lp_duals: tuple[np.ndarray, np.ndarray, np.ndarray],
    lp_bound: float | None,
    converged: bool,
    deadline: float,
    options: SolveOptions,
) -> tuple[PlanStatus, str] | SolveResult:
    """The MIP over the generated columns; then, if it is above the LP bound, every route of
    the unsplittable shipments within that gap of reduced cost and the MIP again; then the
    splittable shipments re-optimised by column generation with the integer choices fixed."""
    start = time.perf_counter()
    pool = master.pm.pool
    inst = master.pm.instance
    ok = highspy.HighsModelStatus.kOptimal
    proven = converged
    note = ""
    for attempt in range(2):
        _set_integrality(master, True)
        status = master.run(deadline - time.perf_counter())
        has_solution = master.h.getInfo().primal_solution_status == 2
        if status != ok:
            if has_solution and status in (
                highspy.HighsModelStatus.kTimeLimit,
                highspy.HighsModelStatus.kInterrupt,
            ):
                return PlanStatus.feasible, "the MIP stopped at its time limit with a gap"
            return _failed(master, status, start, 0, {})
        upper = float(master.h.getInfo().objective_function_value)
        if lp_bound is None or attempt == 1:
            break
        gap = upper - lp_bound
        if gap <= max(options.mip_rel_gap * abs(upper), 1e-9):
            break
        fixed = [c for c in inst.commodities if not c.split]
        extra, complete = routes_within(
            pool, *lp_duals, delta=gap, commodities=fixed, cap=options.gap_routes_cap
        )
        proven = proven and complete
        if not complete:
            note = (
                "the MIP is exact over the generated routes only (too many routes within the gap)"
            )
        if not extra:
            break
        _set_integrality(master, False)
        master.add_columns(extra)
    if any(c.split for c in inst.commodities):
        _polish(master, deadline, options)
    return (PlanStatus.optimal if proven else PlanStatus.feasible), note


def _set_integrality(master: _Master, integer: bool) -> None:
    idx = np.array(sorted(set(master.integer_cols)), dtype=np.int32)
    kind = highspy.HighsVarType.kInteger if integer else highspy.HighsVarType.kContinuous
    master.h.changeColsIntegrality(len(idx), idx, np.full(len(idx), kind))


def _polish(master: _Master, deadline: float, options: SolveOptions) -> None:
    """Fix the unsplittable choices and re-run column generation for the splittable ones."""
    h = master.h
    values = np.asarray(h.getSolution().col_value)
    idx = np.array(sorted(set(master.integer_cols)), dtype=np.int32)
    fixed = np.round(values[idx])
    _set_integrality(master, False)
    h.changeColsBounds(len(idx), idx, fixed, fixed)
    # integer_cols holds the unsplittable shipments' unserved shares too, so they are fixed.
    for _ in range(options.max_rounds):
        if master.run(deadline - time.perf_counter()) != highspy.HighsModelStatus.kOptimal:
            break
        new = price(master.pm.pool, *master.duals(), options.reduced_cost_tol, only_split=True)
        if not new:
            break
        master.add_columns(new)


def _fractional(master: _Master) -> bool:
    """Whether the LP optimum leaves an unsplittable shipment split (else it is the MIP's too)."""
    values = np.asarray(master.h.getSolution().col_value)
    x = values[np.array(sorted(set(master.integer_cols)), dtype=np.int64)]
    return bool(np.any(np.abs(x - np.round(x)) > 1e-9))


def _failed(
    master: _Master,
    status: highspy.HighsModelStatus,
    start: float,
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
        solve_s=time.perf_counter() - start,
        rounds=rounds,
        columns=len(master.pm.pool.columns),
        rows=master.h.getNumRow(),
        mip=bool(master.integer_cols),
        message=f"HiGHS: {master.h.modelStatusToString(status)}",
        parts_s=parts,
    )
