"""`twin daemon --config twin.toml`: the scheduled background daemon (docs/daemon.md)."""

from __future__ import annotations

import json
import logging
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from twin.cli.common import EXIT_BAD_INPUT, EXIT_FAILURE, err_console
from twin.domain.problems import InputError
from twin.domain.settings import ServeSettings

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonLines(logging.Formatter):
    """One JSON object a line: ts, level, logger, msg, and the record's `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        doc.update(
            {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}
        )
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


def setup_logging(json_lines: bool, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonLines()
        if json_lines
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("apscheduler", "alembic", "httpx", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _network_ref(network: str, config: Path) -> str:
    """The config's network as the console can find it: a path relative to the config file's
    folder made absolute, a bundled name as it is."""
    beside = config.parent / network
    return str(beside.resolve()) if not Path(network).is_absolute() and beside.exists() else network


def _serve(
    host: str,
    port: int,
    console: bool,
    database_url: str,
    network: str,
    clock: str = "wall",
    settings: ServeSettings | None = None,
) -> Any:
    """/healthz and /metrics on host:port: the console app with them added (`--serve` and
    twin.api present), else a small built-in server. Returns something with `.shutdown()`."""
    from twin.schedule.metrics import HEALTH, serve_in_thread

    if console:
        from twin.store.db import make_engine
        from twin.store.migrate import upgrade

        upgrade(make_engine(database_url))  # the console refuses an unmigrated store
        try:
            from twin.api.app import create_app
        except ImportError:
            create_app = None  # type: ignore[assignment]
        if create_app is not None:
            import uvicorn
            from fastapi import FastAPI, Response

            from twin.schedule.metrics import metrics_text

            outer = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

            @outer.get("/healthz")
            def healthz() -> dict[str, Any]:
                return HEALTH.document()

            @outer.get("/metrics")
            def metrics() -> Response:
                body, kind = metrics_text()
                return Response(body, media_type=kind)

            outer.mount("/", create_app(database_url, network=network, clock=clock, serve=settings))
            server = uvicorn.Server(
                uvicorn.Config(
                    outer, host=host, port=port, log_level="warning", server_header=False
                )
            )
            thread = threading.Thread(target=server.run, name="twin-console", daemon=True)
            thread.start()

            class _Stop:
                def shutdown(self) -> None:
                    server.should_exit = True
                    thread.join(timeout=5)

            return _Stop()
        logging.getLogger("twin.daemon").warning(
            "--serve: twin.api is not installed; serving /healthz and /metrics only"
        )
    return serve_in_thread(HEALTH, host, port)


def daemon(
    config: Annotated[
        Path, typer.Option("--config", help="The daemon configuration (SPEC 1.6).")
    ] = Path("twin.toml"),
    serve: Annotated[
        bool,
        typer.Option(
            "--serve", help="Also serve the on-call console (twin.api) on [serve] host:port."
        ),
    ] = False,
    log_json: Annotated[bool, typer.Option("--log-json", help="Log JSON lines on stderr.")] = False,
    host: Annotated[str | None, typer.Option("--host", help="Override [serve] host.")] = None,
    port: Annotated[
        int | None, typer.Option("--port", help="Override [serve] port (0: no HTTP server).")
    ] = None,
    clock: Annotated[
        str,
        typer.Option(
            "--clock",
            help="`wall`, or a simulated clock file "
            "({start, wall_start, speed}) as `twin demo` writes.",
        ),
    ] = "wall",
) -> None:
    """Run the scheduled daemon: feeds, monitor passes, re-planning; one leader per database.

    Exits 0 after SIGTERM / SIGINT (the job in hand finishes, the lock is released), 2 for a
    bad configuration, 1 if another daemon holds a SQLite store.
    """
    from twin.engine.daemon import Daemon, DaemonOptions, install_signal_handlers
    from twin.files.config import load_config
    from twin.schedule.leader import AlreadyRunning
    from twin.schedule.metrics import HEALTH
    from twin.store.db import database_url

    setup_logging(log_json)
    log = logging.getLogger("twin.daemon")
    try:
        loaded = load_config(config)
    except InputError as exc:
        for problem in exc.problems:
            err_console.print(str(problem), style="red", markup=False, highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except OSError as exc:
        err_console.print(f"{config}: {exc.strerror or exc}", style="red", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    if clock != "wall" and not Path(clock).exists():
        err_console.print(f"--clock {clock}: no such clock file", style="red", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    clock_spec = clock if clock == "wall" else str(Path(clock).resolve())
    import os

    HEALTH.pid = os.getpid()
    runner = Daemon(DaemonOptions(config_path=config, config=loaded, clock=clock_spec))
    install_signal_handlers(runner)
    bind_host, bind_port = host or loaded.serve.host, loaded.serve.port if port is None else port
    server = None
    if bind_port:
        try:
            server = _serve(
                bind_host,
                bind_port,
                serve,
                database_url(loaded.database_url),
                _network_ref(loaded.network, config),
                clock_spec,
                loaded.serve,
            )
        except OSError as exc:
            err_console.print(
                f"cannot listen on {bind_host}:{bind_port}: {exc.strerror or exc}", style="red"
            )
            raise typer.Exit(EXIT_FAILURE) from None
        log.info("health and metrics on http://%s:%d/healthz and /metrics", bind_host, bind_port)
    try:
        code = runner.run()
    except AlreadyRunning as exc:
        err_console.print(str(exc), style="red", markup=False, highlight=False)
        code = EXIT_FAILURE
    except InputError as exc:
        for problem in exc.problems:
            err_console.print(str(problem), style="red", markup=False, highlight=False)
        code = EXIT_BAD_INPUT
    finally:
        if server is not None:
            server.shutdown()
    log.info("daemon stopped", extra={"exit": code})
    raise typer.Exit(code)
