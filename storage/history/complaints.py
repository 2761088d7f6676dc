"""Measures over complaints: counts by channel, category and priority, the repeat rate,
times to claim / first response / resolution (p50, p90), deadline hit rates and
complaints per hour and weekday.

Complaints are few next to posts (tens of thousands), so one narrow query fetches the
selected ones and pandas does the grouping, with the same UTC buckets as the SQL side.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.history.buckets import WEEKDAYS, bucket_series
from storage.history.filters import COMPLAINT_DIMENSIONS, Grouping, HistoryError, HistoryFilter
from storage.history.query import complaint_conditions, complaint_dimension, frames
from storage.models import Complaint, Post

# (name in results, column that records when it happened)
STAGES = (
    ("claim", "claimed_at"),
    ("first_response", "responded_at"),
    ("resolution", "resolved_at"),
)
# (name in results, column that records whether it was met)
DEADLINES = (("ack", "ack_met"), ("response", "response_met"), ("resolution", "resolution_met"))

_FIELDS = {
    "complaint_id": Complaint.id,
    "kind": Complaint.kind,
    "status": Complaint.status,
    "priority": Complaint.priority,
    "category": Complaint.category,
    "watch": Complaint.watch,
    "reach": Complaint.reach,
    "negativity": Complaint.negativity,
    "repeat_of_id": Complaint.repeat_of_id,
    "opened_at": Complaint.opened_at,
    "claimed_at": Complaint.claimed_at,
    "responded_at": Complaint.responded_at,
    "resolved_at": Complaint.resolved_at,
    "ack_met": Complaint.ack_met,
    "response_met": Complaint.response_met,
    "resolution_met": Complaint.resolution_met,
    "post_id": Post.id,
    "source": complaint_dimension("source"),
    "platform": complaint_dimension("platform"),
    "language": complaint_dimension("language"),
    "region": complaint_dimension("region"),
}
COMPLAINT_EXPORT_COLUMNS = list(_FIELDS)
_TIMES = ("opened_at", "claimed_at", "responded_at", "resolved_at")


def iter_complaints(
    session: Session, history: HistoryFilter, chunk_size: int = 50_000
) -> Iterator[pd.DataFrame]:
    """The selected complaints with their post's channel fields, oldest first, in chunks."""
    query = (
        select(*_FIELDS.values())
        .select_from(Complaint)
        .join(Post, Post.id == Complaint.post_id)
        .where(*complaint_conditions(history))
        .order_by(Complaint.id)
    )
    for frame in frames(session, query, chunk_size, COMPLAINT_EXPORT_COLUMNS):
        for column in _TIMES:
            frame[column] = pd.to_datetime(frame[column], utc=True)
        for _, met in DEADLINES:
            frame[met] = frame[met].astype("boolean")
        yield frame


def complaint_frame(session: Session, history: HistoryFilter) -> pd.DataFrame:
    """All selected complaints in one DataFrame (the input of the measures below)."""
    chunks = list(iter_complaints(session, history))
    if not chunks:
        return pd.DataFrame(columns=COMPLAINT_EXPORT_COLUMNS)
    return pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]


def _keyed(frame: pd.DataFrame, grouping: Grouping | None) -> tuple[pd.DataFrame, list[str]]:
    grouping = grouping or Grouping()
    for name in grouping.dimensions:
        if name not in COMPLAINT_DIMENSIONS:
            raise HistoryError(f"unknown grouping {name!r} for complaints")
    frame = frame.copy()
    if grouping.bucket is not None:
        frame[grouping.bucket] = bucket_series(frame["opened_at"], grouping.bucket)
    return frame, grouping.columns


def _per_group(
    frame: pd.DataFrame, keys: list[str], measure: Callable[[pd.DataFrame], dict[str, float]]
) -> pd.DataFrame:
    """``measure`` applied to each group (to the whole frame without keys), one row each."""
    if not keys:
        return pd.DataFrame([measure(frame)])
    rows = [
        {**dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True)), **measure(part)}
        for key, part in frame.groupby(keys, dropna=False, sort=True)
    ]
    if not rows:
        return pd.DataFrame(columns=keys)
    return pd.DataFrame(rows)


def complaints(
    session: Session, history: HistoryFilter, grouping: Grouping | None = None
) -> pd.DataFrame:
    """``complaints``: complaints opened per group (post and spike complaints alike)."""
    frame, keys = _keyed(complaint_frame(session, history), grouping)
    return _per_group(frame, keys, lambda part: {"complaints": len(part)})


def _repeats(part: pd.DataFrame) -> dict[str, float]:
    posts = part[part["kind"] == "post"]
    repeats = int(posts["repeat_of_id"].notna().sum())
    return {
        "complaints": len(posts),
        "repeats": repeats,
        "repeat_rate": repeats / len(posts) if len(posts) else float("nan"),
    }


def repeat_rate(
    session: Session, history: HistoryFilter, grouping: Grouping | None = None
) -> pd.DataFrame:
    """``repeat_rate``: of the post complaints opened (spikes have no single author), the
    share that repeat an earlier complaint of the same author (``repeat_of_id`` set)."""
    frame, keys = _keyed(complaint_frame(session, history), grouping)
    return _per_group(frame, keys, _repeats)


def _long(
    frame: pd.DataFrame,
    keys: list[str],
    measures: dict[str, Callable[[pd.DataFrame], dict[str, float]]],
    label: str,
) -> pd.DataFrame:
    """One row per group and named measure, the names in the order given."""
    parts = []
    for order, (name, measure) in enumerate(measures.items()):
        part = _per_group(frame, keys, measure)
        part.insert(len(keys), label, name)
        part["_order"] = order
        parts.append(part)
    joined = pd.concat(parts, ignore_index=True)
    joined = joined.sort_values([*keys, "_order"], ignore_index=True, kind="stable")
    return joined.drop(columns="_order")


def _times(column: str) -> Callable[[pd.DataFrame], dict[str, float]]:
    def measure(part: pd.DataFrame) -> dict[str, float]:
        seconds = (part[column] - part["opened_at"]).dt.total_seconds().dropna()
        return {
            "complaints": len(seconds),
            "p50_seconds": float(seconds.quantile(0.5)) if len(seconds) else float("nan"),
            "p90_seconds": float(seconds.quantile(0.9)) if len(seconds) else float("nan"),
        }

    return measure


def response_times(
    session: Session, history: HistoryFilter, grouping: Grouping | None = None
) -> pd.DataFrame:
    """Per group and ``stage`` (claim, first_response, resolution): how many of the
    complaints opened got there, and the median (p50) and 90th percentile (p90) of the
    seconds from ``opened_at`` to that moment (linear interpolation, as PostgreSQL's
    percentile_cont)."""
    frame, keys = _keyed(complaint_frame(session, history), grouping)
    return _long(frame, keys, {name: _times(column) for name, column in STAGES}, "stage")


def _hits(column: str) -> Callable[[pd.DataFrame], dict[str, float]]:
    def measure(part: pd.DataFrame) -> dict[str, float]:
        decided = part[column].dropna()
        met = int(decided.astype(bool).sum())
        return {
            "decided": len(decided),
            "met": met,
            "hit_rate": met / len(decided) if len(decided) else float("nan"),
        }

    return measure


def deadline_hit_rate(
    session: Session, history: HistoryFilter, grouping: Grouping | None = None
) -> pd.DataFrame:
    """Per group and ``deadline`` (ack, response, resolution): of the complaints whose
    deadline is decided (``*_met`` not null), how many met it and the share met."""
    frame, keys = _keyed(complaint_frame(session, history), grouping)
    return _long(frame, keys, {name: _hits(column) for name, column in DEADLINES}, "deadline")


def complaints_by_clock(session: Session, history: HistoryFilter, clock: str) -> pd.DataFrame:
    """Complaints opened per hour of the day (0-23) or weekday (0 = Monday), UTC."""
    frame = complaint_frame(session, history)
    opened = pd.to_datetime(frame["opened_at"], utc=True)
    values = opened.dt.hour if clock == "hour" else opened.dt.weekday
    counts = values.value_counts()
    every = range(24) if clock == "hour" else range(len(WEEKDAYS))
    return pd.DataFrame({clock: list(every), "complaints": [int(counts.get(i, 0)) for i in every]})
