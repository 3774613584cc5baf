"""`twin users …`: console users (viewer, approver, admin), their API tokens, and taking access
back (disable, enable, delete, revoke: sessions end at once, API tokens within seconds)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated

import typer

from twin.cli.common import console, emit_json, handles_errors
from twin.domain.problems import InputError, Problem
from twin.domain.users import Role

app = typer.Typer(
    help="Console users: who may sign in to `twin serve`, and with which role.",
    no_args_is_help=True,
)
MIN_PASSWORD = 8


def _engine():  # type: ignore[no-untyped-def]
    # The store is imported when a command runs, so `twin --help` and every other command start fast.
    from twin.store.db import make_engine
    from twin.store.migrate import require_current

    engine = make_engine()
    require_current(engine)
    return engine


@app.command("add")
@handles_errors
def add(
    name: Annotated[str, typer.Argument(help="The user's sign-in name.")],
    role: Annotated[
        Role,
        typer.Option("--role", help="viewer (reads), approver (also decides incidents), admin."),
    ],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin", help="Read the password from standard input (first line)."
        ),
    ] = False,
    token: Annotated[
        bool, typer.Option("--token", help="Also make an API token (printed once).")
    ] = False,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Reset an existing user: new role and password; its sessions and API tokens end.",
        ),
    ] = False,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Create a console user. Without --password-stdin the user has no password (API tokens only)."""
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if len(password) < MIN_PASSWORD:
            raise InputError(
                [
                    Problem(
                        "--password-stdin",
                        name,
                        "password",
                        f"must be at least {MIN_PASSWORD} characters",
                    )
                ]
            )
    if not name.strip() or len(name) > 120:
        raise InputError([Problem("NAME", name, None, "must be 1 to 120 characters")])
    from twin.store.db import session_scope
    from twin.store.users import UserExists, add_token, add_user

    now = datetime.now(UTC)
    made_token = None
    with session_scope(_engine()) as session:
        try:
            user = add_user(
                session, name=name, role=role, password=password, at=now, replace=replace
            )
        except UserExists as exc:
            raise InputError([Problem("NAME", name, None, str(exc))]) from None
        if token:
            made_token = add_token(session, name=name, at=now, label="cli")
    doc = {
        "name": user.name,
        "role": user.role.value,
        "password": password is not None,
        "token": made_token,
    }
    if json:
        emit_json(doc)
        return
    console.print(f"user {user.name} ({user.role.value}) saved", markup=False, highlight=False)
    if made_token:
        console.print(f"API token (shown once): {made_token}", markup=False, highlight=False)


@app.command("token")
@handles_errors
def token(
    name: Annotated[str, typer.Argument(help="The user the token acts as.")],
    label: Annotated[str, typer.Option("--label", help="What the token is for.")] = "",
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Make an API token for scripts (`Authorization: Bearer TOKEN`); printed once."""
    from twin.store.common import NotFound
    from twin.store.db import session_scope
    from twin.store.users import add_token

    with session_scope(_engine()) as session:
        try:
            made = add_token(session, name=name, at=datetime.now(UTC), label=label)
        except NotFound as exc:
            raise InputError([Problem("NAME", name, None, str(exc))]) from None
    if json:
        emit_json({"name": name, "token": made})
    else:
        typer.echo(made)


@app.command("list")
@handles_errors
def list_(
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """List console users and their roles."""
    from twin.store.db import session_scope
    from twin.store.users import list_users

    with session_scope(_engine()) as session:
        users = list_users(session)
    if json:
        emit_json([{"name": u.name, "role": u.role.value, "disabled": u.disabled} for u in users])
        return
    for u in users:
        console.print(
            f"{u.name}\t{u.role.value}{' (disabled)' if u.disabled else ''}", markup=False
        )


def _take_back(name: str, action: str, json: bool) -> None:
    """Disable, enable, delete or revoke user `name`; exit 2 naming it if there is none.

    Sessions end at once (every request checks its row); a server remembers an API token for
    at most TOKEN_CACHE_SECONDS (5 s) after it was revoked."""
    from twin.store.common import NotFound
    from twin.store.db import session_scope
    from twin.store.users import delete_user, end_sessions, get_user, set_disabled
    from twin.store.users import revoke as revoke_access

    tokens = sessions = 0
    with session_scope(_engine()) as session:
        try:
            user = get_user(session, name=name)
            if action == "disable":
                sessions = end_sessions(session, name=name)
                user = set_disabled(session, name=name, disabled=True)
            elif action == "enable":
                user = set_disabled(session, name=name, disabled=False)
            else:
                tokens, sessions = revoke_access(session, name=name)
                if action == "delete":
                    delete_user(session, name=name)
        except NotFound as exc:
            raise InputError([Problem("NAME", name, None, str(exc))]) from None
    doc = {
        "name": name,
        "action": action,
        "disabled": user.disabled,
        "deleted": action == "delete",
        "tokens_revoked": tokens,
        "sessions_ended": sessions,
    }
    if json:
        emit_json(doc)
        return
    done = {"disable": "disabled", "enable": "enabled", "delete": "deleted", "revoke": "revoked"}
    console.print(
        f"user {name} {done[action]}: {sessions} session(s) ended, {tokens} API token(s) revoked",
        markup=False,
        highlight=False,
    )


NameArg = Annotated[str, typer.Argument(help="The user's sign-in name.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


@app.command("disable")
@handles_errors
def disable(name: NameArg, json: JsonFlag = False) -> None:
    """Stop NAME from signing in or using its API tokens (kept for `enable`); its sessions end."""
    _take_back(name, "disable", json)


@app.command("enable")
@handles_errors
def enable(name: NameArg, json: JsonFlag = False) -> None:
    """Let a disabled user sign in again (its API tokens work again)."""
    _take_back(name, "enable", json)


@app.command("delete")
@handles_errors
def delete(name: NameArg, json: JsonFlag = False) -> None:
    """Remove NAME with its API tokens and sessions (the audit log keeps the name)."""
    _take_back(name, "delete", json)


@app.command("revoke")
@handles_errors
def revoke(name: NameArg, json: JsonFlag = False) -> None:
    """End every session and API token of NAME (it may sign in again with its password)."""
    _take_back(name, "revoke", json)
