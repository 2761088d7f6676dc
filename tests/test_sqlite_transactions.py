"""A savepoint on SQLite must not commit the surrounding unit of work (pysqlite's default)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import make_engine


def test_released_savepoint_is_undone_with_its_transaction(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    with pytest.raises(RuntimeError), engine.begin() as connection:
        with connection.begin_nested():
            connection.execute(text("INSERT INTO t VALUES (1)"))
        raise RuntimeError("crash after the savepoint, before the commit")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 0
