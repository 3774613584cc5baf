"""`twin config check FILE`: validate a daemon configuration (twin.toml) and show it resolved."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from twin.cli.common import console, emit_json, err_console, handles_errors
from twin.domain.problems import Problem

app = typer.Typer(help="The daemon configuration (twin.toml, SPEC 1.6).", no_args_is_help=True)


def _warnings(doc: dict[str, Any], file: str) -> list[Problem]:
    """Paths the daemon would not find from here (warnings: it may run from another folder)."""
    from twin.domain.problems import InputError
    from twin.files.networks import resolve_network_path

    found: list[Problem] = []
    try:
        resolve_network_path(doc["network"])
    except InputError as exc:
        found.append(Problem(file, "", "network", exc.problems[0].message, "warning"))
    if not Path(doc["playbooks"]).is_dir():
        found.append(
            Problem(file, "", "playbooks", f"no folder {doc['playbooks']!r} here", "warning")
        )
    if doc["shipments"] and not Path(doc["shipments"]).exists():
        found.append(
            Problem(file, "", "shipments", f"no file {doc['shipments']!r} here", "warning")
        )
    return found


@app.command()
@handles_errors
def check(
    file: Annotated[Path, typer.Argument(help="The twin.toml to check.")],
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Validate FILE: exit 0 printing the configuration with every default filled in, or exit 2
    listing every problem (file, table and key, why). Unknown keys are errors.
    TWIN_DATABASE_URL, when set, replaces database_url (as in the daemon). Secrets are shown
    as *** (passwords in URLs, credential headers, token-like query parameters)."""
    from twin.files.config import load_config, resolved

    doc = resolved(load_config(file))
    warnings = _warnings(doc, str(file))
    doc = masked(doc)
    for problem in warnings:
        err_console.print(str(problem), style="yellow", markup=False, highlight=False)
    if json:
        emit_json(doc)
        return
    console.print(
        f"# {file}: valid; every default filled in", highlight=False, markup=False, soft_wrap=True
    )
    console.print(_toml(doc), highlight=False, markup=False, soft_wrap=True)


MASK = "***"
# Header names whose values are credentials; any name containing one of these words too.
SECRET_HEADERS = (
    "authorization",
    "cookie",
    "token",
    "secret",
    "password",
    "key",
    "auth",
    "signature",
)
SECRET_QUERY = ("token", "secret", "password", "key", "signature", "sig", "auth", "code")


def _masked_url(url: str) -> str:
    """`url` with its password and token-like query values replaced by ***."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{host}" if colon else f"{user}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, MASK if any(w in k.lower() for w in SECRET_QUERY) else v) for k, v in pairs],
            safe="*",
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _masked_headers(headers: dict[str, str]) -> dict[str, str]:
    return {
        name: MASK if any(word in name.lower() for word in SECRET_HEADERS) else value
        for name, value in headers.items()
    }


def masked(doc: dict[str, Any]) -> dict[str, Any]:
    """The resolved configuration with its secrets replaced by *** (safe to print or paste)."""
    out = dict(doc)
    if out.get("database_url"):
        out["database_url"] = _masked_url(out["database_url"])
    out["feeds"] = [_masked_endpoint(f) for f in out.get("feeds", [])]
    notify = dict(out.get("notify", {}))
    notify["channels"] = [_masked_endpoint(c) for c in notify.get("channels", [])]
    out["notify"] = notify
    return out


def _masked_endpoint(entry: dict[str, Any]) -> dict[str, Any]:
    masked_entry = dict(entry)
    if masked_entry.get("url"):
        masked_entry["url"] = _masked_url(masked_entry["url"])
    if masked_entry.get("headers"):
        masked_entry["headers"] = _masked_headers(masked_entry["headers"])
    return masked_entry


def _toml(doc: dict[str, Any]) -> str:
    """The resolved configuration written as TOML (enough of TOML for these values)."""
    lines: list[str] = []
    tables: list[tuple[str, Any]] = []
    for key, value in doc.items():
        if isinstance(value, dict) or (
            isinstance(value, list) and value and isinstance(value[0], dict)
        ):
            tables.append((key, value))
        elif value is not None:
            lines.append(f"{_key(key)} = {_value(value)}")
    for name, value in tables:
        _table(name, value, lines)
    return "\n".join(lines)


def _table(name: str, value: Any, lines: list[str]) -> None:
    if isinstance(value, list):
        for entry in value:
            lines += ["", f"[[{name}]]"]
            nested = [(k, v) for k, v in entry.items() if isinstance(v, dict) and v]
            lines += [
                f"{_key(k)} = {_value(v)}"
                for k, v in entry.items()
                if v is not None and not (isinstance(v, dict) and v)
            ]
            for key, sub in nested:
                lines.append(f"{_key(key)} = {_value(sub)}")
        return
    scalars = {
        k: v
        for k, v in value.items()
        if not isinstance(v, dict) and not (isinstance(v, list) and v and isinstance(v[0], dict))
    }
    lines += ["", f"[{name}]"]
    lines += [f"{_key(k)} = {_value(v)}" for k, v in scalars.items() if v is not None]
    for key, sub in value.items():
        if key not in scalars:
            _table(f"{name}.{_key(key)}", sub, lines)


def _key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else f'"{key}"'


def _value(value: Any) -> str:
    import json as _json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return _json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items() if v is not None)
            + "}"
        )
    return _json.dumps(value)
