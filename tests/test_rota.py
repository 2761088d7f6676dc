"""Who is on duty: time zones, overnight shifts, daylight-saving edges, gaps, fallback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from alerts.config import RotaSettings
from alerts.rota import coverage_gaps, on_duty_at, on_shift_at, shifts_between, uncovered_hours


def rota(*shifts: dict, fallback: str | None = None, zones: dict | None = None) -> RotaSettings:
    zones = zones or {}
    names = sorted({s["responder"] for s in shifts} | ({fallback} if fallback else set()))
    return RotaSettings.model_validate(
        {
            "responders": [
                {"name": n, "timezone": zones.get(n, "UTC"), "slack_id": f"U{n.upper()}"}
                for n in names
            ],
            "shifts": list(shifts),
            "fallback": fallback,
        }
    )


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


LONDON_OFFICE = rota(
    {"responder": "ana", "days": ["weekdays"], "start": "09:00", "end": "17:00"},
    zones={"ana": "Europe/London"},
)
SHANGHAI_NIGHTS = rota(
    {"responder": "bo", "start": "22:00", "end": "06:00"}, zones={"bo": "Asia/Shanghai"}
)
FRIDAY_NIGHT = rota(
    {"responder": "cy", "days": ["fri"], "start": "23:00", "end": "07:00", "timezone": "UTC"}
)


@pytest.mark.parametrize(
    ("settings_", "when", "expected"),
    [
        # Europe/London 09:00-17:00 is 08:00-16:00 UTC in summer (BST)...
        (LONDON_OFFICE, utc(2024, 7, 10, 8, 0), "ana"),
        (LONDON_OFFICE, utc(2024, 7, 10, 7, 59), None),
        (LONDON_OFFICE, utc(2024, 7, 10, 15, 59), "ana"),
        (LONDON_OFFICE, utc(2024, 7, 10, 16, 0), None),  # end is exclusive
        # ...and 09:00-17:00 UTC in winter (GMT).
        (LONDON_OFFICE, utc(2024, 1, 10, 8, 30), None),
        (LONDON_OFFICE, utc(2024, 1, 10, 9, 0), "ana"),
        (LONDON_OFFICE, utc(2024, 1, 10, 16, 30), "ana"),
        (LONDON_OFFICE, utc(2024, 1, 13, 12, 0), None),  # Saturday
        # Overnight 22:00-06:00 Asia/Shanghai (UTC+8) = 14:00-22:00 UTC.
        (SHANGHAI_NIGHTS, utc(2024, 5, 17, 14, 0), "bo"),
        (SHANGHAI_NIGHTS, utc(2024, 5, 17, 21, 59), "bo"),
        (SHANGHAI_NIGHTS, utc(2024, 5, 17, 22, 0), None),
        (SHANGHAI_NIGHTS, utc(2024, 5, 17, 13, 59), None),
        # An overnight shift belongs to the day it starts on.
        (FRIDAY_NIGHT, utc(2024, 5, 17, 23, 30), "cy"),  # Friday night
        (FRIDAY_NIGHT, utc(2024, 5, 18, 6, 59), "cy"),  # Saturday morning, same shift
        (FRIDAY_NIGHT, utc(2024, 5, 18, 23, 30), None),  # Saturday night
        (FRIDAY_NIGHT, utc(2024, 5, 17, 3, 0), None),  # Thursday's night is not on
    ],
)
def test_on_duty_at(settings_: RotaSettings, when: datetime, expected: str | None) -> None:
    responder = on_duty_at(settings_, when)
    assert (responder.name if responder else None) == expected
    # The same instant expressed in another zone gives the same answer.
    other = on_duty_at(settings_, when.astimezone(ZoneInfo("America/Los_Angeles")))
    assert (other.name if other else None) == expected


def test_fallback_covers_gaps_but_shifts_win() -> None:
    settings_ = rota({"responder": "ana", "start": "09:00", "end": "17:00"}, fallback="lead")
    assert on_duty_at(settings_, utc(2024, 5, 17, 3, 0)).name == "lead"
    assert on_shift_at(settings_, utc(2024, 5, 17, 3, 0)) is None
    assert on_duty_at(settings_, utc(2024, 5, 17, 10, 0)).name == "ana"
    assert on_duty_at(RotaSettings(), utc(2024, 5, 17, 10, 0)) is None


def test_first_listed_shift_wins_overlaps() -> None:
    settings_ = rota(
        {"responder": "ana", "start": "08:00", "end": "12:00"},
        {"responder": "bo", "start": "10:00", "end": "18:00"},
    )
    assert on_duty_at(settings_, utc(2024, 5, 17, 11, 0)).name == "ana"
    assert on_duty_at(settings_, utc(2024, 5, 17, 12, 0)).name == "bo"


def test_full_day_shift_when_start_equals_end() -> None:
    settings_ = rota({"responder": "ana", "days": ["mon"], "start": "06:00", "end": "06:00"})
    assert on_duty_at(settings_, utc(2024, 5, 13, 6, 0)).name == "ana"  # Monday
    assert on_duty_at(settings_, utc(2024, 5, 14, 5, 59)).name == "ana"
    assert on_duty_at(settings_, utc(2024, 5, 14, 6, 0)) is None


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        ("Europe/London", datetime(2024, 3, 31), 7),  # clocks go forward: a short night
        ("Europe/London", datetime(2024, 10, 27), 9),  # clocks go back: a long night
        ("America/New_York", datetime(2024, 3, 10), 7),
        ("America/New_York", datetime(2024, 11, 3), 9),
        ("Europe/London", datetime(2024, 6, 1), 8),
    ],
)
def test_night_shift_length_follows_dst(zone: str, day: datetime, hours: int) -> None:
    settings_ = rota({"responder": "ana", "start": "00:00", "end": "08:00", "timezone": zone})
    local_noon = day.replace(hour=4, tzinfo=ZoneInfo(zone))
    (occurrence,) = [
        o for o in shifts_between(settings_, local_noon, local_noon + timedelta(minutes=1))
    ]
    assert occurrence.end - occurrence.start == timedelta(hours=hours)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        on_duty_at(LONDON_OFFICE, datetime(2024, 5, 17, 12, 0))


def three_shift_rota(zone: str, first_hour: int) -> RotaSettings:
    hours = [first_hour, (first_hour + 8) % 24, (first_hour + 16) % 24]
    return rota(
        *(
            {
                "responder": name,
                "start": f"{hours[i]:02d}:00",
                "end": f"{hours[(i + 1) % 3]:02d}:00",
            }
            for i, name in enumerate(["early", "late", "night"])
        ),
        zones=dict.fromkeys(["early", "late", "night"], zone),
    )


ZONES = [
    "Europe/London",
    "America/New_York",
    "Asia/Shanghai",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "UTC",
]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(ZONES),
    st.integers(min_value=0, max_value=7),
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
    ),
)
def test_three_eight_hour_shifts_cover_every_instant(zone, first_hour, when) -> None:
    settings_ = three_shift_rota(zone, first_hour)
    responder = on_shift_at(settings_, when)
    assert responder is not None
    # The responder is the one whose wall-clock window contains the local time.
    local = when.astimezone(ZoneInfo(zone))
    minutes = (local.hour * 60 + local.minute - first_hour * 60) % 1440
    assert responder.name == ["early", "late", "night"][minutes // 480]


@pytest.mark.parametrize("zone", ["Europe/London", "America/New_York"])
@pytest.mark.parametrize("first_hour", [0, 1, 2, 3])
def test_no_uncovered_hours_across_dst_weeks(zone: str, first_hour: int) -> None:
    settings_ = three_shift_rota(zone, first_hour)
    for start in (utc(2024, 3, 6), utc(2024, 10, 23), utc(2024, 10, 30)):
        assert uncovered_hours(settings_, start, days=7) == []
        assert coverage_gaps(settings_, start, start + timedelta(days=7)) == []


def test_uncovered_hours_lists_gaps_including_short_ones() -> None:
    settings_ = rota(
        {"responder": "ana", "start": "09:00", "end": "12:00"},
        {"responder": "bo", "start": "12:30", "end": "17:00"},
        fallback="ana",  # the fallback does not hide gaps
    )
    gaps = uncovered_hours(settings_, utc(2024, 5, 17), days=1)
    assert [h.hour for h in gaps] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 17, 18, 19, 20, 21, 22, 23]
    assert all(h.tzinfo is UTC for h in gaps)
    assert coverage_gaps(settings_, utc(2024, 5, 17, 9), utc(2024, 5, 17, 17)) == [
        (utc(2024, 5, 17, 12), utc(2024, 5, 17, 12, 30))
    ]


def test_uncovered_hours_in_summer_london() -> None:
    gaps = uncovered_hours(LONDON_OFFICE, utc(2024, 7, 8), days=1)  # a Monday in BST
    assert [h.hour for h in gaps] == [*range(0, 8), *range(16, 24)]
    assert len(uncovered_hours(LONDON_OFFICE, utc(2024, 7, 13), days=2)) == 48  # weekend
