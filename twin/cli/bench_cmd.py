"""`twin bench`: the benchmark figures (SPEC 2), one object per measured part."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from twin.cli.common import console, emit_json, err_console, handles_errors


@handles_errors
def bench(
    size: Annotated[
        str, typer.Option(help="Problem size: S, M or L; XL for the congested planner only.")
    ] = "L",
    part: Annotated[
        list[str] | None, typer.Option("--part", help="Only these parts (repeatable).")
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Measure load, ingest, scoring, planning and replay; each part runs in a fresh process."""
    from twin.bench.runner import XL_PARTS, available_parts, run_part
    from twin.domain.problems import InputError, Problem

    size = size.upper()
    if size not in ("S", "M", "L", "XL"):
        raise InputError([Problem("--size", "", "size", f"must be S, M, L or XL (got {size!r})")])
    parts = available_parts()
    if size == "XL":
        parts = [p for p in parts if p in XL_PARTS]
    if part:
        unknown = sorted(set(part) - set(parts))
        if unknown:
            raise InputError(
                [Problem("--part", "", "part", f"unknown part(s) {unknown}; have {parts}")]
            )
        parts = [p for p in parts if p in part]
    figures: dict[str, dict] = {}
    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task("benchmarking", total=len(parts))
        for name in parts:
            progress.update(task, description=f"bench {name} ({size})")
            figures.update(run_part(name, size))
            progress.advance(task)
    if json:
        emit_json(figures)
        return
    for name, values in figures.items():
        table = Table(title=name)
        table.add_column("figure")
        table.add_column("value", justify="right")
        for key, value in values.items():
            table.add_row(key, str(value))
        console.print(table)
