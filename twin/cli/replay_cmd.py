"""`twin replay SCENARIO`: blind, news, engine, forewarned, hindsight, simulated clock (SPEC 2)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from twin.cli.common import console, emit_json, err_console, handles_errors, playbook_library


@handles_errors
def replay(
    scenario: Annotated[Path, typer.Argument(help="A scenario file (SPEC 1.5).")],
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write an HTML and Markdown report here.")
    ] = None,
    playbooks: Annotated[Path, typer.Option(help="The playbook folder.")] = Path("playbooks"),
    seed: Annotated[int | None, typer.Option(help="Override the scenario's seed.")] = None,
    no_approve: Annotated[
        bool, typer.Option("--no-approve", help="Approval-required playbooks count as not applied.")
    ] = False,
    runs: Annotated[
        int,
        typer.Option(help="Monte Carlo: replay N sampled worlds and report distributions.", min=1),
    ] = 1,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Processes. One replay: blind, forewarned and hindsight run beside the engine "
            "(default min(2, CPUs); 1 runs all in one). With --runs: local workers (default 2).",
            min=1,
        ),
    ] = None,
    executor: Annotated[str, typer.Option(help="local, dask or ray (for --runs).")] = "local",
    scheduler: Annotated[str | None, typer.Option(help="Cluster address for dask or ray.")] = None,
) -> None:
    """Replay a scenario: the same world planned blind, by the news, by the engine, forewarned,
    in hindsight."""
    from twin.replay.run import replay as run_replay
    from twin.replay.scenario import load_scenario

    loaded = load_scenario(scenario)
    library = playbook_library(playbooks)
    if runs > 1:
        from twin.replay.montecarlo import monte_carlo

        doc = monte_carlo(
            loaded, library, runs, workers=workers, executor=executor, scheduler=scheduler
        )
        _finish(doc, json)
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def progress(name: str, step: int, steps: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(f"{loaded.scenario.name}: {name}", total=steps)
            bar.update(tasks[name], completed=step)

        doc = run_replay(
            loaded,
            library,
            approve=not no_approve,
            seed=seed,
            progress=progress,
            workers=workers if workers is not None else min(2, os.cpu_count() or 1),
        )
    runs_detail = doc.pop("_runs")
    if report is not None:
        from twin.replay.report import write_report

        written = write_report(doc, runs_detail, loaded, report)
        err_console.print("wrote " + ", ".join(str(p) for p in written))
    _finish(doc, json)


def _finish(doc: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(doc)
        return
    if "runs" in doc:  # Monte Carlo: distributions, not single figures
        table = Table(title=f"replay {doc.get('scenario')}: {doc['runs']} sampled worlds")
        for column in ("run", "kpi", "mean", "p5", "p95"):
            table.add_column(column, justify="right" if column in ("mean", "p5", "p95") else "left")
        for run in ("blind", "news", "engine", "forewarned", "hindsight"):
            for kpi, dist in (doc.get(run) or {}).items():
                if isinstance(dist, dict) and "mean" in dist:
                    table.add_row(
                        run,
                        kpi,
                        *(
                            f"{dist.get(k):,.4g}" if isinstance(dist.get(k), (int, float)) else "–"
                            for k in ("mean", "p5", "p95")
                        ),
                    )
        console.print(table)
        return
    table = Table(title=f"replay {doc.get('scenario')}")
    table.add_column("run")
    for key in ("on_time_rate", "late_units", "transport_cost", "lateness_cost", "total_cost"):
        table.add_column(key, justify="right")
    table.add_column("co2e_kg", justify="right")
    for run in ("blind", "news", "engine", "forewarned", "hindsight"):
        kpis = doc.get(run)
        if isinstance(kpis, dict) and "total_cost" in kpis:
            table.add_row(
                run,
                *(
                    f"{kpis[k]:,.4g}"
                    if isinstance(kpis[k], float) and k == "on_time_rate"
                    else f"{kpis[k]:,.0f}"
                    for k in (
                        "on_time_rate",
                        "late_units",
                        "transport_cost",
                        "lateness_cost",
                        "total_cost",
                    )
                ),
                f"{kpis.get('co2e_kg', 0):,.0f}",
            )
    console.print(table)
    engine = doc.get("engine", {})
    if "reroutes" in engine:
        console.print(
            f"engine: {engine['reroutes']} shipments re-routed, {engine.get('holds', 0)} held, "
            f"{engine.get('expedites', 0)} expedited, {engine.get('diversions', 0)} diverted; "
            f"warning lead per event {engine.get('warning_lead_h_per_event')} h; "
            f"{len(doc.get('playbook_runs', []))} playbook runs"
        )
    saving = doc.get("saving") or {}
    if saving.get("disruption_cost") is not None:
        console.print(
            f"the disruption costs {saving['disruption_cost']:,.0f} if nobody acts; the engine saves "
            f"{saving['engine_vs_blind']:,.0f} against blind and {saving['engine_vs_news']:,.0f} "
            f"against news; hindsight (the bound) {saving['hindsight_vs_blind']:,.0f} (captured "
            f"share {saving['captured_share']}); forewarned {saving['forewarned_vs_blind']:,.0f} "
            f"(captured share {saving['captured_share_of_forewarned']})"
        )
    _print_stock(console, doc)


def _print_stock(out: Console, doc: dict[str, Any]) -> None:
    """The sales table of a replay with stock data (docs/replay.md, Replays with demand)."""
    if "engine_stock" not in doc:
        return
    table = Table(title="sales and stock (the world sells day by day)")
    table.add_column("run")
    keys = ("fill_rate", "lost_units", "lost_margin", "stockout_days", "holding_cost")
    for key in (*keys, "stock_total_cost", "total_cost"):
        table.add_column(key, justify="right")
    for run in ("blind", "news", "engine", "engine_stock", "forewarned", "hindsight"):
        stock = doc[run]["stock"]
        table.add_row(
            run,
            f"{100 * (stock['fill_rate'] or 0):.2f} %",
            *(f"{stock[k]:,.0f}" for k in keys[1:]),
            f"{stock['stock_total_cost']:,.0f}",
            f"{doc[run]['total_cost']:,.0f}",
        )
    out.print(table)
    saving = doc["stock_saving"]
    out.print(
        f"the stock-aware engine saves {saving['engine_stock_vs_engine']:,.0f} of the seller's "
        "cost against the lateness-priced engine; lost margin "
        f"{doc['engine']['stock']['lost_margin']:,.0f} (engine) against "
        f"{doc['engine_stock']['stock']['lost_margin']:,.0f} (engine_stock)"
    )
