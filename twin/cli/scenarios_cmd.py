"""`twin scenarios …`: validate scenario files and summarise one (SPEC 1.5)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from twin.cli.common import (
    EXIT_BAD_INPUT,
    JsonOpt,
    console,
    emit_json,
    handles_errors,
    report_problems,
)
from twin.domain.problems import InputError, Problem
from twin.files.scenarios import scenario_files

if TYPE_CHECKING:
    from twin.replay.scenario import NetworkCache

app = typer.Typer(help="Check and preview replay scenarios.", no_args_is_help=True)

NetworkOpt = Annotated[
    str | None,
    typer.Option(
        "--network",
        help="Check targets against this network (path or bundled name) "
        "instead of each scenario's own.",
    ),
]


@app.command()
@handles_errors
def validate(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Scenario files or folders (default: scenarios/).")
    ] = None,
    network: NetworkOpt = None,
    json: JsonOpt = False,
) -> None:
    """Validate scenarios: schema, window, times, targets on the network; exit 2 listing every
    error with file, entry and field."""
    files = scenario_files(paths or [Path("scenarios")])
    if not files:
        where = ", ".join(str(p) for p in paths or [Path("scenarios")])
        raise InputError([Problem(where, "", None, "no scenario files (*.yaml) found")])
    # The scenario loader (and the optimiser it reaches) is imported when a command runs, so
    # `twin --help` and every other command start fast.
    from twin.replay.scenario import load_scenario

    cache: NetworkCache = {}
    valid: list[str] = []
    errors: list[Problem] = []
    warnings: list[Problem] = []
    first_file: dict[str, Path] = {}
    for path in files:
        try:
            loaded = load_scenario(path, network=network, cache=cache)
        except InputError as exc:
            errors += exc.problems
            warnings += exc.warnings
            continue
        warnings += loaded.warnings
        name = loaded.scenario.name
        if name in first_file:
            # Replays, golden files and reports are keyed by name: two files may not share one.
            errors.append(
                Problem(
                    str(path),
                    "scenario",
                    "name",
                    f"name '{name}' is also used by {first_file[name]}",
                )
            )
            continue
        first_file[name] = path
        valid.append(name)
    if json:
        emit_json(
            {
                "valid": valid,
                "errors": [p.as_dict() for p in errors],
                "warnings": [p.as_dict() for p in warnings],
            }
        )
    else:
        report_problems(errors, warnings)
        if valid:
            console.print(
                f"[green]ok[/]: {len(valid)} of {len(files)} scenarios valid: {', '.join(valid)}"
            )
    if errors:
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command()
@handles_errors
def show(
    path: Annotated[Path, typer.Argument(help="A scenario file.")],
    network: NetworkOpt = None,
    json: JsonOpt = False,
) -> None:
    """Summarise a scenario: window, shipments, signals and effects by target, sources."""
    from twin.replay.scenario import load_scenario

    loaded = load_scenario(path, network=network)
    summary = loaded.scenario.summary()
    if json:
        emit_json(summary)
        return
    report_problems([], loaded.warnings)
    window = summary["window"]
    console.print(
        f"[bold]{summary['name']}[/] on {summary['network']}: {window['start']} .. "
        f"{window['end']} ({window['days']} d, tick {window['tick']}, {window['ticks']} steps)"
    )
    lead = summary["first_warning_lead_h"]
    if lead is not None:
        when = "before" if lead >= 0 else "after"
        console.print(f"first signal {abs(lead)} h {when} the first effect")
    table = Table(title="effects by target")
    table.add_column("target")
    table.add_column("kinds")
    for target, kinds in summary["effects"]["by_target"].items():
        table.add_row(target, ", ".join(f"{k} x{n}" for k, n in kinds.items()))
    console.print(table)
    signals = Table(title="signals by target")
    signals.add_column("target")
    signals.add_column("count", justify="right")
    for target, count in summary["signals"]["by_target"].items():
        signals.add_row(target, str(count))
    console.print(signals)
    for source in summary["sources"]:
        console.print(f"- {source['title']}: {source['url']}", markup=False, highlight=False)
