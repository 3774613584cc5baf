"""Benchmark of the daemon at scale: one pass with many shipments in flight and new signals.

Setup (not timed): a fresh store (a SQLite file, or a fresh PostgreSQL schema when
TWIN_BENCH_POSTGRES_URL is set), the demo network, SHIPMENTS[size] generated shipments stored
from the configured shipments file, and a plan of record for every one of them — each
shipment's cheapest timed route from the planner's own initial-route DP (the routes a pass
must read, advance and expose; their optimality is not what is measured). Then SIGNALS[size]
new signal rows land in the feed folder.

Timed: passes through the engine's public entry point (`twin.engine.service.run_once`: poll
the feed, plan anything unplanned, one monitor pass, deliver notifications), and the process's
peak resident memory. `pass_s` is the first pass of a fresh process (every shipment and route
decoded from the store; the new rows open alert episodes, which are not yet firing);
`next_pass_s` the one after it, five minutes later with SIGNALS[size] more rows: the alerts
fire, the matched playbooks preview their actions — re-planning the exposed freight — and the
auto-approved incidents are applied. Each pass reports what it did beside its time (`alerts_*`:
paging alert events, `incidents_*`, `rerouted_*`: shipments given new routes, `replans_*`:
re-planner calls and `replan_s_*` their seconds, `replan_status_*` their plans' statuses,
`replan_calls_*` each call's size, outcome and the time limit the budget gave it,
`budget_stopped_*` re-plans the pass's re-plan budget cut short, `after_replans_s_*` the
seconds from the last re-plan's return to the pass's end), so a figure for a pass in which nothing fired, or in which the re-plans were
cut short, cannot pass for one in which the playbooks ran. `parts_s_*` breaks the pass into its
parts. The daemon's `[monitor] replan_budget` applies (TWIN_BENCH_REPLAN_BUDGET sets another).
When the budget cut re-plans short, `third_pass_s` is the pass five minutes later (no new
rows): the alerts still fire, so it re-plans those incidents (`reproposed_third_pass`).

Both backends when TWIN_BENCH_POSTGRES_URL is set (each in its own process, so each peak is its
own); TWIN_BENCH_BACKEND=sqlite or postgres picks one.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote

import numpy as np

from twin.domain.durations import format_duration
from twin.domain.plans import PlanStatus
from twin.domain.settings import MonitorSettings
from twin.files.networks import load_network
from twin.files.shipments import write_shipments
from twin.network.graph import NetworkView
from twin.optimise import PlanRequest, build, extract
from twin.optimise.solve import SolveResult
from twin.playbook.incidents import REPROPOSE
from twin.shipments.generate import generate_shipments

SHIPMENTS = {"S": 2_000, "M": 10_000, "L": 50_000}
SIGNALS = {"S": 200, "M": 1_000, "L": 1_000}
REPO = Path(__file__).resolve().parents[2]
START = datetime(2024, 3, 1, tzinfo=UTC)
# The daemon's default `[monitor] replan_budget` (TWIN_BENCH_REPLAN_BUDGET overrides it).
REPLAN_BUDGET = format_duration(MonitorSettings().replan_budget)


class _ReplanCounter:
    """Counts the playbooks' re-planner calls of a pass and their seconds (the optimiser's
    share of the pass), by wrapping the production re-planner's `replan`."""

    def __init__(self) -> None:
        self.calls = 0
        self.seconds = 0.0
        self.statuses: list[str] = []
        # Per call: shipments, seconds, status, column-generation rounds, columns, and the
        # time limit the pass's re-plan budget gave it (None: none).
        self.each: list[tuple[int, float, str, int, int, float | None]] = []
        self.last_end: float | None = None  # when the last call returned (perf_counter)

    def __enter__(self) -> Self:
        from twin.playbook.actions import OptimiseReplanner

        self._original = OptimiseReplanner.replan
        counter, original = self, self._original

        def replan(planner: Any, view: Any, shipments: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            made = original(planner, view, shipments, **kwargs)
            counter.last_end = time.perf_counter()
            took = counter.last_end - started
            counter.calls += 1
            counter.seconds += took
            counter.statuses.append(made.status.value)
            rounds, columns = made.timing.get("rounds", 0), made.timing.get("columns", 0)
            limit = kwargs.get("time_limit_s")
            counter.each.append(
                (
                    len(shipments),
                    round(took, 2),
                    made.status.value,
                    int(rounds),
                    int(columns),
                    None if limit is None else round(limit, 2),
                )
            )
            return made

        OptimiseReplanner.replan = replan  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        from twin.playbook.actions import OptimiseReplanner

        OptimiseReplanner.replan = self._original  # type: ignore[method-assign]


class _PassParts:
    """Seconds of the pass's parts, by wrapping them: the replan job's pass (shipments moved
    along their routes, new ones planned), the monitor pass's load of the engine state from
    the store, its tick (scores, alerts, the playbooks' previews with their re-plans, apply)
    and its write back."""

    # (module, name there, part): each where the pass looks it up.
    PARTS = (
        ("twin.engine.service", "replan_pass", "replan_job"),
        ("twin.engine.service", "monitor_pass", "monitor"),
        ("twin.engine.passes", "save_engine_state", "save"),
        ("twin.engine.engine", "Engine.tick", "tick"),
        ("twin.engine.engine", "Engine._answer", "playbooks"),
        ("twin.engine.engine", "Engine._repropose", "playbooks"),
    )

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._restore: list[tuple[Any, str, Any]] = []

    def __enter__(self) -> Self:
        import importlib

        for module_name, dotted, label in self.PARTS:
            owner: Any = importlib.import_module(module_name)
            *path, name = dotted.split(".")
            for part in path:
                owner = getattr(owner, part)
            original = getattr(owner, name)
            setattr(owner, name, self._timed(original, label))
            self._restore.append((owner, name, original))
        return self

    def _timed(self, original: Any, label: str) -> Any:
        parts = self.seconds

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                parts[label] = parts.get(label, 0.0) + time.perf_counter() - started

        return timed

    def __exit__(self, *exc: object) -> None:
        for owner, name, original in reversed(self._restore):
            setattr(owner, name, original)


def _timed_pass(toml: Path, at: datetime, folder: Path, suffix: str) -> dict[str, Any]:
    """One `run_once` at `at`: its seconds and what it did (see the module docstring)."""
    from twin.engine.service import run_once

    with _ReplanCounter() as replans, _PassParts() as parts:
        started, cpu = time.perf_counter(), time.process_time()
        report = run_once(toml, at, base=folder)
        ended = time.perf_counter()
        seconds, cpu = ended - started, time.process_time() - cpu
    took = parts.seconds
    monitor, tick = took.get("monitor", 0.0), took.get("tick", 0.0)
    playbooks, save = took.get("playbooks", 0.0), took.get("save", 0.0)
    breakdown = {
        "replan_job": took.get("replan_job", 0.0),
        "monitor_load": monitor - tick - save,  # (and the outbox, logging: little)
        "score_alert_expose": tick - playbooks,
        "playbooks_but_planner": playbooks - replans.seconds,
        "planner": replans.seconds,
        "save": save,
    }
    breakdown["feeds_outbox_other"] = seconds - sum(breakdown.values())
    return {
        f"{suffix}_s": round(seconds, 3),
        # The process's CPU seconds (user + system) in the pass: on a shared machine, what the
        # pass itself cost, whatever else was running.
        f"{suffix}_cpu_s": round(cpu, 3),
        f"alerts_{suffix}": sum(1 for e in report.events if e.pages),
        f"incidents_{suffix}": len({i.id for i in report.incidents}),
        f"rerouted_{suffix}": len(report.rerouted),
        f"replans_{suffix}": replans.calls,
        f"replan_s_{suffix}": round(replans.seconds, 3),
        f"replan_status_{suffix}": sorted(set(replans.statuses)),
        f"rest_s_{suffix}": round(seconds - replans.seconds, 3),
        f"replan_calls_{suffix}": replans.each,
        # From the last re-plan's return to the end of the pass: the diffs, apply and write back
        # the pass's deadline keeps time for (twin.engine.engine.TAIL_SECONDS_PER_SHIPMENT).
        f"after_replans_s_{suffix}": round(ended - replans.last_end, 3) if replans.last_end else 0,
        f"budget_stopped_{suffix}": sum(len(stops) for stops in report.stopped.values()),
        f"reproposed_{suffix}": sum(1 for e in report.audit if e.action == REPROPOSE),
        f"parts_s_{suffix}": {k: round(v, 2) for k, v in breakdown.items()},
    }


def _peak_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def _signals(
    count: int, at: datetime, chokepoints: list[str], ports: list[str]
) -> list[dict[str, Any]]:
    """Distinct rows, a minute apart: security incidents and advisories on chokepoints (which
    raise alerts and open incidents on the demo playbooks) and ETA drift at ports."""
    rows: list[dict[str, Any]] = []
    for i in range(count):
        stamp = (at - timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        if i % 2 == 0:
            row: dict[str, object] = {"dimension": "security"}
            row["target"] = chokepoints[i % len(chokepoints)]
            row |= {"metric": "incidents_7d", "value": float(3 + i % 7)}
        else:
            row = {"dimension": "transit", "target": ports[i % len(ports)]}
            row |= {"metric": "eta_drift_hours", "value": float(i % 96)}
        rows.append({"ts": stamp, "source": "bench", **row})
    return rows


def _seed_routes(service: Any, shipments: list[Any], now: datetime) -> int:
    """Each shipment's cheapest timed route (the planner's initial columns) as its plan."""
    from twin.store.db import session_scope
    from twin.store.routes import save_routes

    model = build(NetworkView(service.network), PlanRequest(now=now, shipments=tuple(shipments)))
    first = np.zeros(len(model.pool.columns))
    seen: set[int] = set()
    for p, column in enumerate(model.pool.columns):
        if column.commodity not in seen:
            seen.add(column.commodity)
            first[p] = 1.0
    unserved = np.array([0.0 if c.index in seen else 1.0 for c in model.instance.commodities])
    result = SolveResult(
        status=PlanStatus.feasible,
        objective=0.0,
        lp_bound=None,
        highs_s=0.0,
        solve_s=0.0,
        rounds=0,
        columns=len(first),
        rows=0,
        mip=False,
        flow=first,
        unserved=unserved,
    )
    plan = extract(model, result)
    routes: dict[str, list[Any]] = {}
    for a in plan.assignments:
        routes.setdefault(a.shipment, []).append(a)
    with session_scope(service.db) as session:
        save_routes(
            session,
            network_name=service.network_name,
            routes={k: tuple(v) for k, v in routes.items()},
            at=now,
            by="planner",
        )
    return len(routes)


def _pass(url: str, size: str, folder: Path) -> dict[str, Any]:
    from twin.engine.service import forget_services, service_for

    network, _ = load_network("demo")
    count = SHIPMENTS[size]
    budget = os.environ.get("TWIN_BENCH_REPLAN_BUDGET", REPLAN_BUDGET)
    days = 10
    shipments = generate_shipments(network, start=START, days=days, per_day=count // days, seed=11)
    write_shipments(shipments, folder / "shipments.csv")
    (folder / "feeds").mkdir()
    (folder / "twin.toml").write_text(
        "\n".join(
            [
                f'database_url = "{url}"',
                'network = "demo"',
                f'playbooks = "{REPO / "playbooks"}"',
                'shipments = "shipments.csv"',
                "",
                "[[feeds]]",
                'name = "drop"',
                'path = "feeds/*"',
                "",
                "[monitor]",
                f'replan_budget = "{budget}"',
                "",
            ]
        )
        + "\n"
    )
    t0 = time.perf_counter()
    service = service_for(folder / "twin.toml", base=folder)
    now = START + timedelta(days=2)
    seeded = _seed_routes(service, shipments, START)
    setup_s = time.perf_counter() - t0
    chokepoints = [n.id for n in network.nodes if n.kind.value == "chokepoint"]
    ports = [n.id for n in network.nodes if n.kind.value == "port"]
    rows = _signals(SIGNALS[size], now, chokepoints, ports)
    (folder / "feeds" / "signals.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    first = _timed_pass(folder / "twin.toml", now, folder, "pass")
    later = now + timedelta(minutes=5)
    more = _signals(SIGNALS[size], later, chokepoints, ports)[: len(rows)]
    (folder / "feeds" / "more.jsonl").write_text("".join(json.dumps(r) + "\n" for r in more))
    second = _timed_pass(folder / "twin.toml", later, folder, "next_pass")
    third: dict[str, Any] = {}
    if second["budget_stopped_next_pass"]:
        # Re-plans the budget cut short are made again by the next pass while the alerts
        # fire (no new rows: nothing else to do).
        third = _timed_pass(
            folder / "twin.toml", later + timedelta(minutes=5), folder, "third_pass"
        )
    forget_services()
    return {
        "size": size,
        "shipments": count,
        "in_flight": seeded,
        "signal_rows": len(rows),
        "replan_budget": budget,
        "setup_s": round(setup_s, 3),
        **first,
        **second,
        **third,
        "peak_mib": _peak_mib(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def run(size: str) -> dict[str, dict[str, Any]]:
    """Daemon passes on SQLite and on PostgreSQL when TWIN_BENCH_POSTGRES_URL is set (each in a
    child process), or on the one backend TWIN_BENCH_BACKEND names."""
    if size not in SHIPMENTS:
        raise ValueError(f"unknown size {size!r}; use one of {', '.join(SHIPMENTS)}")
    if "TWIN_BENCH_BACKEND" in os.environ or "TWIN_BENCH_POSTGRES_URL" not in os.environ:
        return _run_backend(size, os.environ.get("TWIN_BENCH_BACKEND", "sqlite"))
    figures: dict[str, dict[str, Any]] = {}
    for backend in ("sqlite", "postgres"):
        proc = subprocess.run(
            [sys.executable, "-m", "twin.bench.daemon", size],
            capture_output=True,
            check=False,
            text=True,
            env={**os.environ, "TWIN_BENCH_BACKEND": backend},
        )
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            figures[f"daemon_{backend}"] = {"error": " | ".join(tail)}
        else:
            figures.update(json.loads(proc.stdout))
    return figures


def _run_backend(size: str, backend: str) -> dict[str, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if backend == "postgres":
            from sqlalchemy import create_engine, text

            base = os.environ.get("TWIN_BENCH_POSTGRES_URL", "")
            if not base:
                raise SystemExit(
                    "TWIN_BENCH_BACKEND=postgres needs TWIN_BENCH_POSTGRES_URL (a server URL, "
                    "e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
                )
            schema = f"twin_bench_{uuid.uuid4().hex[:12]}"
            admin = create_engine(base)
            with admin.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            separator = "&" if "?" in base else "?"
            url = f"{base}{separator}options={quote(f'-csearch_path={schema}')}"
            try:
                figures = _pass(url, size, folder)
            finally:
                with admin.begin() as connection:
                    connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                admin.dispose()
        else:
            figures = _pass(f"sqlite:///{folder / 'twin.db'}", size, folder)
    return {f"daemon_{backend}": figures}


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1] if len(sys.argv) > 1 else "S")))
