"""storage.history on a small known history (tests/history_data.py): exact numbers for
every measure, on SQLite and on PostgreSQL; the SQL views; the newest-score triggers."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import delete, text
from sqlalchemy.orm import Session, sessionmaker

from alerts.reach import estimated_reach
from storage.db import session_scope
from storage.history import (
    HistoryError,
    HistoryFilter,
    busiest_hours,
    busiest_weekdays,
    complaints,
    deadline_hit_rate,
    mentions,
    parse_grouping,
    repeat_rate,
    response_times,
    run_measure,
    top_negative_posts,
)
from storage.models import Post, SentimentScore
from tests.history_data import at, build_history

LARKSPUR = HistoryFilter(watch="larkspur")
NAN = float("nan")


@pytest.fixture
def history(session_factory: sessionmaker[Session]) -> tuple[sessionmaker[Session], dict[str, int]]:
    with session_scope(session_factory) as session:
        ids = build_history(session)
    return session_factory, ids


def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Plain values: timestamps as 'YYYY-MM-DD', NaN/NA as None, floats rounded."""
    out = []
    for record in frame.to_dict(orient="records"):
        clean: dict[str, Any] = {}
        for key, value in record.items():
            if isinstance(value, pd.Timestamp):
                value = value.strftime("%Y-%m-%d")
            elif (
                value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))
            ):
                value = None
            elif isinstance(value, float):
                value = round(value, 6)
            clean[key] = value
        out.append(clean)
    return out


def _m(
    mentions_: int, scored: int, negatives: int, share: float | None, mean: float | None
) -> dict[str, Any]:
    return {
        "mentions": mentions_,
        "scored": scored,
        "negatives": negatives,
        "negative_share": share,
        "mean_negativity": mean,
    }


def test_mentions_by_day_week_month(history: tuple[sessionmaker[Session], dict[str, int]]) -> None:
    factory, _ = history
    with factory() as session:
        by_day = mentions(session, LARKSPUR, parse_grouping(["day"]))
        by_week = mentions(session, LARKSPUR, parse_grouping("week"))
        by_month = mentions(session, LARKSPUR, parse_grouping("month"))
        total = mentions(session, LARKSPUR)
    assert str(by_day["day"].dtype).startswith("datetime64")
    assert rows(by_day) == [
        {"day": "2026-10-30", **_m(1, 1, 1, 1.0, 0.6)},
        {"day": "2026-11-02", **_m(2, 2, 1, 0.5, 0.5)},  # p1's newest score is 0.2
        {"day": "2026-11-03", **_m(2, 2, 1, 0.5, 0.4)},  # p4 counted by fetched_at
        {"day": "2026-11-09", **_m(1, 0, 0, None, None)},
    ]
    assert rows(by_week) == [
        {"week": "2026-10-26", **_m(1, 1, 1, 1.0, 0.6)},
        {"week": "2026-11-02", **_m(4, 4, 2, 0.5, 0.45)},
        {"week": "2026-11-09", **_m(1, 0, 0, None, None)},
    ]
    assert rows(by_month) == [
        {"month": "2026-10-01", **_m(1, 1, 1, 1.0, 0.6)},
        {"month": "2026-11-01", **_m(5, 4, 2, 0.5, 0.45)},
    ]
    assert rows(total) == [_m(6, 5, 3, 0.6, 0.48)]


def test_mentions_by_dimensions_and_filters(
    history: tuple[sessionmaker[Session], dict[str, int]],
) -> None:
    factory, _ = history
    with factory() as session:
        by_source = mentions(session, LARKSPUR, parse_grouping(["source"]))
        by_category = mentions(session, LARKSPUR, parse_grouping(["category"]))
        by_language = mentions(session, LARKSPUR, parse_grouping(["language"]))
        by_region = mentions(session, HistoryFilter(), parse_grouping(["region"]))
        period = mentions(
            session,
            HistoryFilter(
                watch="larkspur", since=at("2026-11-02T00:00"), until=at("2026-11-04T00:00")
            ),
        )
        reddit = mentions(
            session, HistoryFilter(sources=("reddit",)), parse_grouping(["day", "language"])
        )
        strict = mentions(session, HistoryFilter(watch="larkspur", negativity_threshold=0.75))
    assert rows(by_source) == [
        {"source": "feed", **_m(3, 3, 2, 0.666667, 0.533333)},
        {"source": "reddit", **_m(3, 2, 1, 0.5, 0.4)},
    ]
    by_category_rows = sorted(
        rows(by_category), key=lambda r: (r["category"] is not None, str(r["category"]))
    )
    assert by_category_rows == [
        {"category": None, **_m(3, 2, 0, 0.0, 0.15)},
        {"category": "after_sales", **_m(1, 1, 1, 1.0, 0.7)},
        {"category": "logistics", **_m(2, 2, 2, 1.0, 0.7)},
    ]
    assert rows(by_language) == [
        {"language": "en", **_m(5, 4, 3, 0.75, 0.575)},
        {"language": "zh", **_m(1, 1, 0, 0.0, 0.1)},
    ]
    region_rows = sorted(rows(by_region), key=lambda r: (r["region"] is not None, str(r["region"])))
    assert region_rows == [
        {"region": None, **_m(2, 1, 1, 1.0, 0.7)},
        {"region": "CN", **_m(1, 1, 0, 0.0, 0.1)},
        {"region": "GB", **_m(4, 4, 3, 0.75, 0.6375)},
    ]
    assert rows(period) == [_m(4, 4, 2, 0.5, 0.45)]
    assert rows(reddit) == [
        {"day": "2026-11-03", "language": "en", **_m(1, 1, 1, 1.0, 0.7)},
        {"day": "2026-11-03", "language": "zh", **_m(1, 1, 0, 0.0, 0.1)},
        {"day": "2026-11-09", "language": "en", **_m(1, 0, 0, None, None)},
    ]
    assert rows(strict) == [_m(6, 5, 1, 0.2, 0.48)]


def test_busiest_hours_and_weekdays(history: tuple[sessionmaker[Session], dict[str, int]]) -> None:
    factory, _ = history
    with factory() as session:
        hours = next(run_measure("busiest_hours", session, LARKSPUR))
        weekdays = next(run_measure("busiest_weekdays", session, LARKSPUR))
        plain_hours = busiest_hours(session, LARKSPUR)
        plain_weekdays = busiest_weekdays(session, LARKSPUR)
    assert len(hours) == 24 and len(plain_hours) == 24
    busy = {r["hour"]: (r["mentions"], r["negatives"], r["complaints"]) for r in rows(hours)}
    assert {h: v for h, v in busy.items() if v != (0, 0, 0)} == {
        0: (0, 0, 1),
        8: (1, 0, 0),
        9: (1, 0, 0),
        12: (2, 2, 1),
        13: (0, 0, 1),
        14: (0, 0, 1),
        23: (2, 1, 0),
    }
    days = {r["weekday_name"]: (r["mentions"], r["complaints"]) for r in rows(weekdays)}
    assert days == {
        "Monday": (3, 2),
        "Tuesday": (2, 1),
        "Wednesday": (0, 0),
        "Thursday": (0, 0),
        "Friday": (1, 0),
        "Saturday": (0, 1),
        "Sunday": (0, 0),
    }
    assert list(plain_weekdays["weekday"]) == list(range(7))


def test_complaint_counts_and_repeat_rate(
    history: tuple[sessionmaker[Session], dict[str, int]],
) -> None:
    factory, _ = history
    with factory() as session:
        by_priority = complaints(
            session, LARKSPUR, parse_grouping(["priority"], allowed=("priority",))
        )
        by_category = next(run_measure("complaints", session, LARKSPUR, ["category"]))
        by_source = next(run_measure("complaints", session, LARKSPUR, ["source"]))
        by_day = next(run_measure("complaints", session, LARKSPUR, ["day"]))
        everything = next(run_measure("complaints", session, HistoryFilter()))
        repeats = repeat_rate(session, LARKSPUR)
        repeats_by_priority = next(run_measure("repeat_rate", session, LARKSPUR, ["priority"]))
    assert rows(by_priority) == [
        {"priority": "P1", "complaints": 3},
        {"priority": "P2", "complaints": 1},
    ]
    assert rows(by_category) == [
        {"category": "after_sales", "complaints": 1},
        {"category": "logistics", "complaints": 3},
    ]
    assert rows(by_source) == [
        {"source": "feed", "complaints": 3},
        {"source": "reddit", "complaints": 1},
    ]
    assert rows(by_day) == [
        {"day": "2026-10-31", "complaints": 1},
        {"day": "2026-11-02", "complaints": 2},
        {"day": "2026-11-03", "complaints": 1},
    ]
    assert rows(everything) == [{"complaints": 5}]
    # Post complaints c1, c2, c3 (c4 is a spike); c2 repeats c1.
    assert rows(repeats) == [{"complaints": 3, "repeats": 1, "repeat_rate": 0.333333}]
    assert rows(repeats_by_priority) == [
        {"priority": "P1", "complaints": 2, "repeats": 0, "repeat_rate": 0.0},
        {"priority": "P2", "complaints": 1, "repeats": 1, "repeat_rate": 1.0},
    ]


def test_response_times_p50_p90(history: tuple[sessionmaker[Session], dict[str, int]]) -> None:
    factory, _ = history
    with factory() as session:
        overall = response_times(session, LARKSPUR)
        by_priority = next(run_measure("response_times", session, LARKSPUR, ["priority"]))
    # claim 300, 600, 1200, 2400; response 1200, 1800, 5400; resolution 3600, 7200.
    assert rows(overall) == [
        {"stage": "claim", "complaints": 4, "p50_seconds": 900.0, "p90_seconds": 2040.0},
        {"stage": "first_response", "complaints": 3, "p50_seconds": 1800.0, "p90_seconds": 4680.0},
        {"stage": "resolution", "complaints": 2, "p50_seconds": 5400.0, "p90_seconds": 6840.0},
    ]
    assert rows(by_priority) == [
        {
            "priority": "P1",
            "stage": "claim",
            "complaints": 3,
            "p50_seconds": 600.0,
            "p90_seconds": 2040.0,
        },
        {
            "priority": "P1",
            "stage": "first_response",
            "complaints": 2,
            "p50_seconds": 1500.0,
            "p90_seconds": 1740.0,
        },
        {
            "priority": "P1",
            "stage": "resolution",
            "complaints": 2,
            "p50_seconds": 5400.0,
            "p90_seconds": 6840.0,
        },
        {
            "priority": "P2",
            "stage": "claim",
            "complaints": 1,
            "p50_seconds": 1200.0,
            "p90_seconds": 1200.0,
        },
        {
            "priority": "P2",
            "stage": "first_response",
            "complaints": 1,
            "p50_seconds": 5400.0,
            "p90_seconds": 5400.0,
        },
        {
            "priority": "P2",
            "stage": "resolution",
            "complaints": 0,
            "p50_seconds": None,
            "p90_seconds": None,
        },
    ]


def test_deadline_hit_rate_by_source_and_category(
    history: tuple[sessionmaker[Session], dict[str, int]],
) -> None:
    factory, _ = history
    with factory() as session:
        overall = deadline_hit_rate(session, LARKSPUR)
        by_source = next(run_measure("deadline_hit_rate", session, LARKSPUR, ["source"]))
        by_category = next(run_measure("deadline_hit_rate", session, LARKSPUR, ["category"]))
    assert rows(overall) == [
        {"deadline": "ack", "decided": 4, "met": 2, "hit_rate": 0.5},
        {"deadline": "response", "decided": 3, "met": 2, "hit_rate": 0.666667},
        {"deadline": "resolution", "decided": 2, "met": 1, "hit_rate": 0.5},
    ]
    assert rows(by_source) == [
        {"source": "feed", "deadline": "ack", "decided": 3, "met": 2, "hit_rate": 0.666667},
        {"source": "feed", "deadline": "response", "decided": 2, "met": 2, "hit_rate": 1.0},
        {"source": "feed", "deadline": "resolution", "decided": 2, "met": 1, "hit_rate": 0.5},
        {"source": "reddit", "deadline": "ack", "decided": 1, "met": 0, "hit_rate": 0.0},
        {"source": "reddit", "deadline": "response", "decided": 1, "met": 0, "hit_rate": 0.0},
        {"source": "reddit", "deadline": "resolution", "decided": 0, "met": 0, "hit_rate": None},
    ]
    assert [r["category"] for r in rows(by_category)] == ["after_sales"] * 3 + ["logistics"] * 3


def test_top_negative_posts_by_reach_with_personal_data_masked(
    history: tuple[sessionmaker[Session], dict[str, int]],
) -> None:
    factory, ids = history
    with factory() as session:
        top = top_negative_posts(session, LARKSPUR, estimated_reach, limit=2)
        everyone = next(
            run_measure("top_negative_posts", session, HistoryFilter(), reach=estimated_reach)
        )
    assert list(top["post_id"]) == [ids["p3"], ids["p2"]]
    assert list(top["reach"]) == [5000, 1000]
    assert "jo@example.com" not in top.iloc[0]["text"] and "[email]" in top.iloc[0]["text"]
    assert top.iloc[0]["category"] == "after_sales"
    # p6 (watch other) has no follower count: reach 0, last.
    assert list(everyone["post_id"]) == [ids["p3"], ids["p2"], ids["p7"], ids["p6"]]


def test_newest_score_follows_inserts_updates_and_deletes(
    history: tuple[sessionmaker[Session], dict[str, int]],
) -> None:
    factory, ids = history
    with session_scope(factory) as session:
        p1 = session.get(Post, ids["p1"])
        assert p1 is not None and p1.negativity == pytest.approx(0.2)
        session.execute(
            delete(SentimentScore).where(
                SentimentScore.post_id == ids["p1"], SentimentScore.negative < 0.5
            )
        )
    with session_scope(factory) as session:
        p1 = session.get(Post, ids["p1"])
        assert p1 is not None and p1.negativity == pytest.approx(0.9)
        session.execute(
            text("UPDATE sentiment_scores SET negative = 0.3 WHERE post_id = :id"),
            {"id": ids["p1"]},
        )
    with factory() as session:
        p1 = session.get(Post, ids["p1"])
        assert p1 is not None and p1.negativity == pytest.approx(0.3)
        p5 = session.get(Post, ids["p5"])
        assert p5 is not None and p5.negativity is None and p5.newest_score_id is None


def _view(session: Session, sql: str) -> list[dict[str, Any]]:
    frame = pd.read_sql_query(text(sql), session.connection())
    return rows(frame)


def test_sql_views_exist_and_give_the_same_rows_on_every_database(
    history: tuple[sessionmaker[Session], dict[str, int]],
) -> None:
    factory, ids = history
    with factory() as session:
        daily = _view(
            session,
            "SELECT day, watch, source, mentions, scored, negatives, negative_share, "
            "mean_negativity FROM v_sentiment_daily ORDER BY day, watch, source",
        )
        complaint_rows = _view(
            session,
            "SELECT complaint_id, kind, priority, source, is_repeat, seconds_to_claim, "
            "seconds_to_response, seconds_to_resolution FROM v_complaints ORDER BY complaint_id",
        )
        mention_rows = _view(
            session,
            "SELECT post_id, source, negativity, is_negative, category "
            "FROM v_mentions ORDER BY post_id",
        )
    assert daily == [
        {"day": "2026-10-30", "watch": "larkspur", "source": "feed", **_m(1, 1, 1, 1.0, 0.6)},
        {"day": "2026-11-02", "watch": "larkspur", "source": "feed", **_m(2, 2, 1, 0.5, 0.5)},
        {"day": "2026-11-02", "watch": "other", "source": "feed", **_m(1, 1, 1, 1.0, 0.95)},
        {"day": "2026-11-03", "watch": "larkspur", "source": "reddit", **_m(2, 2, 1, 0.5, 0.4)},
        {"day": "2026-11-09", "watch": "larkspur", "source": "reddit", **_m(1, 0, 0, None, None)},
    ]
    assert complaint_rows == [
        {
            "complaint_id": ids["c1"],
            "kind": "post",
            "priority": "P1",
            "source": "feed",
            "is_repeat": 0,
            "seconds_to_claim": 600,
            "seconds_to_response": 1800,
            "seconds_to_resolution": 7200,
        },
        {
            "complaint_id": ids["c2"],
            "kind": "post",
            "priority": "P2",
            "source": "reddit",
            "is_repeat": 1,
            "seconds_to_claim": 1200,
            "seconds_to_response": 5400,
            "seconds_to_resolution": None,
        },
        {
            "complaint_id": ids["c3"],
            "kind": "post",
            "priority": "P1",
            "source": "feed",
            "is_repeat": 0,
            "seconds_to_claim": 2400,
            "seconds_to_response": None,
            "seconds_to_resolution": None,
        },
        {
            "complaint_id": ids["c4"],
            "kind": "spike",
            "priority": "P1",
            "source": "feed",
            "is_repeat": 0,
            "seconds_to_claim": 300,
            "seconds_to_response": 1200,
            "seconds_to_resolution": 3600,
        },
        {
            "complaint_id": ids["c5"],
            "kind": "post",
            "priority": "P3",
            "source": "feed",
            "is_repeat": 0,
            "seconds_to_claim": 60,
            "seconds_to_response": 120,
            "seconds_to_resolution": 180,
        },
    ]
    assert [(r["negativity"], r["is_negative"], r["category"]) for r in mention_rows] == [
        (0.2, 0, None),
        (0.8, 1, "logistics"),
        (0.7, 1, "after_sales"),
        (0.1, 0, None),
        (None, None, None),
        (0.95, 1, "logistics"),
        (0.6, 1, "logistics"),
    ]


@pytest.mark.parametrize(
    ("measure", "by", "message"),
    [
        ("mentions", ["hourly"], "unknown grouping 'hourly'"),
        ("mentions", ["priority"], "applies to complaint measures only"),
        ("mentions", ["day", "week"], "one time bucket"),
        ("nonsense", [], "unknown measure"),
        ("posts", ["day"], "takes no --by"),
        ("busiest_hours", ["day"], "groups by the clock"),
        ("top_negative_posts", [], "needs a reach function"),
    ],
)
def test_bad_questions_are_refused_before_anything_is_read(
    measure: str, by: list[str], message: str
) -> None:
    with pytest.raises(HistoryError, match=message):
        run_measure(measure, None, HistoryFilter(), by)  # type: ignore[arg-type]


def test_filter_checks_its_period() -> None:
    with pytest.raises(HistoryError, match="must be before"):
        HistoryFilter(since=at("2026-11-05T00:00"), until=at("2026-11-01T00:00"))
    with pytest.raises(HistoryError, match="naive"):
        HistoryFilter(since=at("2026-11-05T00:00").replace(tzinfo=None))


PERIODS = [
    (None, None),
    ("2026-11-02T00:00", "2026-11-04T00:00"),  # whole days: the rollup alone
    ("2026-11-02T10:00", "2026-11-03T23:00"),  # both edges inside a day
    ("2026-11-02T12:00", "2026-11-02T13:00"),  # within one day
    ("2026-10-30T23:59:59", None),
    (None, "2026-11-03T12:45"),
]
GROUPINGS = [["day", "source"], ["week"], ["month", "watch"], ["source"], []]


def test_the_daily_rollup_gives_what_counting_posts_gives(
    history: tuple[sessionmaker[Session], dict[str, int]],
) -> None:
    factory, ids = history
    with session_scope(factory) as session:  # move a post to another day, unscore one
        p3 = session.get(Post, ids["p3"])
        assert p3 is not None
        p3.published_at = at("2026-11-02T23:30")
        session.execute(delete(SentimentScore).where(SentimentScore.post_id == ids["p4"]))
    with factory() as session:
        for since, until in PERIODS:
            period = HistoryFilter(
                since=at(since) if since else None, until=at(until) if until else None
            )
            for by in GROUPINGS:
                fast = mentions(session, period, parse_grouping(by))
                slow = mentions(session, period, parse_grouping(by), use_rollup=False)
                assert rows(fast) == rows(slow), (since, until, by)
                assert len(fast) > 0


def test_history_objects_step_aside_for_a_table_rebuild(database_url: str) -> None:
    """A later migration may rebuild posts or complaints (SQLite batch mode); with the views
    and triggers dropped first and created again after, it works and they work."""
    import sqlalchemy as sa
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    from storage import history_schema
    from storage.db import make_engine, make_session_factory, upgrade

    engine = make_engine(database_url)
    upgrade(engine)
    with engine.begin() as connection:
        history_schema.drop_history_objects(connection)
        operations = Operations(MigrationContext.configure(connection))
        rebuild = "always" if connection.dialect.name == "sqlite" else "auto"
        for table in ("posts", "complaints", "sentiment_scores"):
            with operations.batch_alter_table(table, recreate=rebuild) as batch:
                batch.add_column(sa.Column("later_column", sa.Integer()))
        history_schema.create_history_objects(connection)
    with session_scope(make_session_factory(engine)) as session:
        build_history(session)
    with engine.connect() as connection:
        daily = connection.exec_driver_sql("SELECT SUM(mentions) FROM v_sentiment_daily").scalar()
        newest = connection.exec_driver_sql(
            "SELECT COUNT(*) FROM v_mentions WHERE negativity IS NOT NULL"
        ).scalar()
    upgrade(engine)  # nothing pending: the objects are left alone
    engine.dispose()
    assert (daily, newest) == (7, 6)
