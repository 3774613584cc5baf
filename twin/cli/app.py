"""The `twin` console script: one Typer app with a sub-command group per concept."""

from __future__ import annotations

from typing import Annotated

import typer

from twin import __version__

app = typer.Typer(
    name="twin",
    help="A digital-twin risk early-warning engine for cross-border e-commerce freight.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: flags read `--json`, not `--json <bool>` as the rich help of typer 0.2x shows.
    rich_markup_mode=None,
)


def _print_version(given: bool) -> None:
    if given:
        typer.echo(f"twin {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print twin's version."
        ),
    ] = False,
) -> None:
    """A digital-twin risk early-warning engine for cross-border e-commerce freight."""


def _register() -> None:
    # Each concept owns its command module; register them here, one line each.
    from twin.cli import network_cmd, shipments_cmd

    app.add_typer(network_cmd.app, name="network")
    app.add_typer(shipments_cmd.app, name="shipments")
    # -- more command groups register below --
    from twin.cli import db_cmd

    app.add_typer(db_cmd.app, name="db")
    from twin.cli import bench_cmd, replay_cmd

    app.command("replay")(replay_cmd.replay)

    app.command("bench")(bench_cmd.bench)
    from twin.cli import playbooks_cmd

    app.add_typer(playbooks_cmd.app, name="playbooks")
    from twin.cli import incidents_cmd

    app.add_typer(incidents_cmd.app, name="incidents")
    from twin.cli import scenarios_cmd

    app.add_typer(scenarios_cmd.app, name="scenarios")
    from twin.cli import monitor_cmd

    app.command("monitor")(monitor_cmd.monitor)
    from twin.cli import alerts_cmd

    app.add_typer(alerts_cmd.app, name="alerts")
    from twin.cli import plan_cmd

    app.command("plan")(plan_cmd.plan)
    from twin.cli import ingest_cmd

    app.command("ingest")(ingest_cmd.ingest)
    from twin.cli import feeds_cmd

    app.add_typer(feeds_cmd.app, name="feeds")
    from twin.cli import config_cmd

    app.add_typer(config_cmd.app, name="config")
    from twin.cli import serve_cmd, users_cmd

    app.command("serve")(serve_cmd.serve)
    app.add_typer(users_cmd.app, name="users")
    from twin.cli import daemon_cmd

    app.command("daemon")(daemon_cmd.daemon)
    from twin.cli import demo_cmd

    app.command("demo")(demo_cmd.demo)
    from twin.cli import backtest_cmd

    app.command("backtest")(backtest_cmd.backtest)
    app.command("calibrate")(backtest_cmd.calibrate)
    from twin.cli import stress_cmd

    app.command("stress")(stress_cmd.stress)
    from twin.cli import emissions_cmd

    app.command("emissions")(emissions_cmd.emissions)
    from twin.cli import stock_cmd

    app.add_typer(stock_cmd.app, name="stock")


@app.command()
def version() -> None:
    """Print twin's version."""
    typer.echo(f"twin {__version__}")


_register()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
