"""Engines, sessions and schema upgrades.

SQLite runs in WAL mode with foreign keys on, so the crawler processes can write while
the flow reads. Every entry point calls :func:`upgrade` first, so the schema is always the
one the code expects.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class DatabaseError(Exception):
    """The database could not be opened or upgraded; the message names the URL."""


def _normalise_url(url: str) -> str:
    """Let users write ``postgresql://``: use the psycopg 3 driver we ship."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_savepoint(connection: Any, _name: str | None) -> None:
    """pysqlite opens transactions itself, lazily before the first write, and not for a
    SAVEPOINT: a savepoint taken before any write would start the transaction itself, and
    its RELEASE would commit it — half a unit of work. Open the transaction first."""
    raw = connection.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        raw.execute("BEGIN")


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (SQLite or PostgreSQL) with uproar's connection settings."""
    url = _normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "savepoint", _sqlite_savepoint)
        return engine
    return create_engine(url, pool_pre_ping=True)


def dialect_insert(session: Session) -> Any:
    """The ``insert`` of the session's database, for ``ON CONFLICT DO NOTHING`` writes
    that make storing idempotent (SQLite and PostgreSQL spell it the same way)."""
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(engine: Engine) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


# Alembic's command runner keeps module-level state: two threads upgrading at once (the
# monitor flow's parallel crawl tasks) fail with "alembic_version already exists" or a
# half-loaded script. One upgrade at a time per process.
_UPGRADE_LOCK = threading.Lock()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every migration up to ``revision``; safe to call on every start."""
    try:
        with _UPGRADE_LOCK:
            command.upgrade(alembic_config(engine), revision)
    except Exception as exc:
        url = engine.url.render_as_string(hide_password=True)
        raise DatabaseError(f"could not upgrade the database at {url}: {exc}") from exc


def open_database(url: str) -> tuple[Engine, sessionmaker[Session]]:
    """Engine + session factory for ``url``, schema upgraded to head. The caller disposes
    the engine; long-running code should prefer :func:`database`."""
    engine = make_engine(url)
    upgrade(engine)
    return engine, make_session_factory(engine)


@contextmanager
def database(url: str, *, upgrade_schema: bool = True) -> Iterator[sessionmaker[Session]]:
    """A session factory for ``url`` whose engine (and its connections) is closed on exit,
    so a scheduler that runs for weeks does not pile up connection pools."""
    engine = make_engine(url)
    try:
        if upgrade_schema:
            upgrade(engine)
        yield make_session_factory(engine)
    finally:
        engine.dispose()
