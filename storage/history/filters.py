"""What a history question is about: which posts and complaints (watch, source, period)
and how rows are grouped (a time bucket and/or dimensions). Pure values and parsers; the
caller passes ``now``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

TimeBucket = Literal["day", "week", "month"]
TIME_BUCKETS: tuple[TimeBucket, ...] = ("day", "week", "month")
# Dimensions a post or a complaint can be grouped by. ``category`` is the complaint's
# category for complaint measures and the newest score's category for mentions;
# ``priority`` exists for complaints only.
DIMENSIONS: tuple[str, ...] = ("source", "platform", "watch", "category", "language", "region")
COMPLAINT_DIMENSIONS: tuple[str, ...] = (*DIMENSIONS, "priority")

# The default of thresholds.negativity: a post whose newest score gives at least this
# probability of "negative" is a negative post (the SQL views use the same number).
DEFAULT_NEGATIVITY_THRESHOLD = 0.6

_RELATIVE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class HistoryError(ValueError):
    """A history question that cannot be answered as asked; the message says why."""


@dataclass(frozen=True)
class HistoryFilter:
    """Which posts and complaints a measure reads.

    ``since`` is inclusive and ``until`` exclusive (both timezone-aware UTC). A post's time
    is its ``published_at`` (its ``fetched_at`` when the platform gives none); a
    complaint's time is its ``opened_at``. ``negativity_threshold`` decides which posts are
    negative.
    """

    watch: str | None = None
    sources: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    negativity_threshold: float = DEFAULT_NEGATIVITY_THRESHOLD

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise HistoryError(f"{name}={value!r} is naive: pass a timezone-aware datetime")
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise HistoryError(
                f"since ({self.since:%Y-%m-%d %H:%M}) must be before until "
                f"({self.until:%Y-%m-%d %H:%M})"
            )
        if not 0.0 <= self.negativity_threshold <= 1.0:
            raise HistoryError(
                f"negativity_threshold must be between 0 and 1, got {self.negativity_threshold}"
            )


@dataclass(frozen=True)
class Grouping:
    """How rows are grouped: at most one time bucket, then dimensions in the given order."""

    bucket: TimeBucket | None = None
    dimensions: tuple[str, ...] = field(default_factory=tuple)

    @property
    def columns(self) -> list[str]:
        """The key columns of a measure's result, in order."""
        return [*([self.bucket] if self.bucket else []), *self.dimensions]


def parse_grouping(
    by: Sequence[str] | str | None, allowed: Sequence[str] = COMPLAINT_DIMENSIONS
) -> Grouping:
    """``["week", "source"]`` → Grouping("week", ("source",)); unknown names are an error."""
    names = [by] if isinstance(by, str) else list(by or ())
    bucket: TimeBucket | None = None
    dimensions: list[str] = []
    for raw in names:
        name = raw.strip().lower()
        if name in TIME_BUCKETS:
            if bucket is not None and bucket != name:
                raise HistoryError(f"group by one time bucket at most (got {bucket} and {name})")
            bucket = name
        elif name in allowed:
            if name not in dimensions:
                dimensions.append(name)
        else:
            known = ", ".join([*TIME_BUCKETS, *allowed])
            if name in COMPLAINT_DIMENSIONS:
                raise HistoryError(f"{name!r} grouping applies to complaint measures only")
            raise HistoryError(f"unknown grouping {raw!r}; expected one of: {known}")
    return Grouping(bucket, tuple(dimensions))


def parse_when(text: str, now: datetime) -> datetime:
    """A point in time from ``7d`` / ``12h`` / ``30m`` / ``2w`` (that long before ``now``),
    ``today``, a date ``2026-11-01`` (its UTC midnight) or an ISO datetime (UTC unless it
    says otherwise)."""
    if now.tzinfo is None:
        raise HistoryError("now must be timezone-aware")
    value = text.strip()
    relative = _RELATIVE.match(value.lower())
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        return now - timedelta(**{_UNITS[unit]: amount})
    if value.lower() == "today":
        return datetime.combine(now.astimezone(UTC).date(), time(), tzinfo=UTC)
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise HistoryError(
            f"cannot read {text!r} as a time; use e.g. 7d, 12h, today, 2026-11-01 "
            "or 2026-11-01T08:00"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def period(
    since: str | None, until: str | None, now: datetime
) -> tuple[datetime | None, datetime | None]:
    """``since`` / ``until`` as written on the command line → checked datetimes: neither
    may lie in the future, and since must come before until."""
    start = parse_when(since, now) if since else None
    end = parse_when(until, now) if until else None
    if start is not None and start > now:
        raise HistoryError(f"--since {since} is in the future (now is {now:%Y-%m-%d %H:%M} UTC)")
    if start is not None and end is not None and start >= end:
        raise HistoryError(f"--since {since} must be before --until {until}")
    return start, end
