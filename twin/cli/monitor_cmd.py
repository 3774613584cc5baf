"""`twin monitor`: score signals, run the alert rules over the signal history, list exposed shipments."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from twin.cli.common import console, emit_json, err_console, handles_errors, report_problems
from twin.domain.durations import parse_duration, parse_timestamp
from twin.domain.problems import InputError, Problem
from twin.domain.records import Shipment
from twin.domain.settings import StockSettings
from twin.files.networks import load_network


def _print(doc: dict[str, Any]) -> None:
    """The pass for a person: causes first (scores a lane only inherits are counted, not
    listed; alerts muted by their root alert likewise), exposure summed per cause."""
    console.print(
        f"[bold]monitor[/] at {doc['at']} ({doc['passes']} passes over the signal history)"
    )
    own = [s for s in doc["scores"] if s["score"] >= 0.2 and s["target"] in s["sources"]]
    inherited = sum(1 for s in doc["scores"] if s["score"] >= 0.2 and s not in own)
    if own:
        table = Table(title="risk scores (>= 0.2) where signals report them")
        for column in ("target", "dimension", "score", "why"):
            table.add_column(column, overflow="fold")
        for s in own:
            table.add_row(s["target"], s["dimension"], f"{s['score']:.2f}", s["explain"])
        console.print(table)
    else:
        console.print("risk scores: none >= 0.2 (the signals report nothing worrying)")
    if inherited:
        console.print(f"  + {inherited} lanes through them carry the same risk (--json lists them)")
    roots = [a for a in doc["alerts"] if not a["inhibited_by"]]
    muted = len(doc["alerts"]) - len(roots)
    if roots:
        table = Table(title="open alerts")
        for column in ("severity", "target", "dimension", "score", "opened", "lanes", "silenced"):
            table.add_column(column, overflow="fold")
        for a in roots:
            style = "red" if a["severity"] == "critical" else "yellow"
            echoes = sum(1 for other in doc["alerts"] if other["inhibited_by"] == a["id"])
            table.add_row(
                f"[{style}]{a['severity']}[/]",
                a["target"],
                a["dimension"],
                f"{a['score']:.2f}",
                a["opened_at"]
                + (f" (forecast {a['forecast_cross_at']})" if a["forecast_cross_at"] else ""),
                str(echoes) if echoes else "",
                a["silenced_by"] or "",
            )
        console.print(table)
        if muted:
            console.print(f"  {muted} lane alerts are muted by the alert on what they pass")
    else:
        console.print("open alerts: none")
    for a in roots:
        for line in a.get("chain", []):
            console.print(f"  {a['target']} stock: {line}", soft_wrap=True)
    if doc.get("stock") is not None:
        short = [w for w in doc["stock"] if w["margin_at_risk"] > 0]
        table = Table(
            title=f"stock: {len(short)} of {len(doc['stock'])} warehouses short within lead time"
        )
        for column in (
            "warehouse",
            "lead time d",
            "SKUs short",
            "first out",
            "margin at risk",
            "of it from delays",
        ):
            table.add_column(column)
        for w in short:
            table.add_row(
                w["warehouse"],
                f"{w['lead_time_days']:g}",
                str(w["skus_short"]),
                w["first_stockout_on"] or "",
                f"{w['margin_at_risk']:,.0f}",
                f"{w['margin_at_risk'] - w['margin_at_risk_without_delays']:,.0f}",
            )
        console.print(table)
    if doc["exposed"]:
        by_cause: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for e in doc["exposed"]:
            by_cause.setdefault((e["target"], e["dimension"]), []).append(e)
        table = Table(title="exposed shipments, by cause")
        for column in ("target", "dimension", "shipments", "units", "first met", "delay d (mean)"):
            table.add_column(column)
        for (target, dimension), hits in sorted(by_cause.items(), key=lambda kv: -len(kv[1])):
            table.add_row(
                target,
                dimension,
                str(len({e["shipment"] for e in hits})),
                f"{sum(e['units'] for e in hits):,.1f}",
                min(e["at"] for e in hits),
                f"{sum(e['expected_delay_days'] for e in hits) / len(hits):.1f}",
            )
        console.print(table)
    elif doc.get("shipments_checked"):
        console.print("exposed shipments: none")
    else:
        console.print("exposed shipments: give --shipments FILE to check a shipment file")


@handles_errors
def monitor(
    network: Annotated[
        str, typer.Option(help="A network file, CSV folder or bundled name (demo).")
    ],
    signals: Annotated[
        Path, typer.Option(help="A signal file or folder (JSON Lines, CSV, CAP XML, DCSA JSON).")
    ],
    shipments: Annotated[
        Path | None, typer.Option(help="Active shipments (CSV or YAML) to check for exposure.")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(help="Time of the pass (ISO 8601 with zone); default: the latest reading."),
    ] = None,
    horizon: Annotated[str, typer.Option(help="How far ahead exposure looks (e.g. 30d).")] = "30d",
    stock: Annotated[
        Path | None,
        typer.Option(
            help="Stock inputs (a folder or .yaml, docs/stock.md): score the stock dimension; "
            "needs --shipments for the SKU lines' freight."
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            help="A twin.toml whose [scoring], [alerts] and [stock] tables apply ([stock] path "
            "is used when --stock is not given)."
        ),
    ] = None,
    save: Annotated[
        bool,
        typer.Option(
            "--save",
            help="Keep scores, episodes and the alert state in the store (TWIN_DATABASE_URL).",
        ),
    ] = False,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """One scoring pass: risk scores, open alerts and exposed shipments at --at.

    The alert rules need a history (`for` counts, trends), so they are run over the signals at
    each distinct reading time up to --at (on a regular tick when there are very many).
    """
    import pandas as pd

    from twin.alerting.rules import AlertRules
    from twin.engine.history_monitor import document, read_signals, run_monitor, save_run
    from twin.scoring.config import ScoringConfig

    loaded, warnings = load_network(network)
    frame, problems, positions = read_signals(signals, loaded)
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
        stamps = (
            pd.to_datetime(frame["ts"], utc=True, errors="coerce").dropna()
            if len(frame)
            else pd.Series(dtype="datetime64[ns, UTC]")
        )
        if not len(stamps):
            raise InputError(
                [Problem(str(signals), "", None, "no readable signals; give --at to score anyway")]
            )
        when = stamps.max().to_pydatetime()
    ships: list[Shipment] = []
    if shipments is not None:
        from twin.files.shipments import load_shipments

        ships, ship_problems = load_shipments(shipments, loaded)
        warnings += ship_problems
    scoring, rules, stock_settings = ScoringConfig(), AlertRules(), StockSettings()
    if config is not None:
        from twin.files.config import alert_rules, load_config, scoring_config

        settings = load_config(config)
        scoring, rules, stock_settings = (
            scoring_config(settings),
            alert_rules(settings),
            settings.stock,
        )
        if stock is None and settings.stock.path is not None:
            stock = config.parent / settings.stock.path
    stock_monitor = None
    if stock is not None:
        from twin.files.stock import load_stock
        from twin.stock.monitor import StockMonitor

        if shipments is None:
            raise InputError(
                [Problem("--stock", "", "--shipments", "stock needs the shipments its lines name")]
            )
        inputs, stock_problems = load_stock(stock, loaded, ships)
        warnings += stock_problems
        stock_monitor = StockMonitor(inputs, loaded, stock_settings)
    run = run_monitor(
        loaded,
        frame,
        when,
        ships,
        span,
        scoring,
        rules,
        positions=positions,
        stock=stock_monitor,
    )
    doc = document(run, when)
    doc["shipments_checked"] = len(ships)
    if save:
        save_run(run, when)
    report_problems(
        [],
        [
            p if p.severity != "error" else Problem(p.file, p.where, p.field, p.message, "warning")
            for p in warnings + problems
        ],
    )
    if json:
        emit_json(doc)
    else:
        _print(doc)
    if run.scores.unknown_metrics:
        err_console.print(
            f"not scored (unknown metrics): {', '.join(run.scores.unknown_metrics)}", style="yellow"
        )
