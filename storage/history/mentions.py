"""Measures over posts: mentions, negative share, mean negativity, busiest hours and
weekdays, top negative posts by reach, and the row-by-row export.

Aggregates run in SQL and return one row per group, so they stay fast however many posts
there are; a post's score is its newest one (``posts.negativity``, kept by triggers).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
from sqlalchemy import case, select
from sqlalchemy.orm import Session

from storage.history import rollup
from storage.history.buckets import (
    WEEKDAYS,
    as_bucket_dates,
    bucket_series,
    bucket_sql,
    hour_sql,
    weekday_sql,
)
from storage.history.filters import Grouping, HistoryFilter
from storage.history.query import (
    dialect_of,
    frames,
    post_conditions,
    post_dimension,
    post_time,
    with_newest_score,
)
from storage.history.sums import finish, post_sums
from storage.models import Post, SentimentScore
from storage.privacy import mask_personal_data

# estimated_reach(followers, reposts, replies, likes, views, amplifications,
# amplifier_followers) -> people; alerts.reach.estimated_reach is the one uproar uses.
ReachFunction = Callable[..., int]


def mentions(
    session: Session,
    history: HistoryFilter,
    grouping: Grouping | None = None,
    *,
    use_rollup: bool = True,
) -> pd.DataFrame:
    """Mentions, negative share and mean negativity per group.

    Columns: the grouping keys (the bucket as UTC timestamps of its first day), then
    ``mentions`` (posts), ``scored`` (posts with a score), ``negatives`` (posts whose newest
    score's negativity is at least the threshold), ``negative_share`` (negatives / scored)
    and ``mean_negativity`` (mean of the newest scores' negativity). Grouped by time,
    source and watch only, at the default threshold, it reads the daily rollup
    (``use_rollup=False`` counts posts one by one: the same numbers, slower).
    """
    grouping = grouping or Grouping()
    if use_rollup and rollup.usable(history, grouping):
        frame = rollup.daily_sums(session, history, grouping.dimensions)
        days = as_bucket_dates(frame["day"])
        if grouping.bucket is not None:
            frame[grouping.bucket] = (
                days if grouping.bucket == "day" else bucket_series(days, grouping.bucket)
            )
        return finish(frame, grouping.columns)
    dialect = dialect_of(session)
    keys: list[tuple[str, Any]] = []
    if grouping.bucket is not None:
        keys.append((grouping.bucket, bucket_sql(post_time(), grouping.bucket, dialect)))
    keys.extend((name, post_dimension(name)) for name in grouping.dimensions)
    frame = post_sums(session, history, keys, "category" in grouping.dimensions)
    if grouping.bucket is not None:
        frame[grouping.bucket] = as_bucket_dates(frame[grouping.bucket])
    return finish(frame, grouping.columns)


def _by_clock(
    session: Session, history: HistoryFilter, grouping: Grouping | None, clock: str
) -> pd.DataFrame:
    dimensions = (grouping or Grouping()).dimensions
    dialect = dialect_of(session)
    expression = (
        hour_sql(post_time(), dialect) if clock == "hour" else weekday_sql(post_time(), dialect)
    )
    keys: list[tuple[str, Any]] = [(clock, expression)]
    keys.extend((name, post_dimension(name)) for name in dimensions)
    frame = finish(
        post_sums(session, history, keys, "category" in dimensions), [clock, *dimensions]
    )
    frame[clock] = frame[clock].astype("int64")
    if not dimensions:
        every = pd.DataFrame({clock: range(24 if clock == "hour" else 7)})
        frame = every.merge(frame, on=clock, how="left")
        for column in ("mentions", "scored", "negatives"):
            frame[column] = frame[column].fillna(0).astype("int64")
    if clock == "weekday":
        frame.insert(1, "weekday_name", frame["weekday"].map(dict(enumerate(WEEKDAYS))))
    return frame


def busiest_hours(
    session: Session, history: HistoryFilter, grouping: Grouping | None = None
) -> pd.DataFrame:
    """Mentions and negatives per hour of the day (0-23, UTC), every hour listed; sort by
    ``mentions`` to see the peaks (lunch breaks, nights)."""
    return _by_clock(session, history, grouping, "hour")


def busiest_weekdays(
    session: Session, history: HistoryFilter, grouping: Grouping | None = None
) -> pd.DataFrame:
    """Mentions and negatives per day of the week (0 = Monday, UTC), every day listed."""
    return _by_clock(session, history, grouping, "weekday")


TOP_POST_COLUMNS = [
    "post_id",
    "posted_at",
    "watch",
    "source",
    "language",
    "region",
    "author",
    "negativity",
    "category",
    "reach",
    "url",
    "text",
]


def top_negative_posts(
    session: Session,
    history: HistoryFilter,
    reach: ReachFunction,
    limit: int = 10,
    chunk_size: int = 20_000,
) -> pd.DataFrame:
    """The ``limit`` negative posts (newest score at or above the threshold) with the
    largest estimated reach, largest first; text with personal data masked.

    ``reach`` estimates a post's audience from its counters (pass
    ``alerts.reach.estimated_reach``); negative posts are read in chunks and only the
    current top ``limit`` are kept.
    """
    counters = [
        Post.author_followers,
        Post.reposts,
        Post.replies,
        Post.likes,
        Post.views,
        Post.amplifications,
        Post.amplifier_followers,
    ]
    shown = [
        Post.id,
        post_time(),
        Post.watch,
        Post.source,
        Post.language,
        Post.region,
        Post.author,
        Post.negativity,
        SentimentScore.category,
        Post.url,
        Post.text,
    ]
    query = with_newest_score(select(*shown, *counters).select_from(Post)).where(
        *post_conditions(history), Post.negativity >= history.negativity_threshold
    )
    best: list[tuple[int, int, tuple[Any, ...]]] = []
    for rows in session.execute(query.execution_options(yield_per=chunk_size)).partitions():
        for row in rows:
            estimate = int(reach(*row[len(shown) :]))
            item = (estimate, -int(row[0]), tuple(row[: len(shown)]))
            if len(best) < limit:
                heapq.heappush(best, item)
            elif item > best[0]:
                heapq.heapreplace(best, item)
    records = []
    for estimate, _, values in sorted(best, reverse=True):
        record = dict(zip([*TOP_POST_COLUMNS[:9], "url", "text"], values, strict=True))
        record["reach"] = estimate
        record["text"] = mask_personal_data(record["text"] or "")
        records.append(record)
    return pd.DataFrame.from_records(records, columns=TOP_POST_COLUMNS)


POST_EXPORT_COLUMNS = [
    "post_id",
    "posted_at",
    "watch",
    "source",
    "platform",
    "language",
    "region",
    "author",
    "author_followers",
    "likes",
    "reposts",
    "replies",
    "views",
    "negativity",
    "is_negative",
    "label",
    "category",
    "model_version",
    "url",
    "text",
]


def iter_posts(
    session: Session, history: HistoryFilter, chunk_size: int = 50_000
) -> Iterator[pd.DataFrame]:
    """Every selected post with its newest score, oldest first, in DataFrames of at most
    ``chunk_size`` rows: for exports of any size."""
    negative = case(
        (Post.negativity.is_(None), None),
        (Post.negativity >= history.negativity_threshold, True),
        else_=False,
    )
    query = (
        with_newest_score(
            select(
                Post.id,
                post_time(),
                Post.watch,
                Post.source,
                Post.platform,
                Post.language,
                Post.region,
                Post.author,
                Post.author_followers,
                Post.likes,
                Post.reposts,
                Post.replies,
                Post.views,
                Post.negativity,
                negative,
                SentimentScore.label,
                SentimentScore.category,
                SentimentScore.model_version,
                Post.url,
                Post.text,
            ).select_from(Post)
        )
        .where(*post_conditions(history))
        .order_by(Post.id)
    )
    for frame in frames(session, query, chunk_size, POST_EXPORT_COLUMNS):
        frame["posted_at"] = pd.to_datetime(frame["posted_at"], utc=True)
        yield frame
