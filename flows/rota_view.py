"""How the rota reads on a terminal: times in the viewer's zone, shifts as a table.

Pure formatting of values the rota functions return; the CLI prints the results.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import parser as date_parser
from rich.table import Table

from alerts.rota import EscalationChain, ResolvedShift
from alerts.rota_time import local_instant, wall_clock
from storage.models import RotaChange

LOCALTIME = Path("/etc/localtime")


def zone_name(zone: tzinfo) -> str:
    return str(getattr(zone, "key", None) or zone)


def viewer_zone(name: str | None, environ: dict[str, str] | None = None) -> ZoneInfo:
    """``--tz`` if given, else $TZ, else the system's zone (/etc/localtime), else UTC.
    An unknown name is a ValueError that names it."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f'unknown time zone {name!r}: use an IANA name such as "Europe/London" or "UTC"'
            ) from None
    candidates = [(environ if environ is not None else dict(os.environ)).get("TZ", "")]
    if LOCALTIME.is_symlink():
        candidates.append(str(LOCALTIME.resolve()).partition("zoneinfo/")[2])
    for candidate in candidates:
        try:
            if candidate:
                return ZoneInfo(candidate.lstrip(":"))
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


def parse_when(text: str, zone: tzinfo, now: datetime) -> datetime:
    """A date and time as people write it ("2026-03-29 09:00", "29 Mar 2026 9am",
    "2026-03-29T09:00+01:00", "09:00" for today, "now"). Without an offset it is local
    time in ``zone``, by the rota's rule for skipped and repeated hours. ValueError when
    dateutil cannot read it."""
    if text.strip().lower() == "now":
        return now.astimezone(UTC)
    today = wall_clock(now, zone).replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        parsed = date_parser.parse(text, default=today)  # "09:00": today in ``zone``
    except (date_parser.ParserError, ValueError, OverflowError):
        raise ValueError(
            f"cannot read {text!r} as a date and time; write e.g. 2026-03-29 09:00"
        ) from None
    if parsed.tzinfo is None:
        return local_instant(parsed, zone)
    return parsed.astimezone(UTC)


def clock(instant: datetime, zone: tzinfo, with_date: bool = True) -> str:
    local = instant.astimezone(zone)
    return local.strftime("%a %Y-%m-%d %H:%M" if with_date else "%H:%M")


def hours(length: timedelta) -> str:
    value = length.total_seconds() / 3600
    return f"{value:.0f} h" if value == int(value) else f"{value:.1f} h"


def uncovered_line(hour: datetime, zone: tzinfo) -> str:
    """``uncovered: 2026-03-29 01:00–02:00 Europe/London``; across a clock change both
    ends carry their abbreviation (``01:00 BST–01:00 GMT``)."""
    start = hour.astimezone(zone)
    end = (hour + timedelta(hours=1)).astimezone(zone)
    if start.utcoffset() != end.utcoffset():
        span = f"{start:%Y-%m-%d %H:%M} {start:%Z}–{end:%H:%M} {end:%Z}"
    else:
        span = f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}"
    return f"uncovered: {span} {zone_name(zone)}"


def shifts_table(shifts: Sequence[ResolvedShift], zone: tzinfo, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("from", "to", "length", "responder", "why"):
        table.add_column(column, no_wrap=True)
    for shift in shifts:
        same_day = shift.start.astimezone(zone).date() == shift.end.astimezone(zone).date()
        table.add_row(
            clock(shift.start, zone),
            clock(shift.end, zone, with_date=not same_day),
            hours(shift.end - shift.start),
            shift.responder,
            shift.source,
        )
    return table


def chain_lines(chain: EscalationChain, current: ResolvedShift | None, zone: tzinfo) -> list[str]:
    """Three lines: primary (with until when and why), secondary, lead."""
    if chain.primary is None:
        primary = "nobody (no shift and no fallback)"
    elif current is None:
        primary = f"{chain.primary.name} (fallback: nobody is on shift)"
    else:
        primary = (
            f"{chain.primary.name} until {clock(current.end, zone)} "
            f"{zone_name(zone)} ({current.source})"
        )
    secondary = chain.secondary.name if chain.secondary else "nobody"
    lead = chain.lead or "nobody"
    return [f"primary:   {primary}", f"secondary: {secondary}", f"lead:      {lead}"]


def changes_table(changes: Sequence[RotaChange], zone: tzinfo, descriptions: list[str]) -> Table:
    table = Table(title=f"Rota changes (times in {zone_name(zone)})", title_justify="left")
    for column in ("id", "change", "from", "to", "made by", "made at", "removed"):
        table.add_column(column, no_wrap=column != "change")
    for change, text in zip(changes, descriptions, strict=True):
        spans = [(change.starts_at, change.ends_at)]
        if change.other_starts_at and change.other_ends_at:
            spans.append((change.other_starts_at, change.other_ends_at))
        table.add_row(
            f"#{change.id}",
            text,
            "\n".join(clock(a, zone) for a, _ in spans),
            "\n".join(clock(b, zone) for _, b in spans),
            change.created_by,
            clock(change.created_at, zone),
            f"{change.removed_by} at {clock(change.removed_at, zone)}" if change.removed_at else "",
        )
    return table
