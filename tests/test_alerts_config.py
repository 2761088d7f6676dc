"""Alerts settings: defaults, duration strings, validation messages, token handling."""

from __future__ import annotations

import tomllib
from datetime import time, timedelta

import pytest
from pydantic import ValidationError

from alerts.config import (
    ConfigError,
    DeadlineSettings,
    RotaSettings,
    SlackSettings,
    ThresholdSettings,
    format_duration,
    parse_duration,
)
from flows.config import UproarConfig

TOML = """
[thresholds]
negativity = 0.7
reach = 800

[deadlines.P1]
acknowledge = "10m"
response = "1h30m"
resolution = "24h"

[[rota.responders]]
name = "ana"
slack_id = "U01ANA"
timezone = "Europe/London"

[[rota.responders]]
name = "bo"
timezone = "Asia/Shanghai"

[[rota.shifts]]
responder = "ana"
days = ["weekdays"]
start = "09:00"
end = "17:00"

[[rota.shifts]]
responder = "bo"
days = ["daily"]
start = "22:00"
end = "06:00"

[rota]
fallback = "ana"

[slack]
enabled = true
channel = "#brand-alerts"
"""


def test_defaults() -> None:
    settings = UproarConfig()
    assert settings.thresholds == ThresholdSettings(negativity=0.6, reach=500)
    assert settings.deadlines.P1.acknowledge == timedelta(minutes=15)
    assert settings.deadlines.P3.resolution == timedelta(days=7)
    assert settings.rota.responders == [] and settings.rota.fallback is None
    assert settings.slack.enabled is False and settings.slack.channel == "#uproar-alerts"
    assert settings.slack.token_env == "SLACK_BOT_TOKEN"


def test_toml_round_trip() -> None:
    settings = UproarConfig.model_validate(tomllib.loads(TOML))
    assert settings.rota.fallback == "ana"
    assert settings.thresholds.reach == 800
    assert settings.deadlines.P1.response == timedelta(hours=1, minutes=30)
    assert settings.deadlines.P2.acknowledge == timedelta(hours=1)  # untouched default
    assert settings.rota.shifts[1].start == time(22, 0)
    assert settings.rota.shifts[0].weekdays == frozenset(range(5))
    dumped = settings.model_dump(mode="json")
    assert dumped["deadlines"]["P1"] == {
        "acknowledge": "10m",
        "response": "1h30m",
        "resolution": "1d",
    }
    assert dumped["rota"]["shifts"][1]["end"] == "06:00"
    assert UproarConfig.model_validate(dumped) == settings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", timedelta(minutes=15)),
        ("72h", timedelta(hours=72)),
        ("7d", timedelta(days=7)),
        ("1h30m", timedelta(minutes=90)),
        (" 2W ", timedelta(weeks=2)),
        (90, timedelta(seconds=90)),
    ],
)
def test_parse_duration(text, expected) -> None:
    assert parse_duration(text) == expected
    assert parse_duration(format_duration(expected)) == expected


@pytest.mark.parametrize("bad", ["15", "15 minutes", "1.5h", "h", "", "0m", "-5m", None])
def test_bad_duration_says_what_is_expected(bad) -> None:
    with pytest.raises(ValidationError) as info:
        DeadlineSettings.model_validate(
            {"P2": {"acknowledge": bad, "response": "4h", "resolution": "72h"}}
        )
    message = str(info.value)
    assert "P2.acknowledge" in message
    assert 'a duration like "15m", "1h", "72h", "7d"' in message


def test_deadlines_must_be_in_order() -> None:
    with pytest.raises(ValidationError, match="acknowledge <= response <= resolution"):
        DeadlineSettings.model_validate(
            {"P1": {"acknowledge": "2h", "response": "1h", "resolution": "24h"}}
        )


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"thresholds": {"negativity": 1.5}}, "thresholds.negativity"),
        ({"thresholds": {"reach": 0}}, "thresholds.reach"),
        ({"thresholds": {"reech": 5}}, "Extra inputs are not permitted"),
        (
            {"rota": {"responders": [{"name": "a", "timezone": "Mars/Base"}]}},
            "unknown time zone 'Mars/Base'",
        ),
        (
            {
                "rota": {
                    "responders": [{"name": "a"}],
                    "shifts": [{"responder": "zed", "start": "09:00", "end": "17:00"}],
                }
            },
            "shifts[0] names unknown responder 'zed'",
        ),
        (
            {"rota": {"responders": [{"name": "a"}], "fallback": "zed"}},
            "fallback names unknown responder 'zed'",
        ),
        ({"rota": {"responders": [{"name": "a"}, {"name": "a"}]}}, "duplicates: ['a']"),
        (
            {
                "rota": {
                    "responders": [{"name": "a"}],
                    "shifts": [{"responder": "a", "start": "9am", "end": "17:00"}],
                }
            },
            '24-hour time "HH:MM"',
        ),
        (
            {
                "rota": {
                    "responders": [{"name": "a"}],
                    "shifts": [
                        {"responder": "a", "days": ["funday"], "start": "09:00", "end": "17:00"}
                    ],
                }
            },
            "unknown day 'funday'",
        ),
        ({"slack": {"token_env": "xoxb-123-456"}}, "not contain the token itself"),
        ({"slack": {"token": "xoxb-123"}}, "Extra inputs are not permitted"),
    ],
)
def test_validation_errors_name_the_problem(data, fragment) -> None:
    with pytest.raises(ValidationError) as info:
        UproarConfig.model_validate(data)
    assert fragment in str(info.value)


def test_token_comes_only_from_the_environment() -> None:
    slack = SlackSettings(enabled=True, token_env="UPROAR_TEST_TOKEN")
    assert slack.token({"UPROAR_TEST_TOKEN": " xoxb-abc "}) == "xoxb-abc"
    with pytest.raises(ConfigError, match="UPROAR_TEST_TOKEN is not set"):
        slack.token({})


def test_shift_timezone_defaults_to_responder() -> None:
    rota = RotaSettings.model_validate(
        {
            "responders": [{"name": "bo", "timezone": "Asia/Shanghai"}],
            "shifts": [
                {"responder": "bo", "start": "09:00", "end": "17:00"},
                {"responder": "bo", "start": "09:00", "end": "17:00", "timezone": "UTC"},
            ],
        }
    )
    assert rota.timezone_of(rota.shifts[0]).key == "Asia/Shanghai"
    assert rota.timezone_of(rota.shifts[1]).key == "UTC"
