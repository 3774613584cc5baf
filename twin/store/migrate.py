"""Run the packaged Alembic migrations in code: no alembic.ini, any database brought to head."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

SCRIPT_LOCATION = "twin.store:migrations"


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic Config for twin's migrations; with `engine`, env.py migrates that engine."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    # One revision per file, numbered like 0002_signals.py (see docs/store.md).
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the database to `revision` (default: every head), creating tables as needed."""
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def current_revisions(engine: Engine) -> tuple[str, ...]:
    """The revisions the database is at; empty for a database never migrated."""
    with engine.connect() as connection:
        return tuple(MigrationContext.configure(connection).get_current_heads())


def head_revisions() -> tuple[str, ...]:
    """The newest revisions this twin ships (one, unless two branches await a merge)."""
    return tuple(ScriptDirectory.from_config(alembic_config()).get_heads())


class SchemaOutdated(RuntimeError):
    """Raised when the database is not at the schema this version of twin expects."""


def require_current(engine: Engine) -> None:
    """Raise SchemaOutdated (saying to run `twin db upgrade`) unless the database is at head."""
    current, heads = set(current_revisions(engine)), set(head_revisions())
    if current != heads:
        have = ", ".join(sorted(current)) or "no tables yet"
        raise SchemaOutdated(
            f"the database is at {have}, this twin expects {', '.join(sorted(heads))}: "
            "run `twin db upgrade` first"
        )


def new_revision(*, message: str, rev_id: str, autogenerate: bool = True) -> str:
    """Write a new revision file into twin/store/migrations/versions/ and return its path.

    With `autogenerate`, it holds the difference between the shipped revisions (applied to a
    scratch SQLite database) and the tables in the metadata: check and tidy it by hand (see
    docs/store.md). Developers' tool; users only ever run `upgrade`.
    """
    import tempfile
    from pathlib import Path

    from twin.store.db import make_engine

    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{Path(scratch) / 'scratch.db'}")
        upgrade(engine)
        script = command.revision(
            alembic_config(engine), message=message, rev_id=rev_id, autogenerate=autogenerate
        )
        engine.dispose()
    scripts = script if isinstance(script, list) else [script]
    return str(scripts[0].path) if scripts and scripts[0] is not None else ""
