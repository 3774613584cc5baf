"""`twin ingest`: a folder of feeds into a SQLite store; unchanged files skipped; bad rows reported."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twin.cli.app import app
from twin.store.db import make_engine, session_scope
from twin.store.signals import list_checkpoints, list_quarantine, signals_between

SAMPLES = Path(__file__).parents[1] / "feeds" / "samples"
runner = CliRunner()


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'ingest.db'}"
    monkeypatch.setenv("TWIN_DATABASE_URL", url)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    return url


def _ingest(*args: str) -> tuple[int, dict, str]:
    result = runner.invoke(app, ["ingest", *args, "--json"])
    return (
        result.exit_code,
        json.loads(result.stdout) if result.stdout.strip() else {},
        result.stderr,
    )


def test_folder_then_again_then_changed_file(db_url: str, tmp_path: Path) -> None:
    feeds = tmp_path / "feeds"
    shutil.copytree(SAMPLES, feeds)
    code, doc, err = _ingest(str(feeds), "--feed", "drop")
    assert code == 0 and doc["files"] == 8 and doc["skipped"] == 0
    # the same USLAX reading is in bad.csv, bad.jsonl, good.csv and good.jsonl: stored once
    assert doc["rows"] > 0 and doc["inserted"] == doc["rows"] - 3 and doc["duplicates"] == 3
    assert doc["quarantined"] == 10
    assert "bad.csv: row 3: field 'value'" in err  # file, row and field on stderr
    engine = make_engine(db_url)
    with session_scope(engine) as session:
        stored = signals_between(session, start=None, end=None)
        assert len(stored) == doc["inserted"] and len(list_quarantine(session)) == 10
        assert len(list_checkpoints(session, feed="drop")) == 8

    code, again, _ = _ingest(str(feeds), "--feed", "drop")
    assert code == 0 and again["skipped"] == 8 and again["inserted"] == 0

    # another feed name has no checkpoints: reads every file, stores nothing new
    code, other, _ = _ingest(str(feeds), "--feed", "other")
    assert code == 0 and other["skipped"] == 0 and other["rows"] > 0 and other["inserted"] == 0

    extra = (
        '{"ts": "2024-02-01T00:00:00Z", "source": "t", "dimension": "customs", "target": "USLAX", '
        '"metric": "clearance_hours", "value": 80}\n'
    )
    with (feeds / "good.jsonl").open("a") as handle:
        handle.write(extra)
    code, changed, _ = _ingest(str(feeds), "--feed", "drop")
    assert code == 0 and changed["skipped"] == 7 and changed["inserted"] == 1
    engine.dispose()


def test_nothing_readable_exits_2(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "x.bin").write_bytes(b"\x00\x01\x02 not a feed")
    code, doc, err = _ingest(str(tmp_path / "x.bin"))
    assert code == 2 and doc["quarantined"] == 1 and "binary data" in err
    result = runner.invoke(app, ["ingest", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "no such file" in result.stderr


def test_unmigrated_store_says_upgrade(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWIN_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = runner.invoke(app, ["ingest", str(SAMPLES / "good.csv")])
    assert result.exit_code == 1 and "twin db upgrade" in result.stderr
