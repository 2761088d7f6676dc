"""The spike test and the reach-growth maths (pure), table-driven and by property."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from hypothesis import given, strategies as st

from alerts.config import SpikeSettings
from alerts.growth import has_grown, smoothed_growth
from alerts.spikes import baseline_hours, hour_start, hours_to_check, spike_priority, spike_test

SETTINGS = SpikeSettings()


@pytest.mark.parametrize(
    ("count", "baseline", "spike", "priority"),
    [
        (0, [0, 0], False, "P2"),
        (4, [0, 0], False, "P2"),  # below min_count, however unusual
        (5, [0, 0], True, "P2"),  # 5 against a floor of 0.5: p ~ 0.0002
        (8, [3, 4], False, "P2"),  # a busy hour that is usually busy
        (12, [3, 4], True, "P2"),
        (25, [1, 2], True, "P1"),  # large: >= 5x expected and >= 20 posts
        (25, [6, 6], True, "P2"),  # a spike, but not 5x its usual
        (19, [0, 0], True, "P2"),  # 38x usual, but fewer than 20 posts
    ],
)
def test_spike_test(count: int, baseline: list[int], spike: bool, priority: str) -> None:
    verdict = spike_test(count, baseline, SETTINGS)
    assert verdict.is_spike is spike
    if spike:
        assert spike_priority(verdict, SETTINGS) == priority
    assert verdict.expected == max(sum(baseline) / len(baseline), SETTINGS.expected_floor)


def test_no_baseline_uses_the_floor() -> None:
    assert spike_test(3, [], SETTINGS).expected == SETTINGS.expected_floor


@given(
    st.integers(min_value=0, max_value=200),
    st.lists(st.integers(min_value=0, max_value=100), min_size=0, max_size=4),
)
def test_more_posts_never_make_a_spike_less_likely(count: int, baseline: list[int]) -> None:
    now = spike_test(count, baseline, SETTINGS)
    more = spike_test(count + 1, baseline, SETTINGS)
    assert more.p_value <= now.p_value + 1e-12
    assert not now.is_spike or more.is_spike
    assert not now.large or now.is_spike


@given(
    st.integers(min_value=0, max_value=100), st.lists(st.integers(0, 100), min_size=1, max_size=4)
)
def test_a_higher_baseline_never_makes_a_spike_more_likely(count: int, baseline: list[int]) -> None:
    higher = [b + 5 for b in baseline]
    assert (
        spike_test(count, higher, SETTINGS).p_value
        >= spike_test(count, baseline, SETTINGS).p_value - 1e-12
    )


def test_hours_and_baseline_hours() -> None:
    now = datetime(2026, 12, 1, 14, 37, 12, tzinfo=UTC)
    assert hour_start(now) == datetime(2026, 12, 1, 14, tzinfo=UTC)
    assert hours_to_check(now, SETTINGS) == [
        datetime(2026, 12, 1, 13, tzinfo=UTC),
        datetime(2026, 12, 1, 14, tzinfo=UTC),
    ]
    assert baseline_hours(datetime(2026, 12, 1, 14, tzinfo=UTC), SETTINGS) == [
        datetime(2026, 11, 24, 14, tzinfo=UTC),
        datetime(2026, 11, 17, 14, tzinfo=UTC),
    ]
    with pytest.raises(ValueError, match="naive"):
        hour_start(datetime(2026, 12, 1, 14))


@pytest.mark.parametrize(
    ("previous", "before", "after", "hours", "expected"),
    [
        (None, 1000, 3000, 2.0, 1000.0),  # the first measurement is the raw rate
        (500.0, 1000, 1000, 0.0, 500.0),  # no time passed: unchanged
        (None, 1000, 1000, 0.0, None),
        (0.0, 1000, 2000, 1.0, 1000 * (1 - math.exp(-1))),  # one smoothing constant
        (1000.0, 2000, 2000, 1.0, 1000 * math.exp(-1)),  # a quiet hour decays, not resets
    ],
)
def test_smoothed_growth(
    previous: float | None, before: int, after: int, hours: float, expected: float | None
) -> None:
    result = smoothed_growth(previous, before, after, hours, smoothing_hours=1.0)
    assert result == (pytest.approx(expected) if expected is not None else None)


@given(
    st.floats(min_value=-1e6, max_value=1e6),
    st.integers(0, 10**7),
    st.integers(0, 10**7),
    st.floats(min_value=1e-3, max_value=1e3),
)
def test_smoothed_growth_lies_between_the_old_rate_and_the_new(
    previous: float, before: int, after: int, hours: float
) -> None:
    rate = (after - before) / hours
    result = smoothed_growth(previous, before, after, hours, smoothing_hours=1.0)
    assert result is not None
    low, high = min(previous, rate), max(previous, rate)
    assert low - 1e-6 * (1 + abs(low)) <= result <= high + 1e-6 * (1 + abs(high))


@pytest.mark.parametrize(
    ("reach", "notified", "factor", "grown"),
    [
        (1999, 1000, 2.0, False),
        (2000, 1000, 2.0, True),
        (5000, None, 2.0, False),
        (5000, 0, 2.0, False),
        (1500, 1000, 1.5, True),
    ],
)
def test_has_grown(reach: int, notified: int | None, factor: float, grown: bool) -> None:
    assert has_grown(reach, notified, factor) is grown
