"""The SQL pieces every history measure shares: which posts and complaints a filter
selects, and the columns a dimension names."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from storage.history.filters import HistoryError, HistoryFilter
from storage.models import Complaint, Post, SentimentScore


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


def post_time() -> ColumnElement[Any]:
    """A post's time: when it was published, or fetched when the platform gives none."""
    return func.coalesce(Post.published_at, Post.fetched_at)


def post_conditions(history: HistoryFilter) -> list[ColumnElement[bool]]:
    """WHERE clauses for posts. The period is tested on ``published_at`` (indexed) and,
    for posts without one, on ``fetched_at``, rather than on the COALESCE (not indexed)."""
    conditions: list[ColumnElement[bool]] = []
    if history.watch is not None:
        conditions.append(Post.watch == history.watch)
    if history.sources:
        conditions.append(Post.source.in_(history.sources))
    if history.since is not None or history.until is not None:
        published: list[ColumnElement[bool]] = []
        fetched: list[ColumnElement[bool]] = [Post.published_at.is_(None)]
        if history.since is not None:
            published.append(Post.published_at >= history.since)
            fetched.append(Post.fetched_at >= history.since)
        if history.until is not None:
            published.append(Post.published_at < history.until)
            fetched.append(Post.fetched_at < history.until)
        conditions.append(or_(and_(*published), and_(*fetched)))
    return conditions


def complaint_conditions(history: HistoryFilter) -> list[ColumnElement[bool]]:
    """WHERE clauses for complaints (joined to their post): by watch, source, opened_at."""
    conditions: list[ColumnElement[bool]] = []
    if history.watch is not None:
        conditions.append(Complaint.watch == history.watch)
    if history.sources:
        conditions.append(Post.source.in_(history.sources))
    if history.since is not None:
        conditions.append(Complaint.opened_at >= history.since)
    if history.until is not None:
        conditions.append(Complaint.opened_at < history.until)
    return conditions


def post_dimension(name: str) -> ColumnElement[Any]:
    """The column a post dimension names (``category``: the newest score's category)."""
    columns: dict[str, Any] = {
        "source": Post.source,
        "platform": Post.platform,
        "watch": Post.watch,
        "language": Post.language,
        "region": Post.region,
        "category": SentimentScore.category,
    }
    if name not in columns:
        raise HistoryError(f"{name!r} grouping applies to complaint measures only")
    return columns[name]


def with_newest_score(query: Select[Any]) -> Select[Any]:
    """Join each post's newest score (outer: unscored posts stay)."""
    return query.outerjoin(SentimentScore, SentimentScore.id == Post.newest_score_id)


def complaint_dimension(name: str) -> ColumnElement[Any]:
    """The column a complaint dimension names (channel dimensions come from the post)."""
    columns: dict[str, Any] = {
        "source": Post.source,
        "platform": Post.platform,
        "watch": Complaint.watch,
        "language": Post.language,
        "region": Post.region,
        "category": Complaint.category,
        "priority": Complaint.priority,
    }
    return columns[name]


def frames(
    session: Session, query: Select[Any], chunk_size: int, columns: list[str]
) -> Iterator[pd.DataFrame]:
    """Stream a query's rows as DataFrames of at most ``chunk_size`` rows (a server-side
    cursor on PostgreSQL), so a million rows never sit in memory at once. No rows: one
    empty frame, so writers still know the columns."""
    result = session.execute(query.execution_options(yield_per=chunk_size))
    empty = True
    for rows in result.partitions(chunk_size):
        empty = False
        yield pd.DataFrame.from_records([tuple(row) for row in rows], columns=columns)
    if empty:
        yield pd.DataFrame(columns=columns)


def known_values(session: Session, column: Any) -> set[str]:
    """The distinct non-null values of a posts column (e.g. every watch ever stored)."""
    query = select(column).where(column.is_not(None)).distinct()
    return {str(value) for value in session.execute(query).scalars()}
