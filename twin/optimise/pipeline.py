"""Build, solve and extract in one call (the planner's usual entry point)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from twin.domain.plans import Plan
from twin.network.graph import NetworkView
from twin.optimise.build import build
from twin.optimise.extract import extract
from twin.optimise.request import Clock, PlanRequest, SolveOptions
from twin.optimise.solve import solve


class _GcPause:
    """No cyclic garbage collection while a plan is made, restored when the last plan in
    progress ends. A plan builds millions of objects, none of them in cycles, and Python's
    collector walks the whole heap as they pile up: extracting the XL re-plan's 10,000
    shipments took 1.8 s with it on, 0.4 s with it paused (docs/planner.md)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.was_on = True

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self.lock:
            if self.depth == 0:
                self.was_on = gc.isenabled()
                gc.disable()
            self.depth += 1
        try:
            yield
        finally:
            with self.lock:
                self.depth -= 1
                if self.depth == 0 and self.was_on:
                    gc.enable()


gc_paused = _GcPause()


def plan(
    view: NetworkView,
    request: PlanRequest,
    options: SolveOptions | None = None,
    clock: Clock | None = None,
    started: float | None = None,
) -> Plan:
    """Build, solve and extract in one call.

    `clock` (seconds, e.g. `time.perf_counter`) is the caller's: with it the time budget is
    wall time from the start of the build (build, solve and extraction together end within
    `options.time_limit_s`, plus the extraction's overrun of its share) and `Plan.timing` has
    the seconds of each step; the core reads no clock itself. `started` (by `clock`): when the
    caller's work on this plan began, if before the build (the budget then counts it too).

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> from twin.domain.records import Lane, Network, Node, Shipment
    >>> net = Network(name="x", nodes=(Node(id="A", kind="origin"), Node(id="B", kind="warehouse")),
    ...     lanes=(Lane(id="AB", **{"from": "A"}, to="B", mode="road", transit_days=2, cost_per_unit=3),))
    >>> s = Shipment(id="S1", origin="A", destination="B", units=10,
    ...     ready_at="2024-01-01T00:00:00Z", due_at="2024-01-05T00:00:00Z")
    >>> p = plan(NetworkView(net), PlanRequest(now=s.ready_at, shipments=(s,)))
    >>> p.status.value, p.objective, p.assignments[0].path
    ('optimal', 30.0, ['AB'])
    """
    with gc_paused():
        return _plan(view, request, options, clock, started)


def _plan(
    view: NetworkView,
    request: PlanRequest,
    options: SolveOptions | None,
    clock: Clock | None,
    started: float | None,
) -> Plan:
    tick = clock or (lambda: 0.0)
    t0 = tick()
    model = build(view, request, clock)
    t1 = tick()
    result = solve(
        model, options, clock, started=(t0 if started is None else started) if clock else None
    )
    t2 = tick()
    timing = {"highs_s": result.highs_s, **model.parts_s, **result.parts_s}
    if clock:
        timing |= {"build_s": t1 - t0, "solve_s": t2 - t1}
    out = extract(model, result, timing)
    if clock:
        t3 = tick()
        out.timing["extract_s"] = t3 - t2
        out.timing["total_s"] = t3 - t0
    return out
