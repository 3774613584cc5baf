"""`twin demo`: the daemon on the demo network, fed a real scenario's signals at accelerated time.

Sets up a working folder (twin.toml, a SQLite store, feeds/, shipments.csv, clock.json), starts
a feeder thread that drops the scenario's signals into feeds/ as their simulated time comes,
and runs `twin daemon --clock clock.json [--serve]`. Ctrl-C stops both cleanly.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from twin.cli.common import console, err_console

REPO_PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"


def _feed(scenario: Path, folder: Path, clock_path: Path, stop: threading.Event) -> None:
    """Write each signal of the scenario into `folder` once the simulated clock reaches it."""
    from twin.engine.jobs import SimClock
    from twin.replay.scenario import load_scenario

    signals = load_scenario(scenario).scenario.signal_records()
    clock = SimClock.load(clock_path)
    done = {p.name for p in folder.glob("*.jsonl")}
    for index, sig in enumerate(signals):
        name = f"{index:03d}-{sig.ts:%Y%m%dT%H%M}.jsonl"
        if name in done:
            continue
        wait = (clock.wall_at(sig.ts) - datetime.now(UTC)).total_seconds()
        if wait > 0 and stop.wait(wait):
            return
        row = {k: v for k, v in sig.model_dump(mode="json").items() if v not in (None, {}, [])}
        row.setdefault("source", "demo-feed")
        tmp = folder / f".{name}.tmp"
        tmp.write_text(json.dumps(row) + "\n")
        tmp.replace(folder / name)
        console.print(
            f"[dim]feed[/] {sig.ts:%Y-%m-%d %H:%M} {sig.dimension} {sig.target} "
            f"{sig.metric}={sig.value:g}",
            highlight=False,
        )


def _watch(db_url: str, stop: threading.Event) -> None:
    """Print alerts and incidents as they appear in the store."""
    import sqlalchemy as sa

    engine = sa.create_engine(db_url)
    seen: set[str] = set()
    while not stop.wait(1.0):
        try:
            with engine.connect() as c:
                alerts = c.execute(
                    sa.text(
                        "SELECT target, dimension, severity, opened_at FROM alert_episodes "
                        "WHERE cleared_at IS NULL ORDER BY opened_at"
                    )
                ).all()
                incidents = c.execute(
                    sa.text("SELECT id, playbook_id, target, state FROM incidents")
                ).all()
        except sa.exc.SQLAlchemyError:
            continue
        chokepoints = [a for a in alerts if "-" not in a.target]
        key = f"alerts:{len(chokepoints)}:{','.join(sorted({a.severity for a in chokepoints}))}"
        if chokepoints and key not in seen:
            seen.add(key)
            tops = ", ".join(
                sorted({f"{a.severity} {a.dimension} {a.target}" for a in chokepoints})
            )
            console.print(
                f"[bold yellow]alerts open[/] ({len(alerts)} incl. lanes): {tops}", highlight=False
            )
        for i in incidents:
            if f"{i.id}:{i.state}" not in seen:
                seen.add(f"{i.id}:{i.state}")
                console.print(
                    f"[bold magenta]incident[/] {i.id} {i.playbook_id} on {i.target}: [bold]{i.state}[/]",
                    highlight=False,
                )
    engine.dispose()


def demo(
    port: Annotated[
        int, typer.Option("--port", help="Where the console (or /healthz, /metrics) listens.")
    ] = 8080,
    folder: Annotated[
        Path, typer.Option("--dir", help="The working folder (made if missing).")
    ] = Path("demo-run"),
    scenario: Annotated[
        Path, typer.Option("--scenario", help="Whose signals the demo feed plays.")
    ] = Path("scenarios/red-sea-2024.yaml"),
    speed: Annotated[
        float, typer.Option("--speed", help="Simulated seconds per wall second.")
    ] = 14400.0,
    fresh: Annotated[
        bool, typer.Option("--fresh/--resume", help="Start over (default) or carry on.")
    ] = True,
    console_app: Annotated[
        bool, typer.Option("--console/--no-console", help="Serve the on-call console.")
    ] = True,
) -> None:
    """Run the daemon on the demo network with a feed playing SCENARIO's signals, fast.

    Opens an alert, proposes (and applies, within guardrails) a playbook within about a minute at
    the default speed; Ctrl-C stops it.
    """
    from twin.engine.jobs import SimClock
    from twin.files.shipments import write_shipments
    from twin.replay.scenario import load_scenario

    if not scenario.exists():
        err_console.print(
            f"{scenario}: no such scenario (run from the repository, or pass --scenario)",
            style="red",
        )
        raise typer.Exit(2)
    loaded = load_scenario(scenario)
    signals = loaded.scenario.signal_records()
    folder = folder.resolve()
    if fresh and folder.exists():
        for name in ("twin.db", "twin.db-wal", "twin.db-shm", "clock.json", "shipments.csv"):
            (folder / name).unlink(missing_ok=True)
        for old in (folder / "feeds").glob("*"):
            old.unlink()
    (folder / "feeds").mkdir(parents=True, exist_ok=True)
    start = min(s.ts for s in signals) - timedelta(hours=6)
    clock_path = folder / "clock.json"
    if fresh or not clock_path.exists():
        SimClock(start=start, wall_start=datetime.now(UTC), speed=speed).dump(clock_path)
    from twin.shipments.generate import generate_shipments

    shipments = generate_shipments(
        loaded.network,
        start=start.replace(hour=0, minute=0),
        days=20,
        per_day=10,
        seed=loaded.scenario.seed,
    )
    write_shipments(shipments, folder / "shipments.csv")
    playbooks = REPO_PLAYBOOKS if REPO_PLAYBOOKS.exists() else Path("playbooks").resolve()
    db_url = f"sqlite:///{folder / 'twin.db'}"
    (folder / "twin.toml").write_text(
        f"# Written by `twin demo`: the daemon on the demo network, fed {scenario.name} at {speed:g}x.\n"
        f'database_url = "{db_url}"\nnetwork = "{loaded.scenario.network}"\nshipments = "shipments.csv"\n'
        f'playbooks = "{playbooks}"\n\n[monitor]\nevery = "2s"\n\n[[feeds]]\nname = "demo-feed"\n'
        f'path = "feeds/*.jsonl"\nevery = "1s"\n\n[replan]\nevery = "5s"\n\n[serve]\nhost = "127.0.0.1"\n'
        f"port = {port}\n"
    )
    # The playbooks' notify channels go to a local inbox: pages show in this terminal and in
    # pages.jsonl, and their links use the console's address.
    from twin.files.playbooks import load_playbooks
    from twin.notify.inbox import Inbox, channels_toml, page_line

    inbox = Inbox(
        folder / "pages.jsonl",
        lambda channel, body: console.print(page_line(channel, body), markup=False),
    ).start()
    named = sorted(
        {getattr(p, "channel", "") for pb in load_playbooks(playbooks) for n, p in pb.steps()}
        - {""}
    )
    with (folder / "twin.toml").open("a") as config:
        config.write(
            f'external_url = "http://127.0.0.1:{port}"\n' + channels_toml(named, inbox.url)
        )
    env = {**os.environ, "TWIN_DATABASE_URL": db_url, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "twin.cli.app"]
    serve = False
    if console_app:
        try:
            import twin.api.app  # noqa: F401

            serve = True
        except ImportError:
            serve = False
    if serve:
        # In this process, not two more interpreters: a fresh clone's first run is timed.
        from twin.domain.users import Role
        from twin.store.db import make_engine, session_scope
        from twin.store.migrate import upgrade
        from twin.store.users import add_user

        store = make_engine(db_url)
        upgrade(store)
        with session_scope(store) as session:
            add_user(
                session,
                name="demo",
                role=Role.approver,
                password="demo-demo-demo",
                at=datetime.now(UTC),
                replace=True,
            )
        store.dispose()
    log = (folder / "daemon.log").open("a")
    daemon = subprocess.Popen(
        [
            *cmd,
            "daemon",
            "--config",
            "twin.toml",
            "--clock",
            str(clock_path),
            "--log-json",
            *(["--serve"] if serve else []),
        ],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=log,
    )
    console.print(
        f"[bold]twin demo[/]: {len(signals)} signals of {loaded.scenario.name} played at {speed:g}x "
        f"from {start:%Y-%m-%d %H:%M}Z into {folder / 'feeds'}; {len(shipments)} shipments"
    )
    if serve:
        console.print(
            f"console: [bold]http://127.0.0.1:{port}/[/] (sign in as demo / demo-demo-demo)"
        )
    console.print(
        f"health: http://127.0.0.1:{port}/healthz   metrics: http://127.0.0.1:{port}/metrics"
    )
    console.print(f"daemon log: {folder / 'daemon.log'}   store: TWIN_DATABASE_URL={db_url}")
    console.print("Ctrl-C stops it.\n")
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=_feed, args=(scenario, folder / "feeds", clock_path, stop), daemon=True
        ),
        threading.Thread(target=_watch, args=(db_url, stop), daemon=True),
    ]
    for thread in threads:
        thread.start()

    def _stop(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    while not stop.is_set() and daemon.poll() is None:
        time.sleep(0.2)
    if daemon.poll() is None:
        daemon.send_signal(signal.SIGTERM)
    code = daemon.wait(40)
    inbox.stop()
    console.print(f"\nstopped (daemon exit {code})")
    raise typer.Exit(0 if code == 0 else 1)
