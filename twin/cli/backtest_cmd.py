"""`twin backtest SCENARIO...` (alert quality per rule) and `twin calibrate` (tuned thresholds)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from twin.cli.common import console, emit_json, err_console, handles_errors, playbook_library


def _load(paths: list[Path]) -> list[Any]:
    from twin.replay.scenario import load_scenario

    cache: dict[str, Any] = {}
    return [load_scenario(p, cache=cache) for p in paths]


@handles_errors
def backtest(
    scenarios: Annotated[list[Path], typer.Argument(help="Scenario files (SPEC 1.5).")],
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    playbooks: Annotated[Path, typer.Option(help="The playbook folder.")] = Path("playbooks"),
) -> None:
    """Alert quality per rule (dimension x target kind) over the scenarios' engine runs."""
    from twin.replay.backtest import backtest as run_backtest

    doc = run_backtest(_load(scenarios), playbook_library(playbooks))
    if json:
        emit_json(doc)
        return
    table = Table(title="backtest: " + ", ".join(s["scenario"] for s in doc["scenarios"]))
    columns = ("alerts", "unmuted", "mean_lead_h", "precision", "recall", "false_alarms_per_30d")
    table.add_column("rule")
    for column in columns:
        table.add_column(column, justify="right")
    for row in doc["rules"]:
        table.add_row(
            f"{row['dimension']} / {row['kind']}",
            *("-" if row[c] is None else f"{row[c]:g}" for c in columns),
        )
    console.print(table)


@handles_errors
def calibrate(
    scenarios: Annotated[list[Path], typer.Argument(help="Training scenario files.")],
    holdout: Annotated[
        list[Path], typer.Option("--holdout", help="A holdout scenario (repeat for more).")
    ],
    budget: Annotated[int, typer.Option(help="Evaluations, the defaults included.", min=1)] = 8,
    seed: Annotated[int, typer.Option(help="Seed of the random search.")] = 0,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the tuned [scoring] and [alerts] tables here."),
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    playbooks: Annotated[Path, typer.Option(help="The playbook folder.")] = Path("playbooks"),
    workers: Annotated[int, typer.Option(help="Parallel evaluations.", min=1)] = 2,
) -> None:
    """Tune alert thresholds, `for` counts and expected delays by replaying scenarios."""
    from twin.replay.calibrate import calibrate as run_calibrate
    from twin.replay.calibrate import tuned_toml

    doc = run_calibrate(
        _load(scenarios),
        _load(holdout),
        playbook_library(playbooks),
        budget=budget,
        seed=seed,
        workers=workers,
    )
    if out is not None:
        out.write_text(tuned_toml(doc["tuned"]))
        doc["written"] = str(out)
        err_console.print(f"wrote {out}")
    if json:
        emit_json(doc)
        return
    table = Table(title=f"calibrate: {budget} evaluations, best #{doc['best_index']}")
    for column in (
        "set",
        "settings",
        "objective",
        "engine_total_cost",
        "false_alarms",
        "saving_vs_baseline",
    ):
        table.add_column(column, justify="right" if column not in ("set", "settings") else "left")
    for part in ("train", "holdout"):
        for which in ("defaults", "best"):
            row = doc.get(part, {}).get(which)
            if row:
                table.add_row(
                    part,
                    which,
                    f"{row['objective']:,.0f}",
                    f"{row['engine_total_cost']:,.0f}",
                    str(row["false_alarms"]),
                    f"{row['saving_vs_baseline']:,.0f}",
                )
    console.print(table)
