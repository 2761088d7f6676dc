"""How fast a complaint's reach grows, and when that growth is worth announcing. Pure.

Reach is re-estimated on every triage run, at irregular intervals. The growth rate is
the change per hour since the last check, smoothed by an exponential moving average
whose weight depends on the time that passed (``alpha = 1 - exp(-hours / smoothing)``),
so a burst of reposts between two runs five minutes apart does not read as the same
speed as a burst spread over an hour, and one quiet run does not reset the rate to 0.
"""

from __future__ import annotations

import math


def smoothed_growth(
    previous_rate: float | None,
    reach_before: int,
    reach_after: int,
    hours: float,
    smoothing_hours: float,
) -> float | None:
    """The new smoothed growth in people per hour; ``previous_rate`` unchanged when no
    time has passed, the raw rate on the first measurement."""
    if hours <= 0:
        return previous_rate
    rate = (reach_after - reach_before) / hours
    if previous_rate is None:
        return rate
    alpha = 1.0 - math.exp(-hours / smoothing_hours)
    return previous_rate + alpha * (rate - previous_rate)


def has_grown(reach: int, reach_notified: int | None, factor: float) -> bool:
    """Reach reached ``factor`` times the reach last announced (never from 0 or None)."""
    if not reach_notified or reach_notified <= 0:
        return False
    return reach >= factor * reach_notified
