"""Alembic environment: migrate the engine in config.attributes, else TWIN_DATABASE_URL."""

from __future__ import annotations

from alembic import context

import twin.store.tables  # noqa: F401 - fills the metadata autogenerate compares against
from twin.store.db import make_engine
from twin.store.tables.base import metadata

config = context.config


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or make_engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            # SQLite cannot ALTER most things; batch mode copies the table instead.
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            # Our SQLite engine issues its own BEGIN, so DDL is transactional there too.
            transactional_ddl=True,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("twin's migrations run online only (twin db upgrade)")
run_migrations_online()
