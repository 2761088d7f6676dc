"""Weibo's displayed values back into data: counts such as "100万+" and times such as
"5分钟前", "昨天 23:10" or "06-14", against a ``now`` the caller passes in. Pure, no I/O."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Asia/Shanghai"
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, start=1)}
_FULL_FORM = re.compile(
    r"[A-Za-z]{3} ([A-Za-z]{3}) (\d{1,2}) (\d{1,2}):(\d{2}):(\d{2}) ([+-]\d{2}):?(\d{2}) (\d{4})"
)
_AGO = re.compile(r"(\d+)\s*(秒|分钟|小时|天)前")
_AGO_UNITS = {"秒": "seconds", "分钟": "minutes", "小时": "hours", "天": "days"}
_DAY_WORD = re.compile(r"(今天|昨天|前天)\s*(\d{1,2}):(\d{2})")
_DAY_OFFSETS = {"今天": 0, "昨天": 1, "前天": 2}
_MONTH_DAY = re.compile(r"(\d{1,2})-(\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?")
_FULL_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_COUNT = re.compile(r"(\d+(?:\.\d+)?)\s*(万|w|W|亿|千|k|K)?\+?")
_MULTIPLIERS = {"万": 10_000, "w": 10_000, "W": 10_000, "亿": 100_000_000}
_MULTIPLIERS |= {"千": 1_000, "k": 1_000, "K": 1_000}


# -- values as the app displays them ----------------------------------------------------


def parse_count(value: Any) -> int | None:
    """A count from ``12345``, ``"12,345"``, ``"1.2万"``, ``"100万+"`` or ``"3亿"``; junk -> None.

    "100万+" is a lower bound; the bound is the best number there is.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value) if value >= 0 else None
    match = _COUNT.fullmatch(re.sub(r"[,\s]", "", str(value)))
    if match is None:
        return None
    return int(Decimal(match.group(1)) * _MULTIPLIERS.get(match.group(2) or "", 1))


def _zone(timezone: str | tzinfo) -> tzinfo:
    return ZoneInfo(timezone) if isinstance(timezone, str) else timezone


def _local(day: date, hour: int, minute: int, second: int, zone: tzinfo) -> datetime | None:
    try:
        return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=zone).astimezone(
            UTC
        )
    except ValueError:
        return None


def parse_created_at(
    value: Any, now: datetime, timezone: str | tzinfo = DEFAULT_TIMEZONE
) -> datetime | None:
    """An aware UTC time from Weibo's ``created_at``; ``None`` when it cannot be read.

    Relative forms ("刚刚", "5分钟前", "2小时前", "今天 10:02", "昨天 23:10", "06-14") are
    resolved against ``now`` in ``timezone`` (what "today" means to the site); "06-14"
    is this year, or last year when this year's date would still be ahead. Absolute forms:
    "2019-06-14" (local) and "Sat Jun 15 11:44:46 +0800 2019".
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = " ".join(value.split())
    zone = _zone(timezone)
    local_now = now.astimezone(zone)
    if text == "刚刚":
        return now.astimezone(UTC)
    if match := _AGO.fullmatch(text):
        amount, unit = int(match.group(1)), _AGO_UNITS[match.group(2)]
        return (now - timedelta(**{unit: amount})).astimezone(UTC)
    if match := _DAY_WORD.fullmatch(text):
        day = local_now.date() - timedelta(days=_DAY_OFFSETS[match.group(1)])
        return _local(day, int(match.group(2)), int(match.group(3)), 0, zone)
    if match := _MONTH_DAY.fullmatch(text):
        month, day_of_month = int(match.group(1)), int(match.group(2))
        hour, minute = int(match.group(3) or 0), int(match.group(4) or 0)
        for year in (local_now.year, local_now.year - 1):
            try:
                day = date(year, month, day_of_month)
            except ValueError:
                continue  # 02-29 outside a leap year
            if day <= local_now.date():
                return _local(day, hour, minute, 0, zone)
        return None
    if match := _FULL_DATE.fullmatch(text):
        year, month, day_of_month, hour, minute, second = (int(g or 0) for g in match.groups())
        try:
            day = date(year, month, day_of_month)
        except ValueError:
            return None
        return _local(day, hour, minute, second, zone)
    return _full_form(text)


def _full_form(text: str) -> datetime | None:
    """ "Sat Jun 15 11:44:46 +0800 2019" -> UTC, without the locale ``strptime`` needs."""
    match = _FULL_FORM.fullmatch(text)
    if match is None:
        return None
    month_name, day_text, hour, minute, second, off_h, off_m, year = match.groups()
    month = _MONTHS.get(month_name.title())
    if month is None:
        return None
    sign = -1 if off_h.startswith("-") else 1
    offset = timedelta(hours=abs(int(off_h)), minutes=int(off_m)) * sign
    try:
        naive = datetime(int(year), month, int(day_text), int(hour), int(minute), int(second))
    except ValueError:
        return None
    return (naive - offset).replace(tzinfo=UTC)
