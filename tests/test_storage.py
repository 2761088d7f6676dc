"""Storage: migrations, UTC datetimes and idempotent post writes on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from storage.db import make_engine, open_database, upgrade
from storage.models import Post
from storage.posts import NewPost, posts_without_score, save_post

FETCHED = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _post(**overrides: object) -> NewPost:
    values: dict[str, object] = {
        "source": "demo-feed",
        "platform": "rss",
        "external_id": "post-1",
        "text": "My parcel is two weeks late",
        "likes": 3,
    }
    values.update(overrides)
    return NewPost(**values)  # type: ignore[arg-type]


def test_upgrade_creates_every_table_and_is_repeatable(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert {
        "posts",
        "sentiment_scores",
        "complaints",
        "complaint_events",
        "notifications",
        "crawl_state",
        "alembic_version",
    } <= tables
    engine.dispose()


def test_sqlite_runs_in_wal_mode(sqlite_url: str) -> None:
    engine, _ = open_database(sqlite_url)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()


def test_save_post_is_idempotent_and_counters_only_grow(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        assert save_post(session, _post(), FETCHED) is True
    with session_factory.begin() as session:
        assert save_post(session, _post(likes=10, text="edited"), FETCHED) is False
    with session_factory.begin() as session:
        assert save_post(session, _post(likes=4), FETCHED) is False
    with session_factory() as session:
        posts = session.execute(select(Post)).scalars().all()
        assert len(posts) == 1
        assert posts[0].likes == 10
        assert posts[0].text == "My parcel is two weeks late"


def test_datetimes_come_back_aware_utc(session_factory: sessionmaker[Session]) -> None:
    published = datetime(2026, 6, 15, 11, 44, 46, tzinfo=timezone(timedelta(hours=8)))
    with session_factory.begin() as session:
        save_post(session, _post(published_at=published), FETCHED)
    with session_factory() as session:
        post = session.execute(select(Post)).scalar_one()
        assert post.published_at == published
        assert post.published_at is not None and post.published_at.tzinfo is not None
        assert post.published_at.utcoffset() == timedelta(0)
        assert post.fetched_at == FETCHED


def test_naive_datetimes_are_refused(session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(Exception, match="naive datetime"), session_factory.begin() as session:
        save_post(session, _post(published_at=datetime(2026, 1, 1)), FETCHED)


def test_posts_without_score_lists_unscored_posts(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        save_post(session, _post(external_id="a"), FETCHED)
        save_post(session, _post(external_id="b"), FETCHED)
    with session_factory() as session:
        assert [p.external_id for p in posts_without_score(session, "m1")] == ["a", "b"]


@pytest.mark.postgres
def test_database_context_closes_its_connections(postgres_url: str) -> None:
    """A scheduler opens the database every run: nothing may be left connected after."""
    from sqlalchemy import create_engine

    from storage.db import database

    def connections() -> int:
        probe = create_engine(postgres_url.split("?")[0], poolclass=NullPool)
        with probe.connect() as conn:
            count = conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
            ).scalar_one()
        probe.dispose()
        return int(count)

    before = connections()
    for _ in range(5):
        with database(postgres_url) as factory, factory() as session:
            session.execute(select(Post)).all()
    assert connections() == before
