"""`twin serve`: the on-call web console and JSON API (uvicorn)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from twin.cli.common import err_console, handles_errors


@handles_errors
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8080,
    network: Annotated[
        str | None,
        typer.Option("--network", help="Stored network the map shows (default: the newest)."),
    ] = None,
    clock: Annotated[
        str,
        typer.Option(
            "--clock",
            help="The daemon's clock: `wall`, or the simulated clock file it runs on (the demo's "
            "clock.json); pages and decisions use its time.",
        ),
    ] = "wall",
) -> None:
    """Serve the on-call console (pages at /, JSON API at /api, its docs at /api/docs).

    Sign-in sessions are signed with TWIN_SECRET_KEY (set it to keep sessions across restarts).
    """
    import uvicorn

    from twin.api.app import create_app

    if clock != "wall" and not Path(clock).exists():
        err_console.print(f"--clock {clock}: no such clock file", style="red", markup=False)
        raise typer.Exit(2)
    app = create_app(
        network=network, clock=clock if clock == "wall" else str(Path(clock).resolve())
    )
    err_console.print(
        f"twin console on http://{host}:{port}/ (API docs at /api/docs)", markup=False
    )
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=2)
