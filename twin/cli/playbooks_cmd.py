"""`twin playbooks …`: validate playbook files (a dry-run check, like `amtool check-config`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from twin.cli.common import JsonOpt, console, emit_json, err_console, handles_errors

app = typer.Typer(help="Check the playbooks that act on alerts.", no_args_is_help=True)


@app.command()
@handles_errors
def validate(
    folder: Annotated[str, typer.Argument(help="A playbook folder or file.")] = "playbooks",
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="The daemon's twin.toml: its network, notify channels and scoring are checked "
            "against (default: ./twin.toml if there is one).",
        ),
    ] = None,
    network: Annotated[
        str | None,
        typer.Option(help="The network targets must be in (default: the configuration's)."),
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Validate playbooks; exit 2 listing every error with file and field.

    Besides the format: dimensions no signal has, targets not in the network and notify channels
    the configuration does not have are errors, with the nearest known name."""
    # Imported when the command runs, so `twin --help` and every other command start fast.
    from twin.domain.settings import TwinConfig
    from twin.files.config import load_config
    from twin.files.networks import load_network
    from twin.files.playbooks import playbooks_for

    if config is None and Path("twin.toml").is_file():
        config = Path("twin.toml")
    settings = load_config(config) if config is not None else TwinConfig()
    net, _ = load_network(network or settings.network)
    playbooks, warnings = playbooks_for(settings, net, folder)
    if config is None:
        # Without a configuration no channel is known: say so rather than warn about each.
        warnings = [w for w in warnings if not (w.field or "").endswith("notify.channel")]
    if json:
        emit_json(
            {
                "ok": True,
                "valid": True,
                "network": net.name,
                "config": str(config) if config is not None else None,
                "warnings": [w.as_dict() for w in warnings],
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
    for warning in warnings:
        err_console.print(str(warning), style="yellow", markup=False, highlight=False)
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
    checked = f"network {net.name}" + (
        f", channels of {config}" if config is not None else " (channels not checked: --config)"
    )
    console.print(f"[green]ok[/]: {len(playbooks)} playbooks valid against {checked}")
