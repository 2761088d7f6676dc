"""Rota layers, rotations, follow-the-sun, swaps, overrides and the escalation chain:
named cases, table-driven, across daylight-saving changes."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from alerts.config import RotaSettings
from alerts.rota import (
    escalation_chain_at,
    is_rota_member,
    on_duty_at,
    on_shift_at,
    planned_shifts_between,
    responder_by_slack_id,
    shift_of,
    shifts_between,
    uncovered_hours,
)
from alerts.rota_time import local_instant

NAMES = ["ana", "bo", "cy", "dee", "eli", "fay", "lead"]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def rota(**values: Any) -> RotaSettings:
    responders = [{"name": n, "slack_id": f"U{n.upper()}"} for n in NAMES]
    return RotaSettings.model_validate({"responders": responders, **values})


def layer(name: str, responders: list[str], **values: Any) -> dict[str, Any]:
    return {"name": name, "responders": responders, "start_date": "2026-01-05", **values}


def who(settings: RotaSettings, when: datetime) -> str | None:
    responder = on_duty_at(settings, when)
    return responder.name if responder else None


def handoffs(settings: RotaSettings, start: datetime, end: datetime) -> list[datetime]:
    return [s.start for s in shifts_between(settings, start, end)][1:]


# --- the DST rule for a local time, one case per zone and change ---------------------


@pytest.mark.parametrize(
    ("case", "zone", "local", "expected_utc"),
    [
        ("London normal winter", "Europe/London", datetime(2026, 3, 28, 9), utc(2026, 3, 28, 9)),
        ("London normal summer", "Europe/London", datetime(2026, 3, 29, 9), utc(2026, 3, 29, 8)),
        (
            "London skipped 01:30",
            "Europe/London",
            datetime(2026, 3, 29, 1, 30),
            utc(2026, 3, 29, 1),
        ),
        ("London skipped 01:00", "Europe/London", datetime(2026, 3, 29, 1, 0), utc(2026, 3, 29, 1)),
        (
            "London repeated 01:30",
            "Europe/London",
            datetime(2026, 10, 25, 1, 30),
            utc(2026, 10, 25, 0, 30),
        ),
        (
            "New York skipped 02:30",
            "America/New_York",
            datetime(2026, 3, 8, 2, 30),
            utc(2026, 3, 8, 7),
        ),
        (
            "New York repeated 01:30",
            "America/New_York",
            datetime(2026, 11, 1, 1, 30),
            utc(2026, 11, 1, 5, 30),
        ),
        (
            "Sydney skipped 02:30",
            "Australia/Sydney",
            datetime(2026, 10, 4, 2, 30),
            utc(2026, 10, 3, 16),
        ),
        (
            "Sydney repeated 02:30",
            "Australia/Sydney",
            datetime(2026, 4, 5, 2, 30),
            utc(2026, 4, 4, 15, 30),
        ),
        (
            "Lord Howe half-hour gap",
            "Australia/Lord_Howe",
            datetime(2026, 10, 4, 2, 15),
            utc(2026, 10, 3, 15, 30),
        ),
    ],
)
def test_local_instant_rule(case: str, zone: str, local: datetime, expected_utc: datetime) -> None:
    assert local_instant(local, ZoneInfo(zone)) == expected_utc, case


# --- rotations ---------------------------------------------------------------------------

DAILY_LONDON = rota(
    layers=[layer("day", ["ana", "bo", "cy"], rotation="daily", timezone="Europe/London")]
)


@pytest.mark.parametrize(
    ("case", "settings", "start", "expected"),
    [
        (
            "daily 09:00 London across the March change",
            DAILY_LONDON,
            utc(2026, 3, 27, 12),
            [utc(2026, 3, 28, 9), utc(2026, 3, 29, 8), utc(2026, 3, 30, 8)],
        ),
        (
            "daily 09:00 London across the October change",
            DAILY_LONDON,
            utc(2026, 10, 23, 12),
            [utc(2026, 10, 24, 8), utc(2026, 10, 25, 9), utc(2026, 10, 26, 9)],
        ),
        (
            "daily 01:30 London: skipped hour hands off when the clocks jump",
            rota(
                layers=[
                    layer(
                        "n",
                        ["ana", "bo"],
                        rotation="daily",
                        handoff_time="01:30",
                        timezone="Europe/London",
                    )
                ]
            ),
            utc(2026, 3, 27, 12),
            [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1), utc(2026, 3, 30, 0, 30)],
        ),
        (
            "daily 01:30 London: repeated hour hands off the first time",
            rota(
                layers=[
                    layer(
                        "n",
                        ["ana", "bo"],
                        rotation="daily",
                        handoff_time="01:30",
                        timezone="Europe/London",
                    )
                ]
            ),
            utc(2026, 10, 23, 12),
            [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)],
        ),
        (
            "weekly Monday 09:00 New York across the March change",
            rota(layers=[layer("w", ["ana", "bo"], timezone="America/New_York")]),
            utc(2026, 2, 24),
            [utc(2026, 3, 2, 14), utc(2026, 3, 9, 13), utc(2026, 3, 16, 13)],
        ),
        (
            "12-hour handoffs stay at 09:00 and 21:00 Sydney across April's change",
            rota(layers=[layer("h", ["ana", "bo"], rotation="12h", timezone="Australia/Sydney")]),
            utc(2026, 4, 3, 23),
            [utc(2026, 4, 4, 10), utc(2026, 4, 4, 23), utc(2026, 4, 5, 11), utc(2026, 4, 5, 23)],
        ),
    ],
)
def test_handoffs(
    case: str, settings: RotaSettings, start: datetime, expected: list[datetime]
) -> None:
    found = handoffs(settings, start, expected[-1] + timedelta(minutes=1))
    assert found[: len(expected)] == expected, case


def test_rotation_order_and_start_date() -> None:
    # Start Monday 2026-01-05 09:00 UTC, daily: ana, bo, cy, ana, ...
    settings = rota(layers=[layer("day", ["ana", "bo", "cy"], rotation="daily")])
    assert who(settings, utc(2026, 1, 5, 8, 59)) is None  # before the rotation starts
    assert [who(settings, utc(2026, 1, d, 12)) for d in range(5, 11)] == [
        "ana",
        "bo",
        "cy",
        "ana",
        "bo",
        "cy",
    ]
    assert who(settings, utc(2026, 1, 6, 8, 59)) == "ana"
    assert who(settings, utc(2026, 1, 6, 9, 0)) == "bo"
    custom = rota(layers=[layer("three", ["ana", "bo"], rotation="3d")])
    assert [who(custom, utc(2026, 1, d, 12)) for d in (5, 7, 8, 10, 11)] == [
        "ana",
        "ana",
        "bo",
        "bo",
        "ana",
    ]


def test_restriction_windows_and_higher_layer_wins() -> None:
    office = layer(
        "office",
        ["ana", "bo"],
        timezone="Europe/London",
        restrictions=[{"days": ["weekdays"], "start": "09:00", "end": "17:00"}],
    )
    base = layer("base", ["cy"], timezone="Europe/London")
    settings = rota(layers=[office, base])
    assert who(settings, utc(2026, 7, 8, 8)) == "ana"  # Wed 09:00 BST: office
    assert who(settings, utc(2026, 7, 8, 7, 59)) == "cy"  # before the window: base
    assert who(settings, utc(2026, 7, 8, 16)) == "cy"  # 17:00 BST: window over
    assert who(settings, utc(2026, 7, 11, 12)) == "cy"  # Saturday
    assert who(settings, utc(2026, 7, 15, 12)) == "bo"  # next week's office turn
    # Listed the other way round the base layer covers everything and always wins.
    assert who(rota(layers=[base, office]), utc(2026, 7, 8, 12)) == "cy"


FOLLOW_THE_SUN = rota(
    layers=[
        layer(
            "singapore",
            ["ana", "bo"],
            timezone="Asia/Singapore",
            handoff_time="07:00",
            restrictions=[{"start": "07:00", "end": "16:00"}],
        ),
        layer(
            "london",
            ["cy", "dee"],
            timezone="Europe/London",
            handoff_time="07:00",
            restrictions=[{"start": "07:00", "end": "16:00"}],
        ),
        layer(
            "new-york",
            ["eli", "fay"],
            timezone="America/New_York",
            handoff_time="10:00",
            restrictions=[{"start": "10:00", "end": "19:00"}],
        ),
    ],
    lead="#pr-leads",
)


def test_follow_the_sun_layers_cover_every_hour_of_the_year() -> None:
    assert uncovered_hours(FOLLOW_THE_SUN, utc(2026, 1, 5, 7), days=365) == []
    # Winter: Singapore 23-08 UTC, London 07-16 wins over New York from 15, New York to 24.
    assert who(FOLLOW_THE_SUN, utc(2026, 1, 6, 7, 30)) == "ana"  # Singapore listed first
    assert who(FOLLOW_THE_SUN, utc(2026, 1, 6, 8, 30)) == "cy"
    assert who(FOLLOW_THE_SUN, utc(2026, 1, 6, 15, 30)) == "cy"
    assert who(FOLLOW_THE_SUN, utc(2026, 1, 6, 16, 30)) == "eli"
    # Between the US change (8 March) and the UK one (29 March) New York starts at 14 UTC.
    # (the week of 9 March is turn 9: dee in London, fay in New York)
    assert who(FOLLOW_THE_SUN, utc(2026, 3, 10, 14, 30)) == "dee"
    assert who(FOLLOW_THE_SUN, utc(2026, 3, 10, 22, 30)) == "fay"
    assert who(FOLLOW_THE_SUN, utc(2026, 3, 10, 23, 30)) == "bo"


def test_without_overlap_follow_the_sun_leaves_the_dst_hour_uncovered() -> None:
    tight = rota(
        layers=[
            layer(
                "sg",
                ["ana"],
                timezone="Asia/Singapore",
                restrictions=[{"start": "07:00", "end": "15:00"}],
            ),
            layer(
                "ldn",
                ["cy"],
                timezone="Europe/London",
                restrictions=[{"start": "07:00", "end": "15:00"}],
            ),
            layer(
                "ny",
                ["eli"],
                timezone="America/New_York",
                restrictions=[{"start": "10:00", "end": "18:00"}],
            ),
        ]
    )
    assert uncovered_hours(tight, utc(2026, 1, 12), days=7) == []
    gaps = uncovered_hours(tight, utc(2026, 3, 9), days=1)  # New York on summer time already
    assert gaps == [utc(2026, 3, 9, 22)]


def test_fixed_shifts_sit_below_layers() -> None:
    settings = rota(
        shifts=[{"responder": "dee", "start": "00:00", "end": "00:00"}],
        layers=[layer("office", ["ana"], restrictions=[{"start": "09:00", "end": "17:00"}])],
    )
    assert who(settings, utc(2026, 2, 2, 10)) == "ana"
    assert who(settings, utc(2026, 2, 2, 18)) == "dee"


# --- changes -----------------------------------------------------------------------------

WEEKLY = rota(layers=[layer("w", ["ana", "bo", "cy"])], fallback="lead")  # Mondays 09:00 UTC


def test_override_replaces_only_the_named_responder_and_only_its_interval() -> None:
    override = {
        "responder": "ana",
        "covering": "dee",
        "start": "2026-01-06T00:00:00Z",
        "end": "2026-01-13T00:00:00Z",
    }
    settings = rota(layers=[layer("w", ["ana", "bo", "cy"])], overrides=[override])
    assert who(settings, utc(2026, 1, 5, 23)) == "ana"
    assert who(settings, utc(2026, 1, 6, 0)) == "dee"
    assert who(settings, utc(2026, 1, 12, 8, 59)) == "dee"
    assert who(settings, utc(2026, 1, 12, 9)) == "bo"  # bo's week is not ana's: untouched
    assert who(settings, utc(2026, 1, 13, 0)) == "bo"
    (covered,) = [
        s
        for s in shifts_between(settings, utc(2026, 1, 6), utc(2026, 1, 7))
        if s.responder == "dee"
    ]
    assert (covered.start, covered.end, covered.source) == (
        utc(2026, 1, 6),
        utc(2026, 1, 12, 9),
        "override 1",
    )


def test_override_without_responder_covers_everyone_and_gaps() -> None:
    settings = rota(
        layers=[layer("office", ["ana"], restrictions=[{"start": "09:00", "end": "17:00"}])],
        overrides=[
            {"covering": "bo", "start": "2026-02-02T12:00:00Z", "end": "2026-02-02T20:00:00Z"}
        ],
    )
    assert who(settings, utc(2026, 2, 2, 11)) == "ana"
    assert who(settings, utc(2026, 2, 2, 13)) == "bo"
    assert who(settings, utc(2026, 2, 2, 19)) == "bo"  # in what was a gap
    assert on_shift_at(settings, utc(2026, 2, 2, 20)) is None
    assert [
        (s.responder, s.start, s.end)
        for s in shifts_between(settings, utc(2026, 2, 2), utc(2026, 2, 3))
    ] == [
        ("ana", utc(2026, 2, 2, 9), utc(2026, 2, 2, 12)),
        ("bo", utc(2026, 2, 2, 12), utc(2026, 2, 2, 20)),
    ]


def test_later_override_wins() -> None:
    settings = rota(
        layers=[layer("w", ["ana"])],
        overrides=[
            {
                "responder": "ana",
                "covering": "bo",
                "start": "2026-02-02T00:00:00Z",
                "end": "2026-02-03T00:00:00Z",
            },
            {
                "responder": "bo",
                "covering": "cy",
                "start": "2026-02-02T06:00:00Z",
                "end": "2026-02-02T12:00:00Z",
            },
        ],
    )
    assert [who(settings, utc(2026, 2, 2, h)) for h in (3, 7, 13)] == ["bo", "cy", "bo"]


def test_swap_exchanges_two_shifts() -> None:
    ana_week = shift_of(WEEKLY, "ana", utc(2026, 1, 6))
    cy_week = shift_of(WEEKLY, "cy", utc(2026, 1, 20))
    assert ana_week and cy_week
    ref = lambda s: {"responder": s.responder, "start": s.start, "end": s.end}  # noqa: E731
    swapped = rota(
        layers=[layer("w", ["ana", "bo", "cy"])],
        swaps=[{"first": ref(ana_week), "second": ref(cy_week)}],
    )
    window = (utc(2026, 1, 5), utc(2026, 2, 2))
    before = planned_shifts_between(swapped, *window)
    after = shifts_between(swapped, *window)
    assert [s.responder for s in before] == ["ana", "bo", "cy", "ana"]
    assert [s.responder for s in after] == ["cy", "bo", "ana", "ana"]
    assert [(s.start, s.end) for s in after] == [(s.start, s.end) for s in before]
    assert after[0].source == after[2].source == "swap 1"


# --- escalation chain and lookups ----------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "settings", "when", "expected"),
    [
        ("next in rotation", WEEKLY, utc(2026, 1, 6), ("ana", "bo", "lead")),
        ("next in rotation wraps", WEEKLY, utc(2026, 1, 20), ("cy", "ana", "lead")),
        (
            "before the rotation: fallback is primary",
            WEEKLY,
            utc(2026, 1, 1),
            ("lead", None, "lead"),
        ),
        (
            "one-person layer: fallback is secondary",
            rota(layers=[layer("w", ["ana"])], fallback="lead"),
            utc(2026, 1, 6),
            ("ana", "lead", "lead"),
        ),
        (
            "secondary layers and a lead channel",
            rota(
                layers=[layer("w", ["ana", "bo"])],
                secondary_layers=[layer("s", ["dee", "ana"])],
                lead="#pr-leads",
            ),
            utc(2026, 1, 6),
            ("ana", "dee", "#pr-leads"),
        ),
        (
            "secondary layer giving the primary falls through",
            rota(
                layers=[layer("w", ["ana", "bo"])],
                secondary_layers=[layer("s", ["ana"])],
                fallback="lead",
                lead="fay",
            ),
            utc(2026, 1, 6),
            ("ana", "lead", "fay"),
        ),
        (
            "overridden primary: the next in rotation skips whoever covers",
            rota(
                layers=[layer("w", ["ana", "bo"])],
                overrides=[
                    {
                        "covering": "bo",
                        "start": "2026-01-05T00:00:00Z",
                        "end": "2026-01-07T00:00:00Z",
                    }
                ],
                fallback="lead",
            ),
            utc(2026, 1, 6),
            ("bo", "ana", "lead"),
        ),
    ],
)
def test_escalation_chain(
    case: str, settings: RotaSettings, when: datetime, expected: tuple[Any, ...]
) -> None:
    chain = escalation_chain_at(settings, when)
    found = (
        chain.primary.name if chain.primary else None,
        chain.secondary.name if chain.secondary else None,
        chain.lead,
    )
    assert found == expected, case


def test_lookups() -> None:
    assert responder_by_slack_id(WEEKLY, "UBO").name == "bo"  # type: ignore[union-attr]
    assert responder_by_slack_id(WEEKLY, "UNOBODY") is None
    assert is_rota_member(WEEKLY, "cy") and not is_rota_member(WEEKLY, "mallory")


def test_resolved_shifts_come_out_whole_and_in_order() -> None:
    found = shifts_between(DAILY_LONDON, utc(2026, 3, 29, 12), utc(2026, 3, 29, 12, 1))
    assert [(s.start, s.end) for s in found] == [(utc(2026, 3, 29, 8), utc(2026, 3, 30, 8))]
    week = shifts_between(DAILY_LONDON, utc(2026, 3, 23), utc(2026, 3, 30))
    assert all(a.end == b.start for a, b in itertools.pairwise(week))
    assert timedelta(hours=23) in {s.end - s.start for s in week}  # the short spring day


# --- config errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"layers": [layer("w", ["zed"])]}, "layers[0] (w) names unknown responder 'zed'"),
        ({"layers": [layer("w", ["ana"]), layer("w", ["bo"])]}, "layer names must be unique"),
        ({"layers": [layer("w", ["ana"], rotation="fortnightly")]}, 'expected "daily", "weekly"'),
        ({"layers": [layer("w", ["ana"], rotation="10m")]}, "at most hourly"),
        ({"layers": [layer("w", [])]}, "at least 1 item"),
        ({"lead": "pr people"}, "neither a responder nor a Slack channel"),
        (
            {
                "overrides": [
                    {
                        "covering": "ana",
                        "start": "2026-01-02T00:00:00Z",
                        "end": "2026-01-01T00:00:00Z",
                    }
                ]
            },
            "must end after it starts",
        ),
        (
            {
                "overrides": [
                    {"covering": "ana", "start": "2026-01-01T00:00", "end": "2026-01-02T00:00"}
                ]
            },
            "timezone",
        ),
        (
            {
                "overrides": [
                    {
                        "covering": "zed",
                        "start": "2026-01-01T00:00:00Z",
                        "end": "2026-01-02T00:00:00Z",
                    }
                ]
            },
            "unknown responder 'zed'",
        ),
        (
            {
                "swaps": [
                    {
                        "first": {
                            "responder": "ana",
                            "start": "2026-01-01T00:00:00Z",
                            "end": "2026-01-02T00:00:00Z",
                        },
                        "second": {
                            "responder": "ana",
                            "start": "2026-01-03T00:00:00Z",
                            "end": "2026-01-04T00:00:00Z",
                        },
                    }
                ]
            },
            "two responders",
        ),
    ],
)
def test_config_errors_name_the_problem(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        rota(**values)
