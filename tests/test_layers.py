"""The tree keeps its layers: a module imports only from its own layer or below (STYLE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "twin"

LAYERS = {
    "domain": 0,
    "network": 1,
    "shipments": 1,
    "scoring": 1,
    "alerting": 1,
    "playbook": 1,
    "optimise": 1,
    "files": 2,
    "feeds": 2,
    "store": 2,
    "schedule": 2,
    "notify": 2,
    "engine": 3,
    "replay": 3,
    "cli": 4,
    "api": 4,
    "bench": 4,
}
# The pure core never touches the database, the scheduler, the web or the terminal.
PURE_FORBIDDEN = (
    "sqlmodel",
    "sqlalchemy",
    "alembic",
    "apscheduler",
    "fastapi",
    "httpx",
    "typer",
    "rich",
    "psycopg",
    "uvicorn",
)
CLOCK_CALLS = {"now", "utcnow", "today", "time"}


def _modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if "migrations" not in p.parts)


def _package(path: Path) -> str | None:
    rel = path.relative_to(ROOT).parts
    return rel[0].removesuffix(".py") if len(rel) > 1 or rel[0] != "__init__.py" else None


def _imports(tree: ast.AST) -> list[str]:
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_respect_layers(path: Path) -> None:
    package = _package(path)
    if package is None or package not in LAYERS:
        return
    layer = LAYERS[package]
    tree = ast.parse(path.read_text())
    for name in _imports(tree):
        parts = name.split(".")
        if parts[0] == "twin" and len(parts) > 1 and parts[1] in LAYERS:
            other = parts[1]
            assert LAYERS[other] <= layer, f"{package} (L{layer}) imports {name} (L{LAYERS[other]})"
            if layer == 2 and LAYERS[other] == 2 and other != package:
                # Adapters do not touch each other; reading plain files is the shared ground.
                assert other == "files", f"adapter {package} imports adapter {name}"
        if layer <= 1:
            assert parts[0] not in PURE_FORBIDDEN, f"pure module {path.name} imports {name}"


@pytest.mark.parametrize(
    "path",
    [p for p in _modules() if LAYERS.get(_package(p) or "", 9) <= 1],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_pure_core_never_reads_the_clock(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            owner_name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            if node.func.attr in CLOCK_CALLS and owner_name in ("datetime", "date", "time"):
                raise AssertionError(f"{path.name}:{node.lineno} reads the clock; pass `now` in")
