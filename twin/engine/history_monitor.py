"""`twin monitor`: the alert rules walked over a signal history (scores, alert episodes,
exposure at the end), without the store or the daemon.

The engine's tick does the same work incrementally; the daemon's `monitor_pass`
(twin/engine/passes.py) is that tick on the store.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from twin.alerting.episodes import AlertState, evaluate
from twin.alerting.rules import AlertRules
from twin.domain.alerts import Alert, Exposure
from twin.domain.durations import format_timestamp
from twin.domain.plans import Assignment
from twin.domain.problems import InputError, Problem
from twin.domain.records import Network, Shipment
from twin.domain.signals import ShipmentPosition
from twin.network.graph import NetworkView
from twin.optimise import PlanRequest, plan
from twin.scoring.config import ScoringConfig
from twin.scoring.exposure import cheapest_assignments, exposure
from twin.scoring.propagate import assess
from twin.scoring.scorers import ScoreResult
from twin.shipments.tracking import follow_events
from twin.stock.monitor import StockAssessment, StockMonitor

log = logging.getLogger(__name__)

# More distinct reading times than this and the history is walked on a regular tick instead.
MAX_PASSES = 120


def read_signals(
    path: Path, network: Network
) -> tuple[pd.DataFrame, list[Problem], list[ShipmentPosition]]:
    """The signal frame of a file or folder, by the feeds adapters (any SPEC 1.3 format), its
    problems, and the shipment positions of its DCSA actual events."""
    if not path.exists():
        raise InputError([Problem(str(path), "", None, "no such file or folder")])
    from twin.feeds.ingest import ingest_path

    result = ingest_path(path, network)
    return result.frame, list(result.problems), list(result.positions)


def pass_times(frame: pd.DataFrame, at: datetime, max_passes: int = MAX_PASSES) -> list[datetime]:
    """When to evaluate so that `for` counts and trends see the history: at each distinct
    reading time up to `at` (and at `at`), or on a regular tick from the first reading when
    there are more than `max_passes` of them."""
    stamps = (
        pd.to_datetime(frame["ts"], utc=True, errors="coerce").dropna()
        if len(frame)
        else pd.Series([], dtype="datetime64[ns, UTC]")
    )
    stamps = stamps[stamps <= pd.Timestamp(at)]
    distinct = sorted({s.to_pydatetime() for s in stamps.unique()})
    if len(distinct) >= max_passes:
        first = distinct[0]
        step = (at - first) / (max_passes - 1)
        distinct = [first + step * i for i in range(max_passes - 1)]
    return [t for t in distinct if t < at] + [at]


@dataclass
class MonitorRun:
    scores: ScoreResult
    state: AlertState
    episodes: list[Alert]
    exposed: list[Exposure]
    passes: int
    stock: StockAssessment | None = None


def run_monitor(
    network: Network,
    frame: pd.DataFrame,
    at: datetime,
    shipments: list[Shipment],
    horizon: timedelta,
    config: ScoringConfig,
    rules: AlertRules,
    max_passes: int = MAX_PASSES,
    positions: Sequence[ShipmentPosition] = (),
    stock: StockMonitor | None = None,
) -> MonitorRun:
    """Walk the alert rules over the signal history up to `at`; score, alert, expose at `at`
    (the shipments' plans re-timed by the carriers' actual events in `positions`). With
    `stock`, each pass also scores the stock dimension on the plan under that pass's risks."""
    state = AlertState()
    closed: list[Alert] = []
    times = pass_times(frame, at, max_passes)
    result = None
    assignments = plan_paths(network, shipments, at)
    by_id = {s.id: s for s in shipments}
    stocked: StockAssessment | None = None
    for when in times:
        result = assess(frame, network, when, config)
        scores = result.frame
        if stock is not None:
            routes: dict[str, list[Assignment]] = {}
            for assignment in assignments:
                routes.setdefault(assignment.shipment, []).append(assignment)
            exposed_now = exposure(scores, assignments, network, when, horizon, config)
            stocked = stock.assess(
                by_id, {sid: tuple(r) for sid, r in routes.items()}, exposed_now, when
            )
            scores = pd.concat(
                [f for f in (scores, stocked.scores) if not f.empty], ignore_index=True
            )
        state, events = evaluate(state, scores, when, rules)
        closed += [e.alert for e in events if e.kind == "cleared"]
    assert result is not None
    if positions:
        by_shipment: dict[str, list[Assignment]] = {}
        for assignment in assignments:
            by_shipment.setdefault(assignment.shipment, []).append(assignment)
        by_shipment.update(
            {sid: list(r) for sid, r in follow_events(by_shipment, positions, at).items()}
        )
        assignments = [a for routes in by_shipment.values() for a in routes]
    active = [a for a in assignments if a.eta >= at]
    exposed = exposure(result.frame, active, network, at, horizon, config)
    episodes = sorted(closed + state.open_alerts, key=lambda a: (a.opened_at, a.id))
    return MonitorRun(result, state, episodes, exposed, len(times), stocked)


def plan_paths(network: Network, shipments: list[Shipment], at: datetime) -> list[Assignment]:
    """The shipments' planned paths: the optimiser's plan, or the cheapest path of each shipment
    (twin.scoring.exposure.cheapest_assignments) when the plan is not optimal."""
    if not shipments:
        return []
    result = plan(NetworkView(network), PlanRequest(now=at, shipments=tuple(shipments)))
    if result.status.applicable:
        return list(result.assignments)
    log.warning(
        "plan %s (%s): exposure uses the cheapest paths", result.status.value, result.message
    )
    return cheapest_assignments(network, shipments)


def _ts(value: Any) -> str | None:
    if value is None or value is pd.NaT or (not isinstance(value, datetime) and pd.isna(value)):
        return None
    return format_timestamp(pd.Timestamp(value).to_pydatetime())


def document(run: MonitorRun, at: datetime) -> dict[str, Any]:
    frame = run.scores.frame.sort_values(
        ["score", "target", "dimension"], ascending=[False, True, True]
    )
    return {
        "at": format_timestamp(at),
        "passes": run.passes,
        "scores": [
            {
                "target": r.target,
                "dimension": r.dimension,
                "score": round(float(r.score), 4),
                "explain": r.explain,
                "kind": r.kind,
                "sources": list(r.sources),
                "starts_at": _ts(r.starts_at),
                "until": _ts(r.until),
            }
            for r in frame.itertuples()
        ],
        "alerts": [
            {
                "id": a.id,
                "target": a.target,
                "dimension": a.dimension,
                "severity": a.severity.value,
                "score": round(a.score, 4),
                "peak": round(a.peak, 4),
                "opened_at": _ts(a.opened_at),
                "forecast_cross_at": _ts(a.forecast_cross_at),
                "early": a.early,
                "inhibited_by": a.inhibited_by,
                "silenced_by": a.silenced_by,
                "explain": a.explain,
                "chain": a.stock.chain() if a.stock else [],
            }
            for a in run.state.open_alerts
        ],
        "episodes": [
            {
                "id": a.id,
                "target": a.target,
                "dimension": a.dimension,
                "severity": a.severity.value,
                "peak": round(a.peak, 4),
                "opened_at": _ts(a.opened_at),
                "cleared_at": _ts(a.cleared_at),
                "early": a.early,
            }
            for a in run.episodes
        ],
        "exposed": [
            {
                "shipment": e.shipment,
                "target": e.target,
                "dimension": e.dimension,
                "units": e.units,
                "at": _ts(e.at),
                "lane": e.lane,
                "score": round(e.score, 4),
                "expected_delay_days": e.expected_delay_days,
            }
            for e in run.exposed
        ],
        "unknown_metrics": list(run.scores.unknown_metrics),
        "unknown_targets": list(run.scores.unknown_targets),
        "ignored": run.scores.ignored,
        # With --stock: every warehouse's position at `at` (cover, SKUs short, causes).
        "stock": [
            w.model_dump(mode="json")
            for w in sorted(run.stock.warehouses.values(), key=lambda w: -w.margin_at_risk)
        ]
        if run.stock is not None
        else None,
    }


def save_run(run: MonitorRun, at: datetime) -> None:
    """Keep a pass's scores, episodes and alert state in the store (TWIN_DATABASE_URL)."""
    from twin.store.alerts import save_alerts, save_scores, save_state
    from twin.store.db import make_engine, session_scope
    from twin.store.migrate import require_current

    engine = make_engine()
    require_current(engine)
    with session_scope(engine) as session:
        save_scores(session, scores=run.scores.risk_scores())
        save_alerts(session, alerts=run.episodes)
        save_state(session, state=run.state, at=at)
