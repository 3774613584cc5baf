"""`twin playbooks …`: validate playbook files (a dry-run check, like `amtool check-config`)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from twin.cli.common import console, emit_json, handles_errors
from twin.files.playbooks import load_playbooks

app = typer.Typer(help="Check the playbooks that act on alerts.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


@app.command()
@handles_errors
def validate(
    folder: Annotated[str, typer.Argument(help="A playbook folder or file.")] = "playbooks",
    json: JsonOpt = False,
) -> None:
    """Validate playbooks; exit 2 listing every error with file and field."""
    playbooks = load_playbooks(folder)
    if json:
        emit_json(
            {
                "valid": True,
                "playbooks": [
                    {
                        "id": p.id,
                        "approval": p.approval,
                        "shadow": p.shadow,
                        "actions": [name for name, _ in p.steps()],
                        "match": p.match.model_dump(exclude_none=True, mode="json"),
                    }
                    for p in playbooks
                ],
            }
        )
        return
    table = Table(title=f"{len(playbooks)} playbooks in {folder}")
    for column in ("id", "match", "actions", "approval"):
        table.add_column(column)
    for p in playbooks:
        match = ", ".join(
            f"{k}={'|'.join(map(str, v))}"
            for k, v in p.match.model_dump(exclude_none=True, mode="json").items()
        )
        table.add_row(
            p.id,
            match,
            ", ".join(name for name, _ in p.steps()),
            p.approval + (" (shadow)" if p.shadow else ""),
        )
    console.print(table)
    console.print(f"[green]ok[/]: {len(playbooks)} playbooks valid")
