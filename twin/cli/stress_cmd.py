"""`twin stress`: close each network element for a span, re-plan, rank the damage (docs/stress.md)."""

from __future__ import annotations

import csv
import json as jsonlib
import time
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from twin.cli.common import console, emit_json, handles_errors, report_problems
from twin.domain.durations import parse_timestamp
from twin.domain.problems import InputError, Problem

_COLUMNS = (
    "rank",
    "label",
    "kind",
    "affected_shipments",
    "affected_units",
    "added_cost",
    "unserved_units",
    "late_units",
    "status",
    "gap",
    "margin_lost",
    "time_to_survive_days",
)


@handles_errors
def stress(
    network: Annotated[
        str, typer.Option(help="A network file, CSV folder or bundled name (demo).")
    ] = "demo",
    shipments: Annotated[
        Path | None,
        typer.Option(help="Shipments (CSV or YAML); default: a seeded generated mix."),
    ] = None,
    element: Annotated[
        list[str] | None,
        typer.Option(help="A node, lane or chokepoint id to close; repeat (default: all)."),
    ] = None,
    kind: Annotated[
        list[str] | None,
        typer.Option(help="Only elements of this kind: node, lane, chokepoint; repeat."),
    ] = None,
    pairs: Annotated[
        bool, typer.Option("--pairs", help="Close every pair of the chosen elements together.")
    ] = False,
    start_day: Annotated[
        int, typer.Option("--from-day", help="First closed day, counted from the plan's now.")
    ] = 0,
    days: Annotated[int, typer.Option(help="Days each element stays closed.")] = 14,
    at: Annotated[
        str | None,
        typer.Option(help="The plan's `now` (ISO 8601 with zone); default: first ready time."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="A dask scheduler address: fan the sweep out over its workers."),
    ] = None,
    time_limit: Annotated[float, typer.Option(help="Seconds each solve may take.")] = 120.0,
    top: Annotated[int, typer.Option(help="Rows in the printed table.")] = 25,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the ranking (.json or .csv).")
    ] = None,
    chart: Annotated[
        Path | None, typer.Option(help="Write a bar chart of the top elements (.png).")
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Close each node, lane and chokepoint (or the chosen ones, or pairs) for a span of days,
    re-plan the freight it carried, and rank the elements by added cost, then unserved and
    late units. Exit 0 with a ranking, 2 on bad input."""
    from twin.files.networks import load_network
    from twin.files.shipments import load_shipments
    from twin.network.graph import NetworkView
    from twin.optimise import PlanRequest, SolveOptions
    from twin.shipments.generate import generate_shipments
    from twin.stress import KINDS, closures, elements_of, sweep
    from twin.stress.sweep import kind_of

    loaded, warnings = load_network(network)
    problems: list[Problem] = []
    for k in kind or []:
        if k not in KINDS:
            problems.append(Problem("--kind", k, None, f"use one of {', '.join(KINDS)}"))
    for e in element or []:
        try:
            kind_of(loaded, e)
        except ValueError as exc:
            problems.append(Problem("--element", e, None, str(exc)))
    if days < 1:
        problems.append(Problem("--days", str(days), None, "must be at least 1"))
    if start_day < 0:
        problems.append(Problem("--from-day", str(start_day), None, "must be 0 or more"))
    for path, suffixes, flag in ((output, (".json", ".csv"), "-o"), (chart, (".png",), "--chart")):
        if path is not None and path.suffix.lower() not in suffixes:
            problems.append(Problem(flag, str(path), None, f"use a {' or '.join(suffixes)} file"))
    now = None
    if at is not None:
        try:
            now = parse_timestamp(at)
        except ValueError as exc:
            problems.append(Problem("--at", at, None, str(exc)))
    if problems:
        raise InputError(problems)
    if shipments is not None:
        ships, ship_warnings = load_shipments(shipments, loaded)
        warnings = list(warnings) + list(ship_warnings)
    else:
        first = now or parse_timestamp("2024-03-01T00:00:00Z")
        ships = generate_shipments(loaded, start=first, days=7, per_day=20, seed=1)
    if not ships:
        raise InputError([Problem(str(shipments), "", None, "no shipments to plan")])
    now = now or min(s.ready_at for s in ships)
    chosen = list(element or []) or [e for e, _ in elements_of(loaded, kind or KINDS)]
    if kind and element:
        chosen = [e for e in chosen if kind_of(loaded, e) in set(kind)]
    scenarios = closures(chosen, start_day, days, pairs)
    client = _client(scheduler) if scheduler else None
    try:
        report = sweep(
            NetworkView(loaded),
            PlanRequest(now=now, shipments=tuple(ships)),
            scenarios,
            SolveOptions(time_limit_s=time_limit),
            clock=time.perf_counter,
            client=client,
        )
    finally:
        if client is not None:
            client.close()
    report_problems([], warnings)
    doc = report.to_document()
    doc["span"] = {
        "from": (now + timedelta(days=start_day)).isoformat(),
        "days": days,
        "pairs": pairs,
    }
    if output is not None:
        _write(output, doc)
    if chart is not None:
        _chart(chart, doc, top, loaded.currency)
    if json:
        emit_json(doc)
    else:
        _print(doc, top, loaded.currency)


def _client(address: str) -> Any:
    try:
        from dask.distributed import Client
    except ImportError:
        raise InputError(
            [Problem("--scheduler", address, None, "install dask[distributed] to use a cluster")]
        ) from None
    try:
        return Client(address, timeout=10)
    except OSError as exc:
        raise InputError([Problem("--scheduler", address, None, str(exc))]) from None


def _write(path: Path, doc: dict[str, Any]) -> None:
    if path.suffix.lower() == ".json":
        path.write_text(jsonlib.dumps(doc, indent=2, default=str) + "\n")
        return
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(_COLUMNS), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(doc["elements"])


def _chart(path: Path, doc: dict[str, Any], top: int, currency: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = doc["elements"][:top][::-1]
    fig, ax = plt.subplots(figsize=(9, 0.3 * len(rows) + 1.5))
    ax.barh([r["label"] for r in rows], [r["added_cost"] for r in rows], color="#b33")
    ax.set_xlabel(f"added cost ({currency})")
    ax.set_title(f"stress: top {len(rows)} elements by added cost")
    for i, r in enumerate(rows):
        ax.annotate(
            f" {r['unserved_units']:,.0f} unserved, {r['late_units']:,.0f} late",
            (r["added_cost"], i),
            va="center",
            fontsize=7,
        )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _print(doc: dict[str, Any], top: int, currency: str) -> None:
    base = doc["baseline"]
    table = Table(title=f"stress: {len(doc['elements'])} closures, {doc['span']['days']} days")
    for name in ("rank", "element", "kind", "shipments", f"added cost ({currency})", "unserved",
                 "late"):  # fmt: skip
        table.add_column(name, justify="left" if name in ("element", "kind") else "right")
    for r in doc["elements"][:top]:
        table.add_row(
            str(r["rank"]),
            r["label"],
            r["kind"],
            str(r["affected_shipments"]),
            f"{r['added_cost']:,.2f}",
            f"{r['unserved_units']:,.2f}",
            f"{r['late_units']:,.2f}",
        )
    console.print(table)
    t = doc["timing"]
    console.print(
        f"baseline {base['status']} {base['objective'] or 0:,.2f} {currency} for "
        f"{base['shipments']} shipments; sweep {t.get('sweep_s', 0):.2f}s"
    )
