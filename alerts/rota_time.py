"""Wall-clock times in a time zone turned into exact UTC instants, for the rota.

One rule for every handoff, shift start and shift end, so that neighbouring shifts always
meet: a local time means **the first instant at which the local clock reads that time or
later**. So

- a time the clocks skip (01:30 on the night clocks go forward in Europe/London) is the
  instant the clocks jump, 01:00 UTC, when the local clock reads 02:00 BST;
- a time the clocks show twice (01:30 on the night clocks go back) is the first of the
  two, 01:30 BST = 00:30 UTC.

All results are aware UTC datetimes; callers compare only those. Pure functions.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, tzinfo

ONE_DAY = timedelta(days=1)


def require_aware(value: datetime, name: str) -> datetime:
    """``value`` in UTC; a naive datetime is refused rather than guessed at."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r} for {name}: pass a timezone-aware datetime")
    return value.astimezone(UTC)


def wall_clock(instant: datetime, zone: tzinfo) -> datetime:
    """The naive local date and time the clock in ``zone`` shows at ``instant``."""
    return instant.astimezone(zone).replace(tzinfo=None)


def local_instant(naive: datetime, zone: tzinfo) -> datetime:
    """The first UTC instant at which the clock in ``zone`` reads ``naive`` or later."""
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if wall_clock(first, zone) == naive:
        return first  # exists; fold=0 is the earlier of two readings in a repeated hour
    # ``naive`` lies in a gap the clocks skip. fold=0 read it with the offset from before
    # the jump (an instant after the jump), fold=1 with the offset after it (an instant
    # before): the jump lies between them. Find it to the second (zone data is in seconds).
    low = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = first
    if low > high:
        low, high = high, low
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle <= low:
            break
        if wall_clock(middle, zone) >= naive:
            high = middle
        else:
            low = middle
    return high


def at_local(day: date, clock: time, zone: tzinfo) -> datetime:
    """:func:`local_instant` of ``clock`` on ``day``."""
    return local_instant(datetime.combine(day, clock), zone)


def days_covering(start: datetime, end: datetime, zone: tzinfo, before: int = 1) -> Iterator[date]:
    """Local dates from ``before`` days ahead of ``start``'s date through ``end``'s date:
    every day whose windows (including overnight ones started the day before) can touch
    [start, end)."""
    day = wall_clock(start, zone).date() - before * ONE_DAY
    last = wall_clock(end, zone).date()
    while day <= last:
        yield day
        day += ONE_DAY


def window_on(day: date, start: time, end: time, zone: tzinfo) -> tuple[datetime, datetime] | None:
    """The UTC interval of a daily window starting on ``day``: ``end <= start`` runs past
    midnight, ``end == start`` is 24 hours. None when it lies wholly in a skipped hour."""
    end_day = day + ONE_DAY if end <= start else day
    begins = at_local(day, start, zone)
    ends = at_local(end_day, end, zone)
    return (begins, ends) if ends > begins else None


def handoff(anchor: datetime, length: timedelta, turn: int, zone: tzinfo) -> datetime:
    """When turn ``turn`` of a rotation begins: ``anchor`` (naive local) plus ``turn``
    lengths of wall-clock time, so a daily 09:00 handoff stays at 09:00 local across a
    daylight-saving change (that day's shift is an hour shorter or longer)."""
    return local_instant(anchor + turn * length, zone)


def turn_at(anchor: datetime, length: timedelta, instant: datetime, zone: tzinfo) -> int:
    """The turn whose [handoff(turn), handoff(turn + 1)) holds ``instant``; negative before
    the rotation starts. Handoffs are monotonic, so estimate from the wall clock and step."""
    turn = (wall_clock(instant, zone) - anchor) // length
    while handoff(anchor, length, turn, zone) > instant:
        turn -= 1
    while handoff(anchor, length, turn + 1, zone) <= instant:
        turn += 1
    return turn
