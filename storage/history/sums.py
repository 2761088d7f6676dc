"""Mention sums (posts, scored, negatives, negativity summed) per group, straight from
posts; and turning sums into the published measures. Sums, not averages, so partial
results (the rollup's whole days and the raw edge days) add up exactly."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from storage.history.filters import HistoryFilter
from storage.history.query import post_conditions, with_newest_score
from storage.models import Post

SUM_COLUMNS = ["mentions", "scored", "negatives", "negativity_sum"]
MENTION_COLUMNS = ["mentions", "scored", "negatives", "negative_share", "mean_negativity"]


def post_sums(
    session: Session,
    history: HistoryFilter,
    keys: Sequence[tuple[str, Any]],
    needs_score_join: bool = False,
) -> pd.DataFrame:
    """One row per group of ``keys`` (name, SQL expression) with the sums of SUM_COLUMNS."""
    negative = case((Post.negativity >= history.negativity_threshold, 1), else_=0)
    labelled = [expression.label(name) for name, expression in keys]
    query = select(
        *labelled,
        func.count(),
        func.count(Post.negativity),
        func.coalesce(func.sum(negative), 0),
        func.coalesce(func.sum(Post.negativity), 0.0),
    ).select_from(Post)
    if needs_score_join:
        query = with_newest_score(query)
    query = query.where(*post_conditions(history)).group_by(*labelled)
    names = [name for name, _ in keys]
    rows = [tuple(row) for row in session.execute(query)]
    return pd.DataFrame.from_records(rows, columns=[*names, *SUM_COLUMNS])


def finish(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Sums → the published columns (regrouped by ``keys``, sorted by them)."""
    if keys and len(frame):
        frame = frame.groupby(keys, dropna=False, sort=False, as_index=False)[SUM_COLUMNS].sum()
    elif not keys:
        frame = pd.DataFrame([{column: frame[column].sum() for column in SUM_COLUMNS}])
    frame = frame.copy()
    for column in ("mentions", "scored", "negatives"):
        frame[column] = frame[column].astype("int64")
    scored = frame["scored"].where(frame["scored"] > 0)
    frame["negative_share"] = frame["negatives"] / scored
    frame["mean_negativity"] = frame["negativity_sum"].astype("float64") / scored
    frame = frame[[*keys, *MENTION_COLUMNS]]
    return frame.sort_values(keys, ignore_index=True) if keys else frame
