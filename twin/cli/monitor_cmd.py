"""`twin monitor`: score signals, run the alert rules over the signal history, list exposed shipments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from twin.alerting.episodes import AlertState, evaluate
from twin.alerting.rules import AlertRules
from twin.cli.common import console, emit_json, err_console, handles_errors, report_problems
from twin.domain.alerts import Alert, Exposure
from twin.domain.durations import format_timestamp, parse_duration, parse_timestamp
from twin.domain.plans import Assignment
from twin.domain.problems import InputError, Problem
from twin.domain.records import Network, Shipment
from twin.files.networks import load_network
from twin.scoring.config import ScoringConfig
from twin.scoring.exposure import cheapest_assignments, exposure
from twin.scoring.propagate import assess
from twin.scoring.scorers import ScoreResult

# More distinct reading times than this and the history is walked on a regular tick instead.
MAX_PASSES = 120


def read_signals(path: Path, network: Network) -> tuple[pd.DataFrame, list[Problem]]:
    """The signal frame of a file or folder, by the feeds adapters (any SPEC 1.3 format)."""
    if not path.exists():
        raise InputError([Problem(str(path), "", None, "no such file or folder")])
    from twin.feeds.ingest import ingest_path

    result = ingest_path(path, network)
    return result.frame, list(result.problems)


def pass_times(frame: pd.DataFrame, at: datetime, max_passes: int = MAX_PASSES) -> list[datetime]:
    """When to evaluate so that `for` counts and trends see the history: at each distinct
    reading time up to `at` (and at `at`), or on a regular tick from the first reading when
    there are more than `max_passes` of them."""
    stamps = pd.to_datetime(frame["ts"], utc=True, errors="coerce").dropna() if len(frame) else pd.Series([], dtype="datetime64[ns, UTC]")
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


def run_monitor(network: Network, frame: pd.DataFrame, at: datetime, shipments: list[Shipment],
                horizon: timedelta, config: ScoringConfig, rules: AlertRules,
                max_passes: int = MAX_PASSES) -> MonitorRun:
    """Walk the alert rules over the signal history up to `at`; score, alert, expose at `at`."""
    state = AlertState()
    closed: list[Alert] = []
    times = pass_times(frame, at, max_passes)
    result = None
    for when in times:
        result = assess(frame, network, when, config)
        state, events = evaluate(state, result.frame, when, rules)
        closed += [e.alert for e in events if e.kind == "cleared"]
    assert result is not None
    assignments = plan_paths(network, shipments, at)
    active = [a for a in assignments if a.eta >= at]
    exposed = exposure(result.frame, active, network, at, horizon, config)
    episodes = sorted(closed + state.open_alerts, key=lambda a: (a.opened_at, a.id))
    return MonitorRun(result, state, episodes, exposed, len(times))


def plan_paths(network: Network, shipments: list[Shipment], at: datetime) -> list[Assignment]:
    """The shipments' planned paths: the optimiser's plan when it solves, otherwise (or when it
    is not installed) the cheapest path of each shipment (twin.scoring.exposure.cheapest_assignments)."""
    if not shipments:
        return []
    try:
        from twin.network.graph import NetworkView
        from twin.optimise import PlanRequest, plan

        result = plan(NetworkView(network), PlanRequest(now=at, shipments=tuple(shipments)))
        if result.status.applicable:
            return list(result.assignments)
    except Exception as exc:  # noqa: BLE001 - a planner problem must not stop the monitors
        err_console.print(f"planner unavailable ({type(exc).__name__}): using cheapest paths", style="yellow")
    return cheapest_assignments(network, shipments)


def _ts(value: Any) -> str | None:
    if value is None or value is pd.NaT or (not isinstance(value, datetime) and pd.isna(value)):
        return None
    return format_timestamp(pd.Timestamp(value).to_pydatetime())


def document(run: MonitorRun, at: datetime) -> dict[str, Any]:
    frame = run.scores.frame.sort_values(["score", "target", "dimension"], ascending=[False, True, True])
    return {
        "at": format_timestamp(at),
        "passes": run.passes,
        "scores": [
            {"target": r.target, "dimension": r.dimension, "score": round(float(r.score), 4),
             "explain": r.explain, "kind": r.kind, "sources": list(r.sources),
             "starts_at": _ts(r.starts_at), "until": _ts(r.until)}
            for r in frame.itertuples()
        ],
        "alerts": [
            {"id": a.id, "target": a.target, "dimension": a.dimension, "severity": a.severity.value,
             "score": round(a.score, 4), "peak": round(a.peak, 4), "opened_at": _ts(a.opened_at),
             "forecast_cross_at": _ts(a.forecast_cross_at), "early": a.early,
             "inhibited_by": a.inhibited_by, "silenced_by": a.silenced_by, "explain": a.explain}
            for a in run.state.open_alerts
        ],
        "episodes": [
            {"id": a.id, "target": a.target, "dimension": a.dimension, "severity": a.severity.value,
             "peak": round(a.peak, 4), "opened_at": _ts(a.opened_at), "cleared_at": _ts(a.cleared_at),
             "early": a.early}
            for a in run.episodes
        ],
        "exposed": [
            {"shipment": e.shipment, "target": e.target, "dimension": e.dimension, "units": e.units,
             "at": _ts(e.at), "lane": e.lane, "score": round(e.score, 4),
             "expected_delay_days": e.expected_delay_days}
            for e in run.exposed
        ],
        "unknown_metrics": list(run.scores.unknown_metrics),
        "unknown_targets": list(run.scores.unknown_targets),
        "ignored": run.scores.ignored,
    }


def _print(doc: dict[str, Any]) -> None:
    console.print(f"[bold]monitor[/] at {doc['at']} ({doc['passes']} passes over the signal history)")
    table = Table(title="risk scores (>= 0.2)")
    for column in ("target", "dimension", "score", "why"):
        table.add_column(column, overflow="fold")
    for s in doc["scores"]:
        if s["score"] >= 0.2:
            table.add_row(s["target"], s["dimension"], f"{s['score']:.2f}", s["explain"])
    console.print(table)
    table = Table(title="open alerts")
    for column in ("severity", "target", "dimension", "score", "opened", "forecast", "muted by"):
        table.add_column(column, overflow="fold")
    for a in doc["alerts"]:
        style = "red" if a["severity"] == "critical" else "yellow"
        table.add_row(f"[{style}]{a['severity']}[/]", a["target"], a["dimension"], f"{a['score']:.2f}",
                      a["opened_at"], a["forecast_cross_at"] or "", a["inhibited_by"] or a["silenced_by"] or "")
    console.print(table)
    table = Table(title="exposed shipments")
    for column in ("shipment", "target", "dimension", "units", "at", "delay d"):
        table.add_column(column)
    for e in doc["exposed"]:
        table.add_row(e["shipment"], e["target"], e["dimension"], f"{e['units']:g}", e["at"],
                      f"{e['expected_delay_days']:.1f}")
    console.print(table)


def _save(run: MonitorRun, at: datetime) -> None:
    from twin.store.alerts import save_alerts, save_scores, save_state
    from twin.store.db import make_engine, session_scope
    from twin.store.migrate import require_current

    engine = make_engine()
    require_current(engine)
    with session_scope(engine) as session:
        save_scores(session, scores=run.scores.risk_scores())
        save_alerts(session, alerts=run.episodes)
        save_state(session, state=run.state, at=at)


@handles_errors
def monitor(
    network: Annotated[str, typer.Option(help="A network file, CSV folder or bundled name (demo).")],
    signals: Annotated[Path, typer.Option(help="A signal file or folder (JSON Lines, CSV, CAP XML, DCSA JSON).")],
    shipments: Annotated[Path | None, typer.Option(help="Active shipments (CSV or YAML) to check for exposure.")] = None,
    at: Annotated[str | None, typer.Option(help="Time of the pass (ISO 8601 with zone); default: the latest reading.")] = None,
    horizon: Annotated[str, typer.Option(help="How far ahead exposure looks (e.g. 30d).")] = "30d",
    save: Annotated[bool, typer.Option("--save", help="Keep scores, episodes and the alert state in the store (TWIN_DATABASE_URL).")] = False,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """One scoring pass: risk scores, open alerts and exposed shipments at --at.

    The alert rules need a history (`for` counts, trends), so they are run over the signals at
    each distinct reading time up to --at (on a regular tick when there are very many).
    """
    loaded, warnings = load_network(network)
    frame, problems = read_signals(signals, loaded)
    try:
        span = parse_duration(horizon)
    except ValueError as exc:
        raise InputError([Problem("--horizon", "", None, str(exc))]) from None
    if at is not None:
        try:
            when = parse_timestamp(at)
        except ValueError as exc:
            raise InputError([Problem("--at", "", None, str(exc))]) from None
    else:
        stamps = pd.to_datetime(frame["ts"], utc=True, errors="coerce").dropna() if len(frame) else []
        if not len(stamps):
            raise InputError([Problem(str(signals), "", None, "no readable signals; give --at to score anyway")])
        when = stamps.max().to_pydatetime()
    ships: list[Shipment] = []
    if shipments is not None:
        from twin.files.shipments import load_shipments

        ships, ship_problems = load_shipments(shipments, loaded)
        warnings += ship_problems
    run = run_monitor(loaded, frame, when, ships, span, ScoringConfig(), AlertRules())
    doc = document(run, when)
    if save:
        _save(run, when)
    report_problems([], [p if p.severity != "error" else Problem(p.file, p.where, p.field, p.message, "warning")
                         for p in warnings + problems])
    if json:
        emit_json(doc)
    else:
        _print(doc)
    if run.scores.unknown_metrics:
        err_console.print(f"not scored (unknown metrics): {', '.join(run.scores.unknown_metrics)}", style="yellow")
