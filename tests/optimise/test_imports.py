"""twin.optimise's modules import each other without a loop (none goes through the package)."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parents[2] / "twin" / "optimise"


def _edges() -> list[tuple[str, str]]:
    edges = []
    for path in sorted(PACKAGE.glob("*.py")):
        me = "twin.optimise" if path.stem == "__init__" else f"twin.optimise.{path.stem}"
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{path.name}: relative import"
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            edges += [
                (me, n) for n in names if n == "twin.optimise" or n.startswith("twin.optimise.")
            ]
    return edges


def test_no_submodule_imports_the_package() -> None:
    inward = [(a, b) for a, b in _edges() if b == "twin.optimise"]
    assert inward == []


def test_the_import_graph_is_acyclic() -> None:
    graph = nx.DiGraph(_edges())
    assert graph.number_of_edges() > 5
    assert list(nx.simple_cycles(graph)) == []
