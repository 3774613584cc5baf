"""Every `twin` command in the README's shell blocks runs and says something useful.

A newcomer copies these first: each must exit 0, print something, print no empty table, and
write the files it names. `make` lines are the Makefile's (run by CI itself); `source` sets up
the shell.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# A rich table whose header is followed at once by its bottom border has no rows.
EMPTY_TABLE = re.compile(r"┡[━╇]+┩\s*\n\s*└")


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL):
        for line in block.splitlines():
            line = line.split("  #", 1)[0].strip()
            if line.startswith("twin "):
                commands.append(line)
    return commands


def test_the_readme_has_commands() -> None:
    commands = readme_commands()
    assert len(commands) >= 10
    assert any(c.startswith("twin monitor") for c in commands)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # A fresh folder holding what a clone holds next to the commands.
    folder = tmp_path_factory.mktemp("readme")
    for name in ("examples", "scenarios", "playbooks", "tests"):
        (folder / name).symlink_to(REPO / name)
    return folder


@pytest.mark.slow
def test_every_readme_command_runs_and_says_something(workdir: Path) -> None:
    for command in readme_commands():  # in order: later commands read what earlier ones wrote
        args = shlex.split(command)[1:]
        done = subprocess.run(
            [sys.executable, "-m", "twin.cli.app", *args],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "COLUMNS": "120"},
        )
        shown = done.stdout + done.stderr
        assert done.returncode == 0, f"{command}\n{shown[-2000:]}"
        assert shown.strip(), f"{command}: printed nothing"
        assert not EMPTY_TABLE.search(shown), f"{command}: printed an empty table\n{shown}"
        for flag in ("-o", "--report"):
            if flag in args:
                written = workdir / args[args.index(flag) + 1]
                assert written.exists(), f"{command}: wrote no {written}"
                assert written.is_dir() or written.stat().st_size > 0
        if "--json" in args:
            import json

            json.loads(done.stdout)
