"""One engine state: the engine is built from it and read back into it, the same way for the
daemon and the replay, and nothing outside the engine sets the engine's attributes."""

from __future__ import annotations

import ast
from dataclasses import fields
from datetime import timedelta
from pathlib import Path

from tests.engine.test_engine import NOW, _closure_signals, _engine
from twin.engine.engine import Engine
from twin.feeds.ingest import ingest_signals

ROOT = Path(__file__).resolve().parents[2] / "twin"
ENGINE_MODULE = ROOT / "engine" / "engine.py"


def _assigned_engine_attributes(path: Path, root: Path = ROOT.parent) -> list[str]:
    """`x.engine.a = …`, `engine.a[k] = …`, `engine.a += …`: writes into an Engine's attributes."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            while isinstance(target, ast.Subscript):
                target = target.value
            if not isinstance(target, ast.Attribute):
                continue
            owner = target.value
            while isinstance(owner, ast.Attribute) and owner.attr != "engine":
                owner = owner.value
            named = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            if named in ("engine", "planner"):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_nothing_outside_the_engine_assigns_its_attributes() -> None:
    offenders = [
        hit
        for path in sorted(ROOT.rglob("*.py"))
        if path != ENGINE_MODULE
        for hit in _assigned_engine_attributes(path)
    ]
    assert offenders == []


def test_the_probe_finds_an_assignment(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("engine.routes['S1'] = ()\nloaded.engine.holds = {}\nengine.seconds += 1\n")
    assert _assigned_engine_attributes(probe, tmp_path) == [
        "probe.py:1",
        "probe.py:2",
        "probe.py:3",
    ]


def test_state_round_trip_gives_the_same_engine() -> None:
    """An engine rebuilt from another's state decides as that engine would."""
    # Scored once, then new signals: a state taken now must say they are not scored yet.
    engine = _engine(rescore_every=timedelta(days=1))
    engine.tick(NOW - timedelta(hours=1))
    engine.ingest(ingest_signals(_closure_signals(NOW), engine.network).frame)
    twin = Engine.from_state(engine.network, engine.playbooks, engine.state(), engine.settings)
    state = engine.state()
    again = twin.state()
    for f in fields(state):
        left, right = getattr(state, f.name), getattr(again, f.name)
        if f.name in ("history", "scores"):
            assert left.equals(right), f.name
        else:
            assert left == right, f.name
    for step in range(8):
        at = NOW + step * timedelta(hours=6)
        mine, theirs = engine.tick(at), twin.tick(at)
        assert [i.model_dump() for i in mine.incidents] == [
            i.model_dump() for i in theirs.incidents
        ]
        assert mine.rerouted == theirs.rerouted
    assert engine.state().incidents, "the closure opened an incident on both"
    assert engine.state().incidents == twin.state().incidents
    assert engine.state().in_force == twin.state().in_force


def test_the_state_is_a_copy() -> None:
    engine = _engine()
    state = engine.state()
    state.routes.clear()
    state.shipments.clear()
    assert engine.routes and engine.shipments
