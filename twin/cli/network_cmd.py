"""`twin network …`: validate, show, export, build from facilities, generate synthetic."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from twin.cli.common import (
    JsonOpt,
    console,
    emit_json,
    err_console,
    handles_errors,
    report_problems,
)
from twin.files.networks import load_network, write_network

app = typer.Typer(help="Load, check, export and build networks.", no_args_is_help=True)

NetworkArg = Annotated[
    str, typer.Argument(help="A network file, CSV folder or bundled name (demo).")
]


@app.command()
@handles_errors
def validate(network: NetworkArg, json: JsonOpt = False) -> None:
    """Validate a network; exit 2 listing every error with file, entry and field."""
    loaded, warnings = load_network(network)
    if json:
        emit_json(
            {
                "valid": True,
                "summary": loaded.summary(),
                "warnings": [w.as_dict() for w in warnings],
            }
        )
        return
    report_problems([], warnings)
    summary = loaded.summary()
    console.print(
        f"[green]ok[/]: {summary['name']}: {summary['nodes']} nodes, {summary['lanes']} lanes"
    )


@app.command()
@handles_errors
def show(network: NetworkArg, json: JsonOpt = False) -> None:
    """Summarise a network: nodes and lanes by kind and mode."""
    loaded, warnings = load_network(network)
    summary = loaded.summary()
    if json:
        emit_json(summary)
        return
    report_problems([], warnings)
    console.print(
        f"[bold]{summary['name']}[/]: {summary['nodes']} nodes, {summary['lanes']} lanes "
        f"(unit {loaded.unit}, currency {loaded.currency})"
    )
    for title, counts in (("node kind", summary["by_kind"]), ("lane mode", summary["by_mode"])):
        table = Table(title=f"by {title}")
        table.add_column(title)
        table.add_column("count", justify="right")
        for key, count in counts.items():
            table.add_row(key, str(count))
        console.print(table)


@app.command()
@handles_errors
def export(
    network: NetworkArg,
    out: Annotated[Path, typer.Option("-o", "--out", help="Where to write the SPEC 1.1 YAML.")],
) -> None:
    """Write a network (a bundled one too) as SPEC 1.1 YAML, a start for your own network."""
    loaded, _ = load_network(network)
    write_network(loaded, out)
    err_console.print(f"wrote {out}: {len(loaded.nodes)} nodes, {len(loaded.lanes)} lanes")


@app.command()
@handles_errors
def generate(
    out: Annotated[Path, typer.Option("-o", "--out", help="Where to write the network YAML.")],
    nodes: Annotated[int, typer.Option(help="Number of nodes (>= 20).", min=20)] = 200,
    lanes: Annotated[int, typer.Option(help="Number of lanes.", min=1)] = 2000,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed gives the same network.")
    ] = 0,
) -> None:
    """A synthetic, connected network of the given size, for benchmarks."""
    from twin.network.synthetic import generate_network

    try:
        network = generate_network(nodes, lanes, seed)
    except ValueError as exc:
        from twin.domain.problems import InputError, Problem

        raise InputError([Problem("--lanes", "", "lanes", str(exc))]) from None
    write_network(
        network, out, comment=f"twin network generate --nodes {nodes} --lanes {lanes} --seed {seed}"
    )
    err_console.print(f"wrote {out}: {len(network.nodes)} nodes, {len(network.lanes)} lanes")


@app.command()
@handles_errors
def build(
    facilities: Annotated[
        Path, typer.Argument(help="A facility list (YAML); see docs/networks.md.")
    ],
    out: Annotated[Path, typer.Option("-o", "--out", help="Where to write the network YAML.")],
    parameters: Annotated[
        Path | None,
        typer.Option("--parameters", help="Lane parameter table (default: the bundled one)."),
    ] = None,
) -> None:
    """A network from a facility list: real sea routes, great-circle air, rail and road lanes."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from twin.files.geodata import OfflineGeoData, read_facilities, read_lane_parameters
    from twin.network.build import build_network, sea_route_calls

    facility_file = read_facilities(facilities)
    table = read_lane_parameters(parameters)
    columns = (TextColumn("sea routes"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("route", total=sea_route_calls(facility_file, table))
        network = build_network(
            facility_file,
            table,
            OfflineGeoData(),
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    command = f"twin network build {facilities} -o {out}"
    if parameters is not None:
        command += f" --parameters {parameters}"
    write_network(
        network,
        out,
        comment=(
            f"Generated by `{command}` from {facilities.name}; do not edit by hand, edit the\n"
            "facility list and rebuild. Sea distances from searoute, airports from airportsdata,\n"
            "lane figures from the lane parameter table (see docs/networks.md)."
        ),
    )
    err_console.print(f"wrote {out}: {len(network.nodes)} nodes, {len(network.lanes)} lanes")
