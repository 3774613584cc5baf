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
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="A twin.toml: its database_url and [serve] settings (external_url, "
            "cookie_secure, api_docs_public, sign-in limits).",
        ),
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

    Cookie sessions are signed with TWIN_SECRET_KEY (set it to keep sessions across restarts).
    """
    import uvicorn

    from twin.api.app import create_app

    if clock != "wall" and not Path(clock).exists():
        err_console.print(f"--clock {clock}: no such clock file", style="red", markup=False)
        raise typer.Exit(2)
    loaded = None
    if config is not None:
        from twin.files.config import load_config

        loaded = load_config(config)
    app = create_app(
        loaded.database_url if loaded else None,
        network=network,
        clock=clock if clock == "wall" else str(Path(clock).resolve()),
        serve=loaded.serve if loaded else None,
    )
    err_console.print(
        f"twin console on http://{host}:{port}/ (API docs at /api/docs)", markup=False
    )
    # server_header=False: no `server: uvicorn` banner.
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=2,
        server_header=False,
    )
