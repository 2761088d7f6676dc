"""Storage: migrations, UTC datetimes and idempotent post writes on both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from storage.db import make_engine, open_database, upgrade
from storage.models import Amplification, Post
from storage.posts import (
    NewAmplification,
    NewPost,
    posts_without_score,
    save_amplifications,
    save_post,
    save_posts,
)

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

    # Only this test's connections are counted (other workers share the server): they
    # carry an application_name nobody else uses.
    name = f"uproar-close-test-{uuid.uuid4().hex[:8]}"
    url = f"{postgres_url}{'&' if '?' in postgres_url else '?'}application_name={name}"

    def connections() -> int:
        probe = create_engine(postgres_url.split("?")[0], poolclass=NullPool)
        with probe.connect() as conn:
            count = conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"),
                {"name": name},
            ).scalar_one()
        probe.dispose()
        return int(count)

    for _ in range(5):
        with database(url) as factory, factory() as session:
            session.execute(select(Post)).all()
            assert connections() >= 1  # the probe sees this run's connection
        assert connections() == 0


def test_save_posts_in_one_batch_reports_only_new_ids_and_masks_text(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        assert save_post(session, _post(external_id="a"), FETCHED)
    batch = [
        _post(external_id="a", likes=9),
        _post(external_id="b", text="call me on 13800138000 or jo@example.com"),
        _post(external_id="b", text="call me on 13800138000 or jo@example.com", likes=5),
    ]
    with session_factory.begin() as session:
        assert save_posts(session, batch, FETCHED) == {"b"}
    with session_factory() as session:
        stored = {post.external_id: post for post in session.scalars(select(Post))}
    assert stored["a"].likes == 9  # a known post's counters grew
    assert stored["b"].likes == 5  # a post repeated in the batch: the last copy wins
    assert stored["b"].text == "call me on [phone] or [email]"  # masked before storage


def test_amplifications_are_recorded_once_and_add_their_audience(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        save_post(session, _post(external_id="orig"), FETCHED)
    boosts = [
        NewAmplification("demo-feed", "orig", "boost-1", "ann@example.social", 1200),
        NewAmplification("demo-feed", "orig", "boost-2", "bob@example.social", None),
        NewAmplification("demo-feed", "not-stored", "boost-3", "cy@example.social", 99),
    ]
    with session_factory.begin() as session:
        assert save_amplifications(session, boosts, FETCHED) == 2
    with session_factory.begin() as session:  # the same boosts seen again add nothing
        assert save_amplifications(session, boosts[:1], FETCHED) == 0
    with session_factory() as session:
        post = session.scalars(select(Post).where(Post.external_id == "orig")).one()
        assert (post.amplifications, post.amplifier_followers) == (2, 1200)
        who = set(session.scalars(select(Amplification.amplifier)))
    assert who == {"ann@example.social", "bob@example.social"}


def test_migrations_create_exactly_what_the_models_declare(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storage.models import Base

    engine = make_engine(database_url)
    upgrade(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


def test_parallel_upgrades_in_one_process_do_not_race(sqlite_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def open_and_close(_: int) -> None:
        engine, _factory = open_database(sqlite_url)
        engine.dispose()

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(open_and_close, range(4)))
