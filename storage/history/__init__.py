"""Sentiment and complaint history as pandas DataFrames: "how are we doing, where, why".

Every measure takes a session, a :class:`HistoryFilter` (watch, sources, since/until,
negativity threshold) and usually a :class:`Grouping` (a time bucket — day, ISO week,
month, in UTC — and/or dimensions: source, platform, watch, category, language, region,
and for complaints priority), and returns one DataFrame row per group::

    from storage.history import HistoryFilter, mentions, parse_grouping
    frame = mentions(session, HistoryFilter(watch="larkspur", since=...),
                     parse_grouping(["day", "source"]))

:func:`run_measure` does the same by name, as ``uproar history --measure`` does; row
exports (``posts``, ``complaint_rows``) come in chunks for :func:`write_frames`.
The README section "History, reports and charts" defines every measure in one sentence.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy.orm import Session

from storage.history.complaints import (
    complaints,
    complaints_by_clock,
    deadline_hit_rate,
    iter_complaints,
    repeat_rate,
    response_times,
)
from storage.history.export import EXPORT_FORMATS, ExportFormat, write_frames
from storage.history.filters import (
    COMPLAINT_DIMENSIONS,
    DEFAULT_NEGATIVITY_THRESHOLD,
    DIMENSIONS,
    TIME_BUCKETS,
    Grouping,
    HistoryError,
    HistoryFilter,
    parse_grouping,
    parse_when,
    period,
)
from storage.history.mentions import (
    ReachFunction,
    busiest_hours,
    busiest_weekdays,
    iter_posts,
    mentions,
    top_negative_posts,
)
from storage.history.query import known_values

__all__ = [
    "COMPLAINT_DIMENSIONS",
    "DEFAULT_NEGATIVITY_THRESHOLD",
    "DIMENSIONS",
    "EXPORT_FORMATS",
    "MEASURES",
    "TIME_BUCKETS",
    "ExportFormat",
    "Grouping",
    "HistoryError",
    "HistoryFilter",
    "Measure",
    "ReachFunction",
    "busiest_hours",
    "busiest_weekdays",
    "complaints",
    "deadline_hit_rate",
    "iter_complaints",
    "iter_posts",
    "known_values",
    "mentions",
    "parse_grouping",
    "parse_when",
    "period",
    "repeat_rate",
    "response_times",
    "run_measure",
    "top_negative_posts",
    "write_frames",
]


@dataclass(frozen=True)
class Measure:
    """A measure by name: what it reads and which groupings it takes."""

    name: str
    reads: str  # "posts", "complaints", "clock" (hour/weekday) or "rows"
    description: str


MEASURES: dict[str, Measure] = {
    measure.name: measure
    for measure in (
        Measure(
            "mentions", "posts", "posts, scored posts, negatives, negative share, mean negativity"
        ),
        Measure("negative_share", "posts", "the same table as mentions"),
        Measure("mean_negativity", "posts", "the same table as mentions"),
        Measure("complaints", "complaints", "complaints opened"),
        Measure("repeat_rate", "complaints", "share of post complaints repeating an earlier one"),
        Measure(
            "response_times", "complaints", "p50/p90 seconds to claim, first response, resolution"
        ),
        Measure(
            "deadline_hit_rate",
            "complaints",
            "share of decided ack/response/resolution deadlines met",
        ),
        Measure(
            "busiest_hours", "clock", "mentions, negatives and complaints per hour of day (UTC)"
        ),
        Measure(
            "busiest_weekdays", "clock", "mentions, negatives and complaints per weekday (UTC)"
        ),
        Measure("top_negative_posts", "rows", "negative posts with the largest estimated reach"),
        Measure("posts", "rows", "every selected post with its newest score (streamed)"),
        Measure(
            "complaint_rows", "rows", "every selected complaint with its post's channel (streamed)"
        ),
    )
}


def _grouping_for(measure: Measure, by: Sequence[str]) -> Grouping:
    if measure.reads == "rows":
        if by:
            raise HistoryError(f"{measure.name} lists rows; it takes no --by")
        return Grouping()
    allowed = COMPLAINT_DIMENSIONS if measure.reads == "complaints" else DIMENSIONS
    grouping = parse_grouping(by, allowed)
    if measure.reads == "clock" and grouping.bucket is not None:
        raise HistoryError(
            f"{measure.name} groups by the clock itself; drop --by {grouping.bucket}"
        )
    return grouping


def _clock(
    session: Session, history: HistoryFilter, grouping: Grouping, clock: str
) -> pd.DataFrame:
    frame = (busiest_hours if clock == "hour" else busiest_weekdays)(session, history, grouping)
    if grouping.dimensions:
        return frame
    return frame.merge(complaints_by_clock(session, history, clock), on=clock, how="left")


def run_measure(
    name: str,
    session: Session,
    history: HistoryFilter,
    by: Sequence[str] = (),
    *,
    reach: ReachFunction | None = None,
    limit: int = 10,
    chunk_size: int = 50_000,
) -> Iterator[pd.DataFrame]:
    """The measure ``name`` as DataFrames: one for aggregates, chunks for row exports.
    Unknown names or groupings raise :class:`HistoryError` before anything is read."""
    measure = MEASURES.get(name)
    if measure is None:
        raise HistoryError(f"unknown measure {name!r}; expected one of: {', '.join(MEASURES)}")
    grouping = _grouping_for(measure, by)
    if name == "top_negative_posts" and reach is None:
        raise HistoryError(
            "top_negative_posts needs a reach function (alerts.reach.estimated_reach)"
        )
    return _frames(measure, session, history, grouping, reach, limit, chunk_size)


def _frames(
    measure: Measure,
    session: Session,
    history: HistoryFilter,
    grouping: Grouping,
    reach: ReachFunction | None,
    limit: int,
    chunk_size: int,
) -> Iterator[pd.DataFrame]:
    name = measure.name
    if measure.reads == "posts":
        yield mentions(session, history, grouping)
    elif name == "complaints":
        yield complaints(session, history, grouping)
    elif name == "repeat_rate":
        yield repeat_rate(session, history, grouping)
    elif name == "response_times":
        yield response_times(session, history, grouping)
    elif name == "deadline_hit_rate":
        yield deadline_hit_rate(session, history, grouping)
    elif measure.reads == "clock":
        yield _clock(session, history, grouping, "hour" if name == "busiest_hours" else "weekday")
    elif name == "top_negative_posts":
        assert reach is not None
        yield top_negative_posts(session, history, reach, limit=limit)
    elif name == "posts":
        yield from iter_posts(session, history, chunk_size)
    else:
        yield from iter_complaints(session, history, chunk_size)
