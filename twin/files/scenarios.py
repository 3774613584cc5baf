"""Read scenario files (SPEC 1.5) from disk: the YAML document and the paths it refers to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from twin.domain.problems import InputError, Problem
from twin.files.tables import read_yaml

SCENARIO_SUFFIXES = (".yaml", ".yml")


def read_scenario_document(path: Path) -> dict[str, Any]:
    """The YAML mapping of one scenario file; InputError if it is unreadable or not a mapping."""
    doc = read_yaml(path)
    if not isinstance(doc, dict):
        kind = "empty" if doc is None else type(doc).__name__
        raise InputError(
            [
                Problem(
                    str(path), "scenario", None, f"a scenario file must be a mapping (got {kind})"
                )
            ]
        )
    return doc


def scenario_files(refs: list[Path]) -> list[Path]:
    """The scenario files named by `refs`: files as given, folders expanded to their YAML files
    (sorted, not recursive). A missing path is an InputError listing every one missing."""
    files: list[Path] = []
    problems: list[Problem] = []
    for ref in refs:
        if ref.is_dir():
            files += sorted(
                p for p in ref.iterdir() if p.suffix in SCENARIO_SUFFIXES and p.is_file()
            )
        elif ref.exists():
            files.append(ref)
        else:
            problems.append(Problem(str(ref), "", None, "no such file or folder"))
    if problems:
        raise InputError(problems)
    return files


def resolve_relative(ref: str, base: Path) -> Path | None:
    """A path written in a scenario, read relative to the scenario's folder first and then the
    working directory (so a library folder can be moved whole). None if neither exists."""
    written = Path(ref)
    if written.is_absolute():
        return written if written.exists() else None
    for candidate in (base / written, written):
        if candidate.exists():
            return candidate
    return None


def looks_like_path(ref: str) -> bool:
    """Whether a `network` reference names a file or folder rather than a bundled network."""
    return "/" in ref or "\\" in ref or ref.endswith(SCENARIO_SUFFIXES)
