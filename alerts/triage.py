"""Which negative posts become complaints and when they are due.

How urgent a complaint is (P1/P2/P3) is :mod:`alerts.priority`; this module keeps the
complaint test and the deadlines, per priority and optionally per category.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from alerts.config import DeadlineSettings, Priority, ThresholdSettings, TriageSettings
from alerts.priority import priority

__all__ = ["Deadlines", "Priority", "deadlines_for", "is_complaint", "priority_for"]

_DEFAULT_TRIAGE = TriageSettings()


@dataclass(frozen=True)
class Deadlines:
    """When a complaint must be acknowledged, answered and resolved (UTC-aware)."""

    ack: datetime
    response: datetime
    resolution: datetime


def is_complaint(negativity: float, reach: int, thresholds: ThresholdSettings) -> bool:
    """A post is a complaint when it is negative enough *and* spreading far enough."""
    return negativity >= thresholds.negativity and reach >= thresholds.reach


def priority_for(
    reach: int,
    negativity: float,
    author_followers: int | None,
    thresholds: ThresholdSettings,
    settings: TriageSettings = _DEFAULT_TRIAGE,
) -> Priority:
    """The priority when growth, category and repeat status are not known (yet): see
    :func:`alerts.priority.priority`, which takes them all."""
    return priority(
        negativity=negativity,
        reach=reach,
        followers=author_followers,
        thresholds=thresholds,
        settings=settings,
    )


def deadlines_for(
    priority: str,
    opened_at: datetime,
    deadlines: DeadlineSettings,
    category: str | None = None,
) -> Deadlines:
    """Deadlines counted from ``opened_at`` (which must be timezone-aware), with the
    category's own deadlines where ``[deadlines.categories.<category>]`` sets them."""
    if opened_at.tzinfo is None:
        raise ValueError(f"naive datetime {opened_at!r}: pass a timezone-aware opened_at")
    tier = deadlines.for_priority(priority, category)
    return Deadlines(
        ack=opened_at + tier.acknowledge,
        response=opened_at + tier.response,
        resolution=opened_at + tier.resolution,
    )
