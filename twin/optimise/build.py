"""Build the routing master problem as a Pyomo model from a network view and a plan request.

Like PyPSA's `create_model`, `build` is a pure function of its inputs made of small `define_*`
parts; it never picks or runs a solver. The model is the path formulation over the columns
generated so far (the caller's `solve` extends it by column generation):

    min   sum_p units_k(p) * cost_p * f_p + sum_k units_k * U * u_k
    s.t.  sum_{p of k} f_p + u_k = 1                               for every commodity k
          sum_{p uses (l, d)} units_k(p) * f_p <= residual(l, d)   lane l departing day d
          sum_{p enters (v, d)} units_k(p) * f_p <= residual(v, d) node v on day d
          f_p, u_k >= 0;  f_p, u_k integer (so binary) for unsplittable shipments

where f_p is the share of commodity k on route p and u_k its unserved share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression

from twin.network.graph import NetworkView
from twin.optimise.columns import ColumnPool, initial_columns
from twin.optimise.instance import Instance, compile_instance
from twin.optimise.request import Clock, PlanRequest


@dataclass
class PlanModel:
    """A built model: the instance arrays and the column pool; `model` is the master problem
    as a Pyomo model (built on first use: `solve` hands HiGHS the pool's arrays directly, which
    is the same problem without Pyomo's per-term cost; tests check the two agree)."""

    instance: Instance
    pool: ColumnPool
    build_s: float = 0.0
    # Timings of the parts of build, for the benchmark (empty when no clock is given).
    parts_s: dict[str, float] = field(default_factory=dict)

    @cached_property
    def model(self) -> pyo.ConcreteModel:
        """The Pyomo master problem over the columns in the pool when first asked for."""
        return build_model(self.instance, self.pool)


def build(view: NetworkView, request: PlanRequest, clock: Clock | None = None) -> PlanModel:
    """Build the master problem for routing `request`'s shipments through `view`.

    Parameters
    ----------
    view : NetworkView
        The network seen through its what-ifs (avoided nodes and lanes, derated capacities,
        slower transit and customs).
    request : PlanRequest
        Shipments, their positions, risk, capacity reserved by others, `now` and the horizon.
    clock : callable, optional
        Seconds from some origin (e.g. `time.perf_counter`), passed in by the caller to time
        the parts of the build; the core reads no clock of its own.

    Returns
    -------
    PlanModel
        Each commodity's cheapest capacity-free route (the start of column generation) and
        the arrays `solve` and `extract` need; `.model` is the Pyomo master problem over them.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> from twin.network.synthetic import generate_network
    >>> from twin.network.graph import NetworkView
    >>> net = generate_network(20, 40, seed=1)
    >>> req = PlanRequest(now=datetime(2024, 1, 1, tzinfo=timezone.utc), shipments=())
    >>> build(NetworkView(net), req).pool.columns
    []
    """
    tick = clock or (lambda: 0.0)
    t0 = tick()
    instance = compile_instance(view, request)
    t1 = tick()
    pool = initial_columns(instance)
    t2 = tick()
    parts = {"compile_s": t1 - t0, "columns_s": t2 - t1} if clock else {}
    return PlanModel(instance, pool, t2 - t0, parts)


def build_model(instance: Instance, pool: ColumnPool) -> pyo.ConcreteModel:
    """The Pyomo master problem over the pool's columns (see the module docstring)."""
    m = pyo.ConcreteModel(name="twin-plan")
    define_variables(m, instance, pool)
    define_demand(m, instance, pool)
    define_lane_capacity(m, instance, pool)
    define_node_capacity(m, instance, pool)
    define_objective(m, instance, pool)
    return m


def define_variables(m: pyo.ConcreteModel, instance: Instance, pool: ColumnPool) -> None:
    """f[p]: share of a commodity on route p; u[k]: share left unserved. Integer (so 0 or 1
    by the demand row) when the shipment may not be split.

    No upper bounds: the demand row already caps every share at 1, and an explicit bound of 1
    would make the demand duals degenerate (a route at its bound prices at any dual between
    its cost and the unserved penalty), which would send pricing chasing phantom gains."""
    split = [c.split for c in instance.commodities]
    m.P = pyo.RangeSet(0, len(pool.columns) - 1)
    m.K = pyo.RangeSet(0, len(instance.commodities) - 1)
    m.f = pyo.Var(
        m.P,
        domain=lambda m, p: (
            pyo.NonNegativeReals if split[pool.columns[p].commodity] else pyo.NonNegativeIntegers
        ),
    )
    m.u = pyo.Var(
        m.K, domain=lambda m, k: pyo.NonNegativeReals if split[k] else pyo.NonNegativeIntegers
    )


def _linear(terms: list[tuple[float, pyo.Var]]) -> LinearExpression:
    # Monomial terms compile ~4x faster than LinearExpression(linear_coefs=...) (measured).
    return LinearExpression([MonomialTermExpression((coef, var)) for coef, var in terms])


def define_demand(m: pyo.ConcreteModel, instance: Instance, pool: ColumnPool) -> None:
    """Every commodity is routed or counted unserved, in full."""
    columns_of = pool.by_commodity()

    def rule(m: pyo.ConcreteModel, k: int) -> pyo.Expression:
        return _linear([(1.0, m.f[p]) for p in columns_of[k]] + [(1.0, m.u[k])]) == 1.0

    m.demand = pyo.Constraint(m.K, rule=rule)


def _row_terms(
    m: pyo.ConcreteModel,
    instance: Instance,
    pool: ColumnPool,
    col_rows: list[list[int]],
    n_rows: int,
) -> list[list[tuple[float, pyo.Var]]]:
    terms: list[list[tuple[float, pyo.Var]]] = [[] for _ in range(n_rows)]
    for p, rows in enumerate(col_rows):
        units = instance.commodities[pool.columns[p].commodity].units
        for r in rows:
            terms[r].append((units, m.f[p]))
    return terms


def define_lane_capacity(m: pyo.ConcreteModel, instance: Instance, pool: ColumnPool) -> None:
    """Units starting a lane on a day stay within what is left of its capacity that day."""
    keys = list(pool.lane_rows)
    terms = _row_terms(m, instance, pool, pool.col_lane_rows, len(keys))
    m.LR = pyo.RangeSet(0, len(keys) - 1)
    m.lane_cap = pyo.Constraint(
        m.LR, rule=lambda m, r: _linear(terms[r]) <= instance.lane_residual(*keys[r])
    )


def define_node_capacity(m: pyo.ConcreteModel, instance: Instance, pool: ColumnPool) -> None:
    """Units passing through a node on a day stay within what is left of its throughput."""
    keys = list(pool.node_rows)
    terms = _row_terms(m, instance, pool, pool.col_node_rows, len(keys))
    m.NR = pyo.RangeSet(0, len(keys) - 1)
    m.node_cap = pyo.Constraint(
        m.NR, rule=lambda m, r: _linear(terms[r]) <= instance.node_residual(*keys[r])
    )


def define_objective(m: pyo.ConcreteModel, instance: Instance, pool: ColumnPool) -> None:
    """Transport + lateness + risk of every routed unit, plus the penalty for unserved units."""
    penalty = instance.request.unserved_penalty_per_unit
    terms = [
        (instance.commodities[col.commodity].units * col.cost_pu, m.f[p])
        for p, col in enumerate(pool.columns)
    ]
    terms += [(c.units * penalty, m.u[c.index]) for c in instance.commodities]
    m.cost = pyo.Objective(expr=_linear(terms), sense=pyo.minimize)
