"""Daily mention sums from the ``sentiment_daily`` rollup (kept by triggers on posts), so
"90 days of daily negative share by source" reads a few hundred rows, not every post.

The rollup holds whole UTC days at the default threshold; a period that starts or ends
inside a day reads those edge days from posts, so the answer is the same as counting
posts one by one. Other thresholds or dimensions read posts (see :func:`usable`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Connection, case, func, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.history.buckets import bucket_sql
from storage.history.filters import DEFAULT_NEGATIVITY_THRESHOLD, Grouping, HistoryFilter
from storage.history.query import dialect_of, post_dimension, post_time
from storage.history.sums import SUM_COLUMNS, post_sums
from storage.models import Post, SentimentDaily

ROLLUP_DIMENSIONS = frozenset({"source", "watch"})


def usable(history: HistoryFilter, grouping: Grouping) -> bool:
    """The rollup answers at its threshold, grouped by nothing but time, source, watch."""
    return (
        history.negativity_threshold == DEFAULT_NEGATIVITY_THRESHOLD
        and set(grouping.dimensions) <= ROLLUP_DIMENSIONS
    )


def _midnight_after(moment: datetime) -> datetime:
    day = datetime.combine(moment.astimezone(UTC).date(), time(), tzinfo=UTC)
    return day if day == moment else day + timedelta(days=1)


def _midnight_before(moment: datetime) -> datetime:
    return datetime.combine(moment.astimezone(UTC).date(), time(), tzinfo=UTC)


def daily_sums(
    session: Session, history: HistoryFilter, dimensions: tuple[str, ...]
) -> pd.DataFrame:
    """Rows of (day 'YYYY-MM-DD', dimensions…, SUM_COLUMNS), not yet regrouped."""
    first = _midnight_after(history.since) if history.since else None
    end = _midnight_before(history.until) if history.until else None
    parts: list[pd.DataFrame] = []
    if first is not None and end is not None and first >= end:
        parts.append(_raw(session, history, dimensions))
    else:
        parts.append(_from_rollup(session, history, dimensions, first, end))
        if history.since is not None and first is not None and history.since < first:
            parts.append(_raw(session, replace(history, until=first), dimensions))
        if history.until is not None and end is not None and end < history.until:
            parts.append(_raw(session, replace(history, since=end), dimensions))
    parts = [part for part in parts if len(part)]
    if not parts:
        return pd.DataFrame(columns=["day", *dimensions, *SUM_COLUMNS])
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def _raw(session: Session, history: HistoryFilter, dimensions: tuple[str, ...]) -> pd.DataFrame:
    keys: list[tuple[str, Any]] = [("day", bucket_sql(post_time(), "day", dialect_of(session)))]
    keys.extend((name, post_dimension(name)) for name in dimensions)
    return post_sums(session, history, keys)


def _from_rollup(
    session: Session,
    history: HistoryFilter,
    dimensions: tuple[str, ...],
    first: datetime | None,
    end: datetime | None,
) -> pd.DataFrame:
    columns = {"source": SentimentDaily.source, "watch": SentimentDaily.watch}
    keys = [SentimentDaily.day, *(columns[name] for name in dimensions)]
    query = (
        select(
            *keys,
            func.sum(SentimentDaily.mentions),
            func.sum(SentimentDaily.scored),
            func.sum(SentimentDaily.negatives),
            func.sum(SentimentDaily.negativity_sum),
        )
        .where(SentimentDaily.mentions > 0)
        .group_by(*keys)
    )
    if history.watch is not None:
        query = query.where(SentimentDaily.watch == history.watch)
    if history.sources:
        query = query.where(SentimentDaily.source.in_(history.sources))
    if first is not None:
        query = query.where(SentimentDaily.day >= first.strftime("%Y-%m-%d"))
    if end is not None:
        query = query.where(SentimentDaily.day < end.strftime("%Y-%m-%d"))
    rows = [tuple(row) for row in session.execute(query)]
    frame = pd.DataFrame.from_records(rows, columns=["day", *dimensions, *SUM_COLUMNS])
    if "watch" in dimensions:  # '' in the rollup is a post without a watch
        frame["watch"] = frame["watch"].replace("", None)
    return frame


def add_posts(connection: Connection, first_post_id: int) -> None:
    """Add posts with ``id >= first_post_id`` to the rollup in one statement: for bulk
    loads that paused the triggers (PostgreSQL), and to rebuild an emptied rollup."""
    dialect = connection.dialect.name
    day = bucket_sql(post_time(), "day", dialect)
    negative = case((Post.negativity >= DEFAULT_NEGATIVITY_THRESHOLD, 1), else_=0)
    watch = func.coalesce(Post.watch, literal_column("''"))
    sums = (
        select(
            day,
            watch,
            Post.source,
            func.count(),
            func.count(Post.negativity),
            func.coalesce(func.sum(negative), 0),
            func.coalesce(func.sum(Post.negativity), 0.0),
        )
        .where(Post.id >= first_post_id)
        .group_by(day, watch, Post.source)
    )
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(SentimentDaily).from_select(["day", "watch", "source", *SUM_COLUMNS], sums)
    table = SentimentDaily.__table__
    statement = statement.on_conflict_do_update(
        index_elements=["day", "watch", "source"],
        set_={column: table.c[column] + statement.excluded[column] for column in SUM_COLUMNS},
    )
    connection.execute(statement)
