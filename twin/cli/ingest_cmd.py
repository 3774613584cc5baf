"""`twin ingest PATH`: read a feed file or folder into the store, skipping files already read."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from twin.cli.common import EXIT_BAD_INPUT, console, emit_json, err_console, handles_errors
from twin.domain.problems import InputError, Problem

DEFAULT_FEED = "manual"


def _files(root: Path) -> list[Path]:
    # The same walk as ingest_path: recursive, hidden files and folders skipped, sorted.
    if root.is_dir():
        return sorted(
            p
            for p in root.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
        )
    return [root]


@handles_errors
def ingest(
    path: Annotated[
        Path, typer.Argument(help="A feed file or a folder of them (any SPEC 1.3 format).")
    ],
    feed: Annotated[
        str,
        typer.Option(
            "--feed",
            help="The feed name its checkpoints are kept under "
            "(the daemon's [[feeds]] name to share them).",
        ),
    ] = DEFAULT_FEED,
    network: Annotated[
        str,
        typer.Option(
            "--network",
            help="Network file or bundled name: resolves areas to nodes, flags unknown targets.",
        ),
    ] = "demo",
    format: Annotated[
        str | None,
        typer.Option("--format", help="Force cap | dcsa | jsonl | csv instead of detecting."),
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Store the signals of PATH (TWIN_DATABASE_URL chooses the store).

    Files whose content (sha256) is unchanged since this feed last read them are skipped; each
    other file is saved in its own transaction (its signals, its quarantined rows and its
    checkpoint together). Re-ingesting adds nothing: signals are keyed by (source, ref, target).
    Bad rows are listed on stderr (file, row, field) and kept in the quarantine table; they do
    not fail the command. A file that cannot be read as a whole is quarantined whole (`twin
    feeds quarantine`) and not read again until re-queued. Exit 2 when PATH is missing or
    nothing in it could be read.
    """
    from twin.feeds.ingest import ingest_file
    from twin.files.networks import load_network
    from twin.store.db import make_engine, session_scope
    from twin.store.feed_files import held_files, hold_file
    from twin.store.migrate import require_current
    from twin.store.signals import (
        list_checkpoints,
        oversized_quarantine,
        save_quarantine,
        save_signals,
        set_checkpoint,
    )
    from twin.store.tracking import save_shipment_events

    if not path.exists():
        raise InputError([Problem(str(path), "", None, "no such file or folder")])
    net, net_warnings = load_network(network)
    engine = make_engine()
    require_current(engine)
    with session_scope(engine) as session:
        known = {
            key: cp.sha256 for key, cp in list_checkpoints(session, feed=feed).items() if cp.sha256
        }
        held = held_files(session, feed=feed)

    totals: dict[str, Any] = {
        "feed": feed,
        "files": 0,
        "skipped": 0,
        "rows": 0,
        "inserted": 0,
        "duplicates": 0,
        "quarantined": 0,
        "files_quarantined": 0,
        "positions": 0,
    }
    by_file: list[dict[str, Any]] = []
    problems: list[Problem] = list(net_warnings)
    readable = 0
    for file in _files(path):
        key = str(file.resolve())
        read = ingest_file(file, net, format=format)
        result, report = read.result, read.report
        totals["files"] += 1
        if read.sha256 and read.sha256 in (known.get(key), held.get(key)):
            totals["skipped"] += 1
            by_file.append({"path": str(file), "skipped": True, "held": key in held})
            continue
        if read.refused is not None:
            # set aside whole: held (and not read again) until `twin feeds requeue`
            with session_scope(engine) as session:
                hold_file(
                    session,
                    feed=feed,
                    key=key,
                    sha256=read.sha256,
                    reason=read.refused,
                    format=report.format,
                    size=read.size,
                )
                save_quarantine(session, rows=result.quarantine)
            problems += result.problems
            totals["files_quarantined"] += 1
            totals["quarantined"] += len(result.quarantine)
            by_file.append(
                {
                    "path": str(file),
                    "format": report.format,
                    "skipped": False,
                    "refused": read.refused,
                    "quarantined": len(result.quarantine),
                }
            )
            continue
        frame, too_long = oversized_quarantine(result.frame, str(file))
        quarantine = result.quarantine + too_long
        problems += result.problems + [
            Problem(q.file, q.where, q.field, q.reason) for q in too_long
        ]
        with session_scope(engine) as session:
            inserted = save_signals(session, frame=frame)
            save_quarantine(session, rows=quarantine)
            save_shipment_events(session, positions=result.positions)
            if report.sha256:
                set_checkpoint(session, feed=feed, key=key, sha256=report.sha256)
        if len(frame) or result.positions or not result.errors:
            readable += 1
        entry = {
            "path": str(file),
            "format": report.format,
            "skipped": False,
            "rows": len(frame),
            "inserted": inserted,
            "quarantined": len(quarantine),
            "positions": len(result.positions),
        }
        by_file.append(entry)
        totals["rows"] += len(frame)
        totals["inserted"] += inserted
        totals["duplicates"] += result.duplicates + len(frame) - inserted
        totals["quarantined"] += len(quarantine)
        totals["positions"] += len(result.positions)

    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity != "error"]
    for problem in warnings:
        err_console.print(str(problem), style="yellow", markup=False, highlight=False)
    for problem in errors:
        err_console.print(str(problem), style="red", markup=False, highlight=False)
    read_nothing = totals["files"] > totals["skipped"] and readable == 0
    doc = {
        **totals,
        "problems": len(errors),
        "warnings": len(warnings),
        "by_file": by_file,
        "errors": [p.as_dict() for p in errors],
    }
    if json:
        emit_json(doc)
    else:
        console.print(
            f"{feed}: {totals['files']} files ({totals['skipped']} unchanged), {totals['rows']} signals, "
            f"{totals['inserted']} new, {totals['duplicates']} already stored, "
            f"{totals['quarantined']} quarantined, {len(errors)} problems",
            highlight=False,
            soft_wrap=True,
        )
    if read_nothing:
        err_console.print("nothing could be read", style="bold red")
        raise typer.Exit(EXIT_BAD_INPUT)
