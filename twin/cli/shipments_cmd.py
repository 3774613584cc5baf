"""`twin shipments …`: generate a realistic mix, validate a shipment file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from twin.cli.common import (
    ColumnMapOpt,
    JsonOpt,
    MappingFileOpt,
    console,
    emit_json,
    err_console,
    handles_errors,
    report_problems,
)
from twin.domain.durations import format_timestamp, parse_timestamp
from twin.domain.problems import InputError, Problem
from twin.files.networks import load_network
from twin.files.shipments import load_shipments, read_mapping, write_shipments

app = typer.Typer(help="Generate and check shipment files.", no_args_is_help=True)


@app.command()
@handles_errors
def generate(
    network: Annotated[str, typer.Option(help="Network file or bundled name.")] = "demo",
    days: Annotated[int, typer.Option(help="Days of ready dates.", min=1)] = 30,
    per_day: Annotated[int, typer.Option("--per-day", help="Shipments per day.", min=1)] = 40,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same file.")] = 0,
    start: Annotated[
        str | None, typer.Option(help="First ready day (ISO 8601); default today 00:00Z.")
    ] = None,
    out: Annotated[Path, typer.Option("-o", "--out", help="Output .csv or .yaml file.")] = Path(
        "shipments.csv"
    ),
) -> None:
    """Draw a realistic shipment mix (markets, modes, priorities, due dates) on a network."""
    from twin.shipments.generate import generate_shipments

    loaded, _ = load_network(network)
    if start is None:
        first = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        try:
            first = parse_timestamp(start)
        except ValueError as exc:
            raise InputError([Problem("--start", "", "start", str(exc))]) from None
    try:
        shipments = generate_shipments(loaded, start=first, days=days, per_day=per_day, seed=seed)
    except ValueError as exc:
        raise InputError([Problem(network, "", None, str(exc))]) from None
    write_shipments(shipments, out)
    err_console.print(
        f"wrote {out}: {len(shipments)} shipments, ready from {format_timestamp(first)}, "
        f"{sum(s.units for s in shipments):,.1f} {loaded.unit}"
    )


@app.command()
@handles_errors
def validate(
    shipments: Annotated[Path, typer.Argument(help="A .csv or .yaml shipment file.")],
    network: Annotated[
        str | None, typer.Option(help="Check origins and destinations against it.")
    ] = None,
    map_: ColumnMapOpt = None,
    mapping: MappingFileOpt = None,
    json: JsonOpt = False,
) -> None:
    """Validate a shipment file; exit 2 listing every error.

    An ERP or TMS export is read as it is with a column mapping (--map ORDER_NO=id ...);
    `ready_at` and `due_at` may be dates alone (ready from 00:00Z, due by 23:59:59Z)."""
    net = load_network(network)[0] if network else None
    loaded, warnings = load_shipments(shipments, net, mapping=read_mapping(map_ or [], mapping))
    if json:
        emit_json(
            {
                "ok": True,
                "valid": True,
                "shipments": len(loaded),
                "units": sum(s.units for s in loaded),
                "warnings": [w.as_dict() for w in warnings],
            }
        )
        return
    report_problems([], warnings)
    console.print(
        f"[green]ok[/]: {len(loaded)} shipments, {sum(s.units for s in loaded):,.1f} units"
    )
