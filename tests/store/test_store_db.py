"""Engine and session factory: which database, SQLite's settings, commit or roll back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from twin.store.db import DEFAULT_DATABASE_URL, database_url, make_engine, session_scope
from twin.store.networks import list_networks, save_network


def test_database_url_default_env_and_explicit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TWIN_DATABASE_URL", raising=False)
    assert database_url() == DEFAULT_DATABASE_URL == "sqlite:///twin.db"
    monkeypatch.setenv("TWIN_DATABASE_URL", "postgresql+psycopg://u@h/db")
    assert database_url() == "postgresql+psycopg://u@h/db"
    assert database_url("sqlite:///other.db") == "sqlite:///other.db"


def test_sqlite_file_has_foreign_keys_and_wal(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()


def test_postgresql_urls_use_psycopg_3() -> None:
    engine = make_engine("postgresql://postgres@127.0.0.1:1/none")
    assert engine.dialect.driver == "psycopg"
    with pytest.raises(ValueError, match="unsupported database"):
        make_engine("mysql://x@y/z")


def test_session_scope_commits_or_rolls_back(make_network: Any, engine: Engine) -> None:
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        save_network(session, network=make_network("lost"))
        raise RuntimeError("after the save, before the commit")
    with session_scope(engine) as session:
        save_network(session, network=make_network("kept"))
    with session_scope(engine) as session:
        assert [n.name for n in list_networks(session)] == ["kept"]
