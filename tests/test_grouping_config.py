"""The [grouping], [repeats], [spikes] and [reach_growth] sections of uproar.toml."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flows.config import ConfigError, parse_config


def test_defaults_and_durations() -> None:
    config = parse_config(
        {
            "grouping": {"window": "48h", "rescan_window": "1d"},
            "repeats": {"window": "2w"},
            "reach_growth": {"smoothing": "30m"},
        }
    )
    assert config.grouping.window == timedelta(hours=48)
    assert config.grouping.rescan_window == timedelta(days=1)
    assert config.grouping.near_duplicate_threshold == 0.5
    assert config.repeats.window == timedelta(days=14)
    assert config.spikes.p_value == 0.001 and config.spikes.baseline_days == 14
    assert config.reach_growth.factor == 2.0
    assert config.reach_growth.smoothing == timedelta(minutes=30)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"grouping": {"near_duplicate_threshold": 1.5}}, "grouping.near_duplicate_threshold"),
        ({"grouping": {"window": "soon"}}, "grouping.window"),
        ({"spikes": {"priority": "P0"}}, "spikes.priority"),
        ({"spikes": {"baseline_days": 3}}, "spikes.baseline_days"),
        ({"reach_growth": {"factor": 1.0}}, "reach_growth.factor"),
        ({"repeats": {"windw": "30d"}}, "repeats.windw: unknown key"),
    ],
)
def test_mistakes_name_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=r"uproar\.toml") as error:
        parse_config(data, origin="uproar.toml")
    assert message in str(error.value)
