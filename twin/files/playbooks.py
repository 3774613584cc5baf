"""Read a folder of playbook files (SPEC 1.4): every file validated, every problem reported at once."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from twin.domain.problems import InputError, Problem, errors_only
from twin.domain.records import Network
from twin.domain.settings import TwinConfig
from twin.domain.signals import ALERTED_DIMENSIONS
from twin.files.config import scoring_config
from twin.files.tables import read_yaml
from twin.playbook.schema import Playbook, check_playbooks, check_references, parse_playbook

SUFFIXES = (".yaml", ".yml")


def playbook_files(folder: str | Path) -> list[Path]:
    """The playbook files of a folder (or the one file given), sorted by name."""
    path = Path(folder)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise InputError([Problem(str(path), "", None, "no such folder")])
    return sorted(p for p in path.iterdir() if p.suffix in SUFFIXES and p.is_file())


def read_playbooks(
    folder: str | Path,
    *,
    ids: Collection[str] | None = None,
    channels: Collection[str] | None = None,
    dimensions: Collection[str] = ALERTED_DIMENSIONS,
) -> tuple[list[Playbook], list[Problem]]:
    """Every playbook in `folder` and the warnings about them; raises InputError listing each
    problem of every file.

    All or nothing: one bad file refuses the whole set, so a half-valid library never runs.
    `ids` (the network's node and lane ids) and `channels` (the configured notify channels), when
    given, also refuse targets and channels that do not exist (twin.playbook.schema.check_references).
    """
    problems: list[Problem] = []
    loaded: list[tuple[str, Playbook]] = []
    for file in playbook_files(folder):
        try:
            playbook = parse_playbook(read_yaml(file), str(file))
        except InputError as exc:
            problems += exc.problems
            continue
        loaded.append((str(file), playbook))
        problems += check_references(
            playbook, str(file), ids=ids, channels=channels, dimensions=dimensions
        )
    problems += check_playbooks(loaded)
    if errors_only(problems):
        raise InputError(problems)
    return [playbook for _, playbook in loaded], problems


def load_playbooks(
    folder: str | Path,
    *,
    ids: Collection[str] | None = None,
    channels: Collection[str] | None = None,
    dimensions: Collection[str] = ALERTED_DIMENSIONS,
) -> list[Playbook]:
    """`read_playbooks` without the warnings."""
    return read_playbooks(folder, ids=ids, channels=channels, dimensions=dimensions)[0]


def playbooks_for(
    config: TwinConfig, network: Network, folder: str | Path
) -> tuple[list[Playbook], list[Problem]]:
    """The playbooks of `folder` checked against the daemon that runs them: the network's nodes
    and lanes, the configured channels, the dimensions scored (standard and configured ramps)."""
    scoring = scoring_config(config)
    dimensions = set(ALERTED_DIMENSIONS) | {ramp.dimension for ramp in scoring.ramps.values()}
    return read_playbooks(
        folder,
        ids=set(network.node_by_id) | set(network.lane_by_id),
        channels=[channel.name for channel in config.notify.channels],
        dimensions=dimensions,
    )
