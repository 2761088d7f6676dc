"""Time buckets that are the same on SQLite and PostgreSQL, and in pandas.

Every bucket is computed in UTC and named by its first day as ``YYYY-MM-DD`` text: a day,
an ISO week (starting Monday) or a calendar month. Hours of the day are 0-23 (UTC) and
weekdays 0 (Monday) to 6 (Sunday). SQLite stores uproar's timestamps as naive UTC text
(``YYYY-MM-DD HH:MM:SS.ffffff``), so text functions are exact there; PostgreSQL converts
its ``timestamptz`` to UTC first. Constants are literal SQL, not bound parameters, so a
bucket expression in SELECT and GROUP BY is the same expression to PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Integer, String, cast, extract, func, literal_column
from sqlalchemy.sql.elements import ColumnElement

from storage.history.filters import TimeBucket

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _utc(column: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.timezone(literal_column("'UTC'"), column)


def bucket_sql(column: ColumnElement[Any], bucket: TimeBucket, dialect: str) -> ColumnElement[str]:
    """The first day of ``column``'s bucket as 'YYYY-MM-DD' text."""
    if dialect == "postgresql":
        truncated = func.date_trunc(literal_column(f"'{bucket}'"), _utc(column))
        return func.to_char(truncated, literal_column("'YYYY-MM-DD'"), type_=String)
    if bucket == "day":
        return func.substr(column, literal_column("1"), literal_column("10"), type_=String)
    if bucket == "week":
        return func.date(
            column, literal_column("'weekday 0'"), literal_column("'-6 days'"), type_=String
        )
    month = func.substr(column, literal_column("1"), literal_column("7"), type_=String)
    return month.concat(literal_column("'-01'"))


def hour_sql(column: ColumnElement[Any], dialect: str) -> ColumnElement[int]:
    """Hour of the day, 0-23, UTC."""
    if dialect == "postgresql":
        return cast(extract("hour", _utc(column)), Integer)
    return cast(func.strftime(literal_column("'%H'"), column), Integer)


def weekday_sql(column: ColumnElement[Any], dialect: str) -> ColumnElement[int]:
    """Day of the week, 0 = Monday … 6 = Sunday, UTC."""
    if dialect == "postgresql":
        return cast(extract("isodow", _utc(column)), Integer) - literal_column("1")
    sunday_first = cast(func.strftime(literal_column("'%w'"), column), Integer)
    return (sunday_first + literal_column("6")) % literal_column("7")


def bucket_series(times: pd.Series, bucket: TimeBucket) -> pd.Series:
    """The same buckets in pandas, for rows already fetched (UTC-aware timestamps)."""
    utc = pd.to_datetime(times, utc=True)
    if bucket == "day":
        start = utc.dt.floor("D")
    elif bucket == "week":
        start = utc.dt.floor("D") - pd.to_timedelta(utc.dt.weekday, unit="D")
    else:
        start = utc.dt.tz_localize(None).dt.to_period("M").dt.start_time.dt.tz_localize("UTC")
    return start


def as_bucket_dates(text: pd.Series) -> pd.Series:
    """SQL bucket text ('YYYY-MM-DD') → UTC-aware timestamps, like :func:`bucket_series`."""
    return pd.to_datetime(text, format="%Y-%m-%d", utc=True)
