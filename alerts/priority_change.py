"""Raising a complaint's priority when what it was judged on changes. Pure.

A complaint's priority is first set when it opens, when its reach growth is not known
yet. Every triage run re-estimates reach and growth (:mod:`alerts.reach_growth`); when
the formula (:mod:`alerts.priority`) now gives a more urgent priority, the complaint is
raised. It is never lowered automatically: a responder working a P1 should not find it
quietly demoted because a repost was deleted.

Raising tightens the deadlines not yet decided: each becomes the earlier of the one it
had and the new priority's duration counted from the moment of the raise, so a P3 that
turns into a P1 two hours after opening is due within 15 minutes from now (not 1 h 45
min ago, which would count as missed before anyone could act).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from alerts.config import DeadlineSettings, Priority
from alerts.priority import RANK
from alerts.triage import deadlines_for

_RANK: dict[str, int] = {str(name): rank for name, rank in RANK.items()}


@dataclass(frozen=True)
class DueDates:
    """A complaint's three deadlines and which of them are already decided (met or missed)."""

    ack: datetime
    response: datetime
    resolution: datetime
    ack_decided: bool = False
    response_decided: bool = False
    resolution_decided: bool = False


def is_raise(current: str, assessed: Priority) -> bool:
    """True when ``assessed`` is more urgent than ``current`` (P1 beats P2 beats P3)."""
    return _RANK[assessed] < _RANK.get(current, 3)


def raised_deadlines(
    due: DueDates,
    priority: Priority,
    now: datetime,
    deadlines: DeadlineSettings,
    category: str | None = None,
) -> DueDates:
    """The deadlines after raising to ``priority`` at ``now`` (module docstring); decided
    deadlines are kept as they were."""
    fresh = deadlines_for(priority, now, deadlines, category)
    return DueDates(
        ack=due.ack if due.ack_decided else min(due.ack, fresh.ack),
        response=due.response if due.response_decided else min(due.response, fresh.response),
        resolution=(
            due.resolution if due.resolution_decided else min(due.resolution, fresh.resolution)
        ),
        ack_decided=due.ack_decided,
        response_decided=due.response_decided,
        resolution_decided=due.resolution_decided,
    )
