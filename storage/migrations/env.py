"""Alembic environment: runs against the engine uproar passes in (batch mode on SQLite)."""

from __future__ import annotations

from alembic import context
from alembic.script import ScriptDirectory

from storage import history_schema
from storage.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        from storage.db import make_engine

        engine = make_engine(config.get_main_option("sqlalchemy.url") or "sqlite:///uproar.db")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            # Views and triggers are repeatable (storage/history_schema.py): out of the way
            # while migrations rebuild tables, back as they are now afterwards.
            heads = set(ScriptDirectory.from_config(config).get_heads())
            pending = set(context.get_context().get_current_heads()) != heads
            if pending:
                history_schema.drop_history_objects(connection)
            context.run_migrations()
            if pending and history_schema.present(connection):
                history_schema.drop_history_objects(connection)
                history_schema.create_history_objects(connection)
        connection.commit()


run_migrations_online()
