"""Spikes: many negative posts about a watch in one hour. Pure functions of counts.

The baseline of an hour is the same hour of the week in the previous weeks (with the
default 14 days: 7 and 14 days earlier), because complaint volume follows the week:
lunch breaks, nights and shopping festivals. Counts of independent posts in an hour are
modelled as Poisson with mean ``expected = max(mean(baseline), expected_floor)`` — the
floor keeps one quiet week from making two posts a spike. The hour is a spike when::

    count >= min_count  and  P(X >= count | expected) <= p_value

and it is *large* (P1) when ``count >= large_factor * expected`` and
``count >= large_min_count``. With two baseline samples a robust z-score (median and
MAD) is degenerate; the Poisson tail needs no spread estimate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from scipy.stats import poisson

from alerts.config import SpikeSettings

HOUR = timedelta(hours=1)
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class SpikeVerdict:
    """The test of one hour's count against its baseline."""

    count: int
    expected: float
    p_value: float
    is_spike: bool
    large: bool


def hour_start(moment: datetime) -> datetime:
    """The start of the UTC clock hour holding ``moment``."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: pass a timezone-aware datetime")
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hours_to_check(now: datetime, settings: SpikeSettings) -> list[datetime]:
    """The current hour and the ``hours_checked - 1`` before it, oldest first."""
    current = hour_start(now)
    return [current - HOUR * back for back in range(settings.hours_checked - 1, -1, -1)]


def baseline_hours(hour: datetime, settings: SpikeSettings) -> list[datetime]:
    """The same hour of the week in each earlier week within ``baseline_days``."""
    weeks = settings.baseline_days // 7
    return [hour - WEEK * week for week in range(1, weeks + 1)]


def spike_test(count: int, baseline: Sequence[int], settings: SpikeSettings) -> SpikeVerdict:
    """Test ``count`` against the counts of the ``baseline`` hours (rules above)."""
    mean = sum(baseline) / len(baseline) if baseline else 0.0
    expected = max(mean, settings.expected_floor)
    p_value = float(poisson.sf(count - 1, expected)) if count > 0 else 1.0
    is_spike = count >= settings.min_count and p_value <= settings.p_value
    large = (
        is_spike and count >= settings.large_factor * expected and count >= settings.large_min_count
    )
    return SpikeVerdict(count, expected, p_value, is_spike, large)


def spike_priority(verdict: SpikeVerdict, settings: SpikeSettings) -> str:
    """P1 for a large spike, else the configured spike priority."""
    return "P1" if verdict.large else settings.priority
