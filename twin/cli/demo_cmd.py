"""`twin demo`: the daemon on the demo network, fed a real scenario's signals at accelerated time.

Sets up a working folder (twin.toml, a SQLite store, feeds/, shipments.csv, stock/,
clock.json), starts a feeder thread that drops the scenario's signals into feeds/ as their
simulated time comes and a thread that rewrites stock/stock.csv as the warehouses would report
it (each simulated day, and as freight is delivered), and runs
`twin daemon --clock clock.json [--serve]`. Ctrl-C stops both cleanly.
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
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from twin.cli.common import console, err_console

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from twin.domain.plans import Routes
    from twin.domain.records import Network, Shipment
    from twin.stock.demo import DemoPosition

REPO_PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
DECIDE_MINUTES = 10.0  # wall minutes an incident waits for a person before it expires
DECIDE_SPEED = 60.0  # the demo clock's speed while an incident waits for a person


def set_speed(clock_path: Path, speed: float) -> bool:
    """Run the simulated clock at `speed` from now on, carrying on from the simulated time it
    shows (the daemon and the feeder read the file on every use). False if already so."""
    from twin.engine.jobs import SimClock

    clock = SimClock.load(clock_path)
    if clock.speed == speed:
        return False
    wall = datetime.now(UTC)
    SimClock(start=clock.now(wall), wall_start=wall, speed=speed).dump(clock_path)
    return True


def scaled_expiry(speed: float, minutes: float) -> str:
    """A playbook's `expire_after` in simulated time worth `minutes` of the viewer's time."""
    return f"{max(1, round(minutes * 60 * speed / 3600))}h"


def copy_playbooks(source: Path, target: Path, *, expire_after: str) -> list[str]:
    """The playbooks of `source` written to `target` with `expire_after` raised to the demo's
    scaled expiry (the demo clock runs thousands of times faster than a person reads), so an
    incident waiting for approval stays open long enough to decide. Returns the ids waiting
    for a person by design (`approval: required`)."""
    import yaml

    from twin.domain.durations import parse_duration

    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("*.yaml"):
        old.unlink()
    required = []
    for path in sorted(source.glob("*.y*ml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict):
            continue
        current = parse_duration(doc.get("expire_after", "24h"))
        if parse_duration(expire_after) > current:
            doc["expire_after"] = expire_after
        if doc.get("approval") == "required":
            required.append(str(doc.get("id", path.stem)))
        (target / f"{path.stem}.yaml").write_text(
            f"# Copied by `twin demo` from {path}; expire_after scaled to the demo clock.\n"
            + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True),
            encoding="utf-8",
        )
    return required


def _feed(scenario: Path, folder: Path, clock_path: Path, stop: threading.Event) -> None:
    """Write each signal of the scenario into `folder` once the simulated clock reaches it."""
    from twin.engine.jobs import SimClock
    from twin.replay.scenario import load_scenario

    signals = load_scenario(scenario).scenario.signal_records()
    done = {p.name for p in folder.glob("*.jsonl")}
    for index, sig in enumerate(signals):
        name = f"{index:03d}-{sig.ts:%Y%m%dT%H%M}.jsonl"
        if name in done:
            continue
        while True:  # the clock file may change speed meanwhile (slowed for a decision)
            wait = (SimClock.load(clock_path).wall_at(sig.ts) - datetime.now(UTC)).total_seconds()
            if wait <= 0:
                break
            if stop.wait(min(wait, 1.0)):
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


def plan_of_record(
    network: Network, shipments: Sequence[Shipment], now: datetime
) -> dict[str, Routes]:
    """The book planned at `now` with no risk, as the daemon's first pass would plan it. The
    demo stores it before the daemon starts, so the stock is sized against the plan of record
    itself, however long the daemon takes to start."""
    from twin.engine.engine import Engine, EngineSettings
    from twin.engine.state import EngineState

    engine = Engine.from_state(network, [], EngineState(), EngineSettings())
    engine.plan_shipments(list(shipments), now)
    return dict(engine.routes)


def arrivals(plan: Mapping[str, Routes]) -> dict[str, datetime]:
    """When each planned shipment lands (its last part)."""
    return {sid: max(a.eta for a in routes) for sid, routes in plan.items() if routes}


def _restock(
    demo: DemoPosition,
    folder: Path,
    start: datetime,
    clock_path: Path,
    db_url: str,
    stop: threading.Event,
) -> None:
    """Rewrite `folder`/stock.csv as the warehouses would report it (twin.stock.demo.stock_report)
    whenever a simulated day passes or a shipment is delivered; the daemon reads it again when
    it changes."""
    import sqlalchemy as sa

    from twin.engine.jobs import SimClock
    from twin.stock.demo import stock_report

    engine = sa.create_engine(db_url)
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    written: tuple[int, frozenset[str]] | None = None
    while not stop.wait(1.0):
        try:
            with engine.connect() as c:
                delivered = frozenset(
                    str(row.id)
                    for row in c.execute(
                        sa.text("SELECT id FROM shipments WHERE status = 'delivered'")
                    )
                )
        except sa.exc.SQLAlchemyError:
            continue  # the store is not there yet
        elapsed = (SimClock.load(clock_path).now(datetime.now(UTC)) - midnight).days
        if (elapsed, delivered) == written:
            continue
        report = stock_report(demo, days_elapsed=elapsed, delivered=sorted(delivered))
        tmp = folder.parent / ".stock.csv.tmp"  # outside the folder the daemon lists
        report.to_csv(tmp, index=False)
        tmp.replace(folder / "stock.csv")
        written = (elapsed, delivered)
    engine.dispose()


def _watch(
    db_url: str,
    stop: threading.Event,
    console_url: str | None,
    decide_minutes: float,
    clock_path: Path,
    speed: float,
) -> None:
    """Print alerts and incidents as they appear in the store, and what to click when one
    waits for a person."""
    import sqlalchemy as sa

    engine = sa.create_engine(db_url)
    seen: set[str] = set()
    while not stop.wait(1.0):
        try:
            with engine.connect() as c:
                alerts = c.execute(
                    sa.text(
                        "SELECT target, dimension, severity, opened_at, inhibited_by "
                        "FROM alert_episodes WHERE cleared_at IS NULL ORDER BY opened_at"
                    )
                ).all()
                incidents = c.execute(
                    sa.text(
                        "SELECT id, playbook_id, target, state, shadow, needs_approval, approval "
                        "FROM incidents"
                    )
                ).all()
        except sa.exc.SQLAlchemyError:
            continue
        causes = [a for a in alerts if not a.inhibited_by]
        key = "alerts:" + ",".join(sorted(f"{a.severity}/{a.dimension}/{a.target}" for a in causes))
        if causes and key not in seen:
            seen.add(key)
            ranked = sorted(
                {(a.severity != "critical", a.target, a.dimension, a.severity) for a in causes}
            )
            tops = ", ".join(f"{sev} {dim} {target}" for _, target, dim, sev in ranked[:4])
            if len(ranked) > 4:
                tops += f" and {len(ranked) - 4} more"
            echoes = len(alerts) - len(causes)
            more = f" (+{echoes} alerts they explain, folded under them)" if echoes else ""
            console.print(
                f"[bold yellow]{len(ranked)} alert {'cause' if len(ranked) == 1 else 'causes'} "
                f"open[/]: {tops}{more}",
                highlight=False,
            )
        for i in incidents:
            if f"{i.id}:{i.state}" in seen:
                continue
            seen.add(f"{i.id}:{i.state}")
            console.print(
                f"[bold magenta]incident[/] {i.id} {i.playbook_id} on {i.target}: [bold]{i.state}[/]",
                highlight=False,
            )
            if i.state == "proposed" and not i.shadow and console_url:
                console.print(
                    f"  [bold green]your decision:[/] open {console_url}/incidents/{i.id} "
                    "(sign in as demo / demo-demo-demo), read what doing nothing and the plan "
                    'cost, tick "I have read the plan diff" and click [bold]Approve[/] or '
                    f"[bold]Reject[/]; you have at least {decide_minutes:g} minutes.",
                    highlight=False,
                )
            elif i.state == "approved":
                console.print("  the daemon applies it on its next pass", highlight=False)
            elif i.state == "applied" and console_url:
                console.print(
                    f"  applied: the audit log at {console_url}/audit says by whom; "
                    "Roll back on the incident page restores what has not left yet",
                    highlight=False,
                )
        # Slow the world down while a person has a decision to make, then speed it up again.
        waiting = [i.id for i in incidents if i.state == "proposed" and not i.shadow]
        if waiting and console_url and set_speed(clock_path, DECIDE_SPEED):
            console.print(
                f"  [bold]demo clock slowed to {DECIDE_SPEED:g}x[/] (one simulated minute per "
                f"second) while {', '.join(waiting)} waits for you; back to {speed:g}x after",
                highlight=False,
            )
        elif not waiting and set_speed(clock_path, speed):
            console.print(f"  demo clock back to {speed:g}x", highlight=False)
    engine.dispose()


def _console_installed() -> bool:
    try:
        import twin.api.app  # noqa: F401
    except ImportError:
        return False
    return True


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
    decide_minutes: Annotated[
        float,
        typer.Option(
            "--decide-minutes",
            help="Wall minutes an incident waits for your approval before it expires (the "
            "playbooks' expire_after is scaled to the demo clock).",
            min=0.5,
        ),
    ] = DECIDE_MINUTES,
) -> None:
    """Run the daemon on the demo network with a feed playing SCENARIO's signals, fast.

    Opens an alert within about a minute at the default speed, applies what playbooks may apply
    on their own and leaves the rest waiting for you in the console (the terminal says what to
    click); Ctrl-C stops it.
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
        for old in (*(folder / "feeds").glob("*"), *(folder / "stock").glob("*")):
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
    # The demo's stock: sized against the plan's arrivals so only a disruption's delay breaks
    # cover, with a given forecast so the daemon fits no model (twin.stock.demo).
    from twin.files.stock import write_stock_folder
    from twin.stock.demo import (
        DEMO_FORECAST_DAYS,
        DEMO_LEAD_TIME_DAYS,
        STOCK_TOML,
        demo_stock,
    )

    sized = partial(
        demo_stock,
        loaded.network,
        start=start,
        days=DEMO_FORECAST_DAYS,
        seed=loaded.scenario.seed,
        lead_time_days=DEMO_LEAD_TIME_DAYS,
    )
    # The lines restate each shipment's cbm; the book is planned as restated, then the stock
    # is sized against that plan (the same seed draws the same lines).
    shipments = sized(shipments).shipments
    plan = plan_of_record(loaded.network, shipments, start)
    stock = sized(shipments, arrivals=arrivals(plan))
    write_stock_folder(folder / "stock", stock.stock, lines=stock.lines, forecast=stock.forecast)
    write_shipments(shipments, folder / "shipments.csv")
    serve = console_app and _console_installed()
    playbooks = folder / "playbooks"
    db_url = f"sqlite:///{folder / 'twin.db'}"
    (folder / "twin.toml").write_text(
        f"# Written by `twin demo`: the daemon on the demo network, fed {scenario.name} at {speed:g}x.\n"
        f'database_url = "{db_url}"\nnetwork = "{loaded.scenario.network}"\nshipments = "shipments.csv"\n'
        f'playbooks = "{playbooks}"\n{STOCK_TOML}\n[monitor]\nevery = "2s"\n\n[[feeds]]\nname = "demo-feed"\n'
        f'path = "feeds/*.jsonl"\nevery = "1s"\n\n[replan]\nevery = "5s"\n\n[serve]\nhost = "127.0.0.1"\n'
        f"port = {port}\n"
    )
    env = {**os.environ, "TWIN_DATABASE_URL": db_url, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "twin.cli.app"]
    source = REPO_PLAYBOOKS if REPO_PLAYBOOKS.exists() else Path("playbooks").resolve()
    # Expiry is simulated time: worth `decide_minutes` of the viewer's time at the speed the
    # clock runs while a decision waits (the console slows it), else at the demo's speed.
    expiry = scaled_expiry(DECIDE_SPEED if serve else speed, decide_minutes)
    required = copy_playbooks(source, playbooks, expire_after=expiry)
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
    # In this process, not two more interpreters: a fresh clone's first run is timed. The
    # plan of record is stored with the book, so the daemon's first pass has nothing to plan.
    from twin.domain.users import Role
    from twin.store.db import make_engine, session_scope
    from twin.store.migrate import upgrade
    from twin.store.networks import save_network
    from twin.store.routes import save_routes
    from twin.store.shipments import save_shipments
    from twin.store.users import add_user

    store = make_engine(db_url)
    upgrade(store)
    with session_scope(store) as session:
        save_network(session, network=loaded.network)
        save_shipments(session, network_name=loaded.network.name, shipments=shipments)
        save_routes(session, network_name=loaded.network.name, routes=plan, at=start, by="planner")
        if serve:
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
        f"from {start:%Y-%m-%d %H:%M}Z into {folder / 'feeds'}; {len(shipments)} shipments, "
        f"{len(stock.stock)} warehouse x SKU stocked (stock/)"
    )
    console_url = f"http://127.0.0.1:{port}" if serve else None
    if serve:
        console.print(
            f"console: [bold]{console_url}/[/] (sign in as demo / demo-demo-demo); its clock is "
            "the demo's simulated one"
        )
        console.print(
            f"When an incident waits for a person ({', '.join(required) or 'no playbook'} "
            "always ask; the others when a guardrail trips), the clock slows to "
            f"{DECIDE_SPEED:g}x and you have at least {decide_minutes:g} minutes (expire_after "
            f"{expiry} simulated) to decide. This terminal says when and where to click."
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
        threading.Thread(
            target=_watch,
            args=(db_url, stop, console_url, decide_minutes, clock_path, speed),
            daemon=True,
        ),
        threading.Thread(
            target=_restock,
            args=(stock, folder / "stock", start, clock_path, db_url, stop),
            daemon=True,
        ),
    ]
    if serve:
        # Draw the map's sea paths now, while the first alert is still to come: the console
        # reads them from the cache file instead of making the first visitor wait.
        from twin.api.geometry import lane_paths

        threads.append(threading.Thread(target=lane_paths, args=(loaded.network,), daemon=True))
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
