"""Limits on the files twin reads (network, facilities, shipments, playbooks, scenarios,
twin.toml): size, nesting, and YAML alias expansion, so a hostile file is refused with exit 2
in bounded time and memory instead of a traceback or a runaway process.

The limits in force are twin.toml's `[limits]` once the daemon (or `run_once`) has opened its
configuration (`use_limits`), the defaults of LimitSettings otherwise (so a twin.toml itself,
and the files of one-off commands such as `twin network validate`, are read under the
defaults).
"""

from __future__ import annotations

from typing import Any

import yaml

from twin.domain.settings import LimitSettings

_current = LimitSettings()


def use_limits(limits: LimitSettings) -> None:
    """Make `limits` the ones every later file read in this process obeys."""
    global _current
    _current = limits


def current_limits() -> LimitSettings:
    return _current


def max_file_bytes() -> int:
    return int(_current.file_mb * 1024 * 1024)


def yaml_size_problem(node: yaml.Node, max_nodes: int, max_depth: int) -> str | None:
    """Why a composed YAML document is refused, or None: more than `max_nodes` values once its
    aliases are expanded, collections nested deeper than `max_depth`, or an alias that
    contains itself. Counts each shared node once (memoised), so it costs what the text does;
    scalars are counted in place, only collections are walked."""
    if isinstance(node, yaml.ScalarNode):
        return None
    sizes: dict[int, int] = {}  # expanded values under each collection (itself included)
    depths: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    while stack:
        current, done = stack.pop()
        key = id(current)
        children = _children(current)
        if done:
            on_path.discard(key)
            size, depth = 1, 0
            for child in children:
                if isinstance(child, yaml.ScalarNode):
                    size += 1
                else:
                    size += sizes[id(child)]
                    depth = max(depth, depths[id(child)])
            sizes[key], depths[key] = size, depth + 1
            if size > max_nodes:
                return f"more than {max_nodes} values once its aliases are expanded"
            if depth + 1 > max_depth:
                return f"nested deeper than {max_depth} levels"
            continue
        if key in sizes:
            continue
        on_path.add(key)
        stack.append((current, True))
        for child in children:
            if isinstance(child, yaml.ScalarNode) or id(child) in sizes:
                continue
            if id(child) in on_path:
                return "an alias refers to a collection that contains it"
            stack.append((child, False))
    return None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def nesting_deeper_than(value: Any, limit: int) -> bool:
    """Whether parsed data (dicts and lists, e.g. from TOML) nests deeper than `limit`."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        elif not isinstance(item, list):
            continue
        if depth + 1 > limit:
            return True
        stack.extend((inner, depth + 1) for inner in item)
    return False
