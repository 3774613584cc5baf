"""`twin feeds …`: feed files quarantined whole, and putting them back."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from twin.cli.common import EXIT_BAD_INPUT, console, emit_json, err_console, handles_errors

app = typer.Typer(help="Feed files set aside whole, and re-queueing them.", no_args_is_help=True)

AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
OneFeed = Annotated[str | None, typer.Option("--feed", help="Only this feed.")]


@app.command()
@handles_errors
def quarantine(feed: OneFeed = None, json: AsJson = False) -> None:
    """List feed files quarantined whole (newest first) with their reason. A feed does not
    read such a file again until it is re-queued (`twin feeds requeue FILE`) or changes."""
    from twin.store.db import make_engine, session_scope
    from twin.store.feed_files import list_held_files
    from twin.store.migrate import require_current

    engine = make_engine()
    require_current(engine)
    with session_scope(engine) as session:
        held = list_held_files(session, feed=feed)
    if json:
        emit_json({"files": [h.as_dict() for h in held]})
        return
    if not held:
        console.print("no quarantined feed files")
        return
    table = Table("feed", "file", "format", "bytes", "at", "reason")
    for h in held:
        table.add_row(
            h.feed, h.key, h.format, str(h.size), h.at.strftime("%Y-%m-%d %H:%M"), h.reason
        )
    console.print(table)


@app.command()
@handles_errors
def requeue(
    file: Annotated[str, typer.Argument(help="The quarantined file (its path or URL).")],
    feed: OneFeed = None,
    json: AsJson = False,
) -> None:
    """Put a quarantined file back: the next pass of its feed reads it again (its checkpoint
    is forgotten too). Exit 2 when no feed holds it."""
    from twin.store.db import make_engine, session_scope
    from twin.store.feed_files import requeue_file
    from twin.store.migrate import require_current

    engine = make_engine()
    require_current(engine)
    keys = [file]
    if "://" not in file:
        resolved = str(Path(file).resolve())
        if resolved != file:
            keys.append(resolved)
    with session_scope(engine) as session:
        found = [pair for key in keys for pair in requeue_file(session, key=key, feed=feed)]
    if json:
        emit_json({"requeued": [{"feed": f, "key": k} for f, k in found]})
    else:
        for held_feed, key in found:
            console.print(f"{held_feed}: {key} re-queued", highlight=False, soft_wrap=True)
    if not found:
        err_console.print(f"no feed holds {file} in quarantine", style="bold red")
        raise typer.Exit(EXIT_BAD_INPUT)
