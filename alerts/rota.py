"""Who is on duty at a given instant, and where the rota leaves gaps.

Shift times are wall-clock times in the shift's zone (its own, else its responder's), so a
09:00-17:00 Europe/London shift is 08:00-16:00 UTC in summer and 09:00-17:00 UTC in winter.
All comparisons are made in UTC: comparing two aware datetimes that share a ZoneInfo compares
their wall clocks, which is wrong across a daylight-saving change. Pure functions: the
caller passes the instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from alerts.config import Responder, RotaSettings, Shift

_ONE_DAY = timedelta(days=1)
_INSTANT = timedelta(microseconds=1)


@dataclass(frozen=True)
class ShiftOccurrence:
    """One concrete occurrence of a shift, as a half-open UTC interval [start, end)."""

    shift: Shift
    responder: str
    start: datetime
    end: datetime


def _require_aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r} for {name}: pass a timezone-aware datetime")
    return value.astimezone(UTC)


def _occurrence(rota: RotaSettings, shift: Shift, day: date) -> ShiftOccurrence | None:
    zone = rota.timezone_of(shift)
    end_day = day + _ONE_DAY if shift.end <= shift.start else day
    start = datetime.combine(day, shift.start, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(end_day, shift.end, tzinfo=zone).astimezone(UTC)
    if end <= start:  # only possible for a shift lying wholly inside a skipped DST hour
        return None
    return ShiftOccurrence(shift=shift, responder=shift.responder, start=start, end=end)


def shifts_between(rota: RotaSettings, start: datetime, end: datetime) -> list[ShiftOccurrence]:
    """Every shift occurrence overlapping [start, end), in rota order then time order."""
    start = _require_aware(start, "start")
    end = _require_aware(end, "end")
    found: list[ShiftOccurrence] = []
    for shift in rota.shifts:
        zone = rota.timezone_of(shift)
        weekdays = shift.weekdays
        # A shift starting the day before can still be running (overnight / 24 h shifts).
        day = start.astimezone(zone).date() - _ONE_DAY
        last = end.astimezone(zone).date()
        while day <= last:
            if day.weekday() in weekdays:
                occurrence = _occurrence(rota, shift, day)
                if occurrence and occurrence.start < end and occurrence.end > start:
                    found.append(occurrence)
            day += _ONE_DAY
    return found


def on_shift_at(rota: RotaSettings, when: datetime) -> Responder | None:
    """The responder whose shift covers ``when`` (first listed shift wins), ignoring fallback."""
    for occurrence in shifts_between(rota, when, _require_aware(when, "when") + _INSTANT):
        return rota.responder(occurrence.responder)
    return None


def on_duty_at(rota: RotaSettings, when: datetime) -> Responder | None:
    """Who must answer at ``when``: the responder on shift, else the fallback, else None."""
    responder = on_shift_at(rota, when)
    if responder is None and rota.fallback is not None:
        return rota.responder(rota.fallback)
    return responder


def coverage_gaps(
    rota: RotaSettings, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The parts of [start, end) that no shift covers (the fallback does not count)."""
    start = _require_aware(start, "start")
    end = _require_aware(end, "end")
    occurrences = sorted(shifts_between(rota, start, end), key=lambda o: o.start)
    gaps: list[tuple[datetime, datetime]] = []
    cursor = start
    for occurrence in occurrences:
        if occurrence.start > cursor:
            gaps.append((cursor, min(occurrence.start, end)))
        cursor = max(cursor, occurrence.end)
        if cursor >= end:
            break
    if cursor < end:
        gaps.append((cursor, end))
    return gaps


def uncovered_hours(rota: RotaSettings, start: datetime, days: int) -> list[datetime]:
    """The start (UTC) of every hour in ``days`` days from ``start`` that no shift fully
    covers, so a 30-minute gap at lunch shows up as the hour it falls in."""
    if days < 0:
        raise ValueError(f"days must be >= 0, found {days}")
    start = _require_aware(start, "start")
    end = start + timedelta(days=days)
    gaps = coverage_gaps(rota, start, end)
    hours: list[datetime] = []
    slot = start
    while slot < end:
        slot_end = slot + timedelta(hours=1)
        if any(gap_start < slot_end and gap_end > slot for gap_start, gap_end in gaps):
            hours.append(slot)
        slot = slot_end
    return hours
