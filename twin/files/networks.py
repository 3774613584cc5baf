"""Load networks from YAML, CSV folders or bundled names; write them back as SPEC 1.1 YAML."""

from __future__ import annotations

import functools
import math
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from twin.domain.problems import InputError, Problem
from twin.domain.records import Network
from twin.domain.settings import LimitSettings
from twin.files.limits import current_limits
from twin.files.tables import entries_from_list, read_csv_entries, read_yaml
from twin.network.schema import parse_network

BUNDLED_DIR = "data/networks"


def bundled_networks() -> list[str]:
    folder = resources.files("twin").joinpath(BUNDLED_DIR)
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def resolve_network_path(ref: str | Path) -> Path:
    """A path as given, or the bundled network of that name (e.g. `demo`)."""
    path = Path(ref)
    if path.exists():
        return path
    text = str(ref)
    if "/" not in text and not text.endswith((".yaml", ".yml")):
        bundled = resources.files("twin").joinpath(BUNDLED_DIR, f"{text}.yaml")
        if bundled.is_file():
            return Path(str(bundled))
        names = ", ".join(bundled_networks()) or "none"
        raise InputError(
            [
                Problem(
                    text, "", None, f"no such file, and no bundled network of that name ({names})"
                )
            ]
        )
    raise InputError([Problem(text, "", None, "no such file or folder")])


def load_network(ref: str | Path) -> tuple[Network, list[Problem]]:
    """Load and validate a network; returns it with any warnings, raises InputError otherwise."""
    path = resolve_network_path(ref)
    if path.is_dir():
        return _load_folder(path)
    if path.parent == _bundled_dir():
        # A bundled network is package data: parsed once per process (and per file version and
        # limits in force), as every command, monitor and test that names `demo` reads it.
        stat = path.stat()
        network, warnings = _load_bundled(path, stat.st_mtime_ns, stat.st_size, current_limits())
        return network, list(warnings)
    return _load_file(path)


@functools.cache
def _bundled_dir() -> Path:
    return Path(str(resources.files("twin").joinpath(BUNDLED_DIR)))


@functools.lru_cache(maxsize=8)
def _load_bundled(
    path: Path, mtime_ns: int, size: int, limits: LimitSettings
) -> tuple[Network, tuple[Problem, ...]]:
    network, warnings = _load_file(path)
    return network, tuple(warnings)


def _load_file(path: Path) -> tuple[Network, list[Problem]]:
    doc = read_yaml(path)
    file = str(path)
    if not isinstance(doc, dict):
        raise InputError(
            [Problem(file, "", None, "a network file must be a mapping with nodes and lanes")]
        )
    problems: list[Problem] = []
    nodes, found = entries_from_list(doc.get("nodes"), file, "nodes")
    problems += found
    lanes, found = entries_from_list(doc.get("lanes"), file, "lanes")
    problems += found
    if "nodes" not in doc:
        problems.append(Problem(file, "network", "nodes", "missing 'nodes' list"))
    for key in sorted(
        set(map(str, doc)) - {"name", "unit", "currency", "nodes", "lanes", "description"}
    ):
        problems.append(Problem(file, "network", key, "unknown top-level key, ignored", "warning"))
    try:
        network, warnings = parse_network(doc, nodes, lanes, file)
    except InputError as exc:
        raise InputError(problems + exc.problems + exc.warnings) from None
    if any(p.severity == "error" for p in problems):
        raise InputError(problems + warnings)
    return network, problems + warnings


def _load_folder(path: Path) -> tuple[Network, list[Problem]]:
    header: dict[str, Any] = {"name": path.resolve().name}
    meta = path / "network.yaml"
    if meta.exists():
        doc = read_yaml(meta)
        if not isinstance(doc, dict):
            raise InputError(
                [Problem(str(meta), "", None, "must be a mapping (name, unit, currency)")]
            )
        header.update(doc)
    problems: list[Problem] = []
    tables = {}
    for name in ("nodes", "lanes"):
        try:
            tables[name] = read_csv_entries(path / f"{name}.csv")
        except InputError as exc:
            problems += exc.problems
            tables[name] = []
    if problems:
        raise InputError(problems)
    return parse_network(header, tables["nodes"], tables["lanes"], str(path))


def network_yaml(network: Network, comment: str | None = None) -> str:
    """SPEC 1.1 YAML text: one flow mapping per node and lane, as the SPEC shows them."""
    doc = network.to_document()
    lines: list[str] = []
    if comment:
        lines += [f"# {line}".rstrip() for line in comment.splitlines()]
    for key in ("name", "unit", "currency"):
        lines.append(_flow({key: doc[key]}))
    for key in ("nodes", "lanes"):
        lines.append(f"{key}:")
        lines += [f"  - {_flow(entry)}" for entry in doc[key]]
    return "\n".join(lines) + "\n"


def _flow(value: dict[str, Any]) -> str:
    value = {k: _plain(v) for k, v in value.items()}
    text = yaml.safe_dump(value, default_flow_style=True, width=math.inf, sort_keys=False).strip()
    if len(value) == 1 and not isinstance(next(iter(value.values())), (list, dict)):
        return text[1:-1]  # a top-level `key: value` line, not a one-entry mapping
    return text


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def write_network(network: Network, out: Path, comment: str | None = None) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(network_yaml(network, comment), encoding="utf-8")
    tmp.replace(out)  # never leave a half-written network behind
