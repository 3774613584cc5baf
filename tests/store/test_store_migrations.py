"""Migrations: any empty database reaches head, and head is exactly the SQLModel metadata."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import twin.store.tables  # noqa: F401 - every table module, so the metadata is complete
from twin.store.db import make_engine
from twin.store.migrate import (
    SchemaOutdated,
    current_revisions,
    downgrade,
    head_revisions,
    require_current,
    upgrade,
)
from twin.store.tables.base import metadata


def test_upgrade_empty_database_to_head_matches_metadata(empty_url: str) -> None:
    engine = make_engine(empty_url)
    assert current_revisions(engine) == ()
    upgrade(engine)
    assert set(current_revisions(engine)) == set(head_revisions())
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, metadata)
        tables = set(inspect(connection).get_table_names())
    assert diffs == [], f"migrations and tables differ (write a revision): {diffs}"
    assert set(metadata.tables) <= tables
    engine.dispose()


def test_upgrade_twice_and_down_to_base_and_back(empty_url: str) -> None:
    engine = make_engine(empty_url)
    upgrade(engine)
    upgrade(engine)  # already at head: nothing to do, no error
    downgrade(engine, "base")
    with engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert set(current_revisions(engine)) == set(head_revisions())
    engine.dispose()


def test_require_current_names_the_fix(empty_url: str) -> None:
    engine = make_engine(empty_url)
    with pytest.raises(SchemaOutdated, match="twin db upgrade"):
        require_current(engine)
    upgrade(engine)
    require_current(engine)
    assert set(current_revisions(engine)) == set(head_revisions())
    engine.dispose()


def test_tables_follow_the_naming_convention() -> None:
    # Named constraints let later revisions (and SQLite batch mode) drop or alter them by name.
    for table in metadata.tables.values():
        for constraint in table.constraints:
            assert constraint.name, f"unnamed constraint on {table.name}"


def test_revisions_form_one_line() -> None:
    # Two revisions written at once on the same parent make two heads: chain one after the
    # other (set its down_revision) so every database applies them in one known order.
    heads = head_revisions()
    assert len(heads) == 1, f"several migration heads {heads}: chain them (docs/store.md)"
