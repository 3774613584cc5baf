"""Shared command-line plumbing: JSON output, error reporting and exit codes (SPEC 2)."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from twin.domain.problems import InputError, Problem

console = Console()
err_console = Console(stderr=True, soft_wrap=True)

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2

F = TypeVar("F", bound=Callable[..., Any])


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        from twin.domain.durations import format_timestamp

        return format_timestamp(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def emit_json(document: Any) -> None:
    """Print exactly one JSON document on stdout."""
    sys.stdout.write(json.dumps(document, default=_default, indent=2, allow_nan=False) + "\n")
    sys.stdout.flush()


def report_problems(problems: list[Problem], warnings: list[Problem] | None = None) -> None:
    for problem in warnings or []:
        err_console.print(str(problem), style="yellow", markup=False, highlight=False)
    for problem in problems:
        err_console.print(str(problem), style="red", markup=False, highlight=False)
    if problems:
        noun = "error" if len(problems) == 1 else "errors"
        err_console.print(f"{len(problems)} {noun}", style="bold red", highlight=False)


JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
# A shipment file's own column names (an ERP or TMS export) read as twin's fields.
ColumnMapOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        metavar="COLUMN=FIELD",
        help="Read a column of the shipment file as a field: THEIR_COLUMN=field; repeat.",
    ),
]
MappingFileOpt = Annotated[
    Path | None,
    typer.Option(metavar="FILE", help="A YAML file of `THEIR_COLUMN: field` lines (--map wins)."),
]


def handles_errors(func: F) -> F:
    """Turn bad input into exit 2 with every problem on stderr, other failures into exit 1 with
    one clear line; a traceback only when TWIN_DEBUG is set. Under `--json` the failure is also
    one JSON document on stdout, `{"ok": false, "problems": [...]}`, so a script reading stdout
    always gets an answer."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        as_json = kwargs.get("json") is True
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            report_problems(exc.problems, exc.warnings)
            if as_json:
                emit_failure([*exc.problems, *exc.warnings])
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:  # the last line of defence: a message, never a traceback
            if os.environ.get("TWIN_DEBUG"):
                raise
            message = f"{type(exc).__name__}: {exc}"
            err_console.print(f"error: {message}", style="red", markup=False)
            if as_json:
                emit_failure([Problem("", "", None, message)])
            raise typer.Exit(EXIT_FAILURE) from None

    return wrapper  # type: ignore[return-value]


def emit_failure(problems: list[Problem]) -> None:
    """The JSON document of a command that failed: every problem with file, entry and field."""
    emit_json({"ok": False, "problems": [p.as_dict() for p in problems]})


def playbook_library(folder: Path) -> list[Any]:
    """The playbooks of `folder` (`--playbooks`), with a hint when the default is not there:
    commands run outside the repository have no `playbooks/` next to them."""
    from twin.files.playbooks import load_playbooks

    if not folder.is_dir():
        raise InputError(
            [
                Problem(
                    str(folder),
                    "",
                    "--playbooks",
                    "no such folder: give the playbook folder with --playbooks DIR "
                    "(the library is playbooks/ in the twin repository)",
                )
            ]
        )
    return load_playbooks(folder)
