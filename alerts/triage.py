"""Which negative posts become complaints, how urgent they are, and when they are due.

Priority rules (``t`` is ``ThresholdSettings.reach``, 500 by default):

* **P1** — reach >= 10 x t; or very negative (negativity >= ``VERY_NEGATIVE``) and
  reach >= 5 x t; or the author alone has >= ``INFLUENCER_FOLLOWERS`` followers
  (a customer with millions of followers needs a different response).
* **P2** — reach >= 2 x t.
* **P3** — everything else that is a complaint.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from alerts.config import DeadlineSettings, ThresholdSettings

Priority = Literal["P1", "P2", "P3"]

P1_REACH_FACTOR = 10
P1_VERY_NEGATIVE_REACH_FACTOR = 5
P2_REACH_FACTOR = 2
VERY_NEGATIVE = 0.9
INFLUENCER_FOLLOWERS = 1_000_000


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
) -> Priority:
    """P1/P2/P3 by the rules in the module docstring."""
    if (
        reach >= P1_REACH_FACTOR * thresholds.reach
        or (
            negativity >= VERY_NEGATIVE
            and reach >= P1_VERY_NEGATIVE_REACH_FACTOR * thresholds.reach
        )
        or (author_followers or 0) >= INFLUENCER_FOLLOWERS
    ):
        return "P1"
    if reach >= P2_REACH_FACTOR * thresholds.reach:
        return "P2"
    return "P3"


def deadlines_for(priority: str, opened_at: datetime, deadlines: DeadlineSettings) -> Deadlines:
    """Deadlines counted from ``opened_at`` (which must be timezone-aware)."""
    if opened_at.tzinfo is None:
        raise ValueError(f"naive datetime {opened_at!r}: pass a timezone-aware opened_at")
    tier = deadlines.for_priority(priority)
    return Deadlines(
        ack=opened_at + tier.acknowledge,
        response=opened_at + tier.response,
        resolution=opened_at + tier.resolution,
    )
