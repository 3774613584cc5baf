"""Read a folder of playbook files (SPEC 1.4): every file validated, every problem reported at once."""

from __future__ import annotations

from pathlib import Path

from twin.domain.problems import InputError, Problem
from twin.files.tables import read_yaml
from twin.playbook.schema import Playbook, check_playbooks, parse_playbook

SUFFIXES = (".yaml", ".yml")


def playbook_files(folder: str | Path) -> list[Path]:
    """The playbook files of a folder (or the one file given), sorted by name."""
    path = Path(folder)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise InputError([Problem(str(path), "", None, "no such folder")])
    return sorted(p for p in path.iterdir() if p.suffix in SUFFIXES and p.is_file())


def load_playbooks(folder: str | Path) -> list[Playbook]:
    """Every playbook in `folder`; raises InputError listing each problem of every file.

    All or nothing: one bad file refuses the whole set, so a half-valid library never runs.
    """
    problems: list[Problem] = []
    loaded: list[tuple[str, Playbook]] = []
    for file in playbook_files(folder):
        try:
            loaded.append((str(file), parse_playbook(read_yaml(file), str(file))))
        except InputError as exc:
            problems += exc.problems
    problems += check_playbooks(loaded)
    if problems:
        raise InputError(problems)
    return [playbook for _, playbook in loaded]
