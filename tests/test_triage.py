"""Reach, complaint triage, priority and deadlines: tables plus properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, strategies as st

from alerts.config import DeadlineSettings, ThresholdSettings
from alerts.reach import LIKE_WEIGHT, REPLY_WEIGHT, REPOST_FANOUT, estimated_reach
from alerts.triage import Deadlines, deadlines_for, is_complaint, priority_for

T = ThresholdSettings()  # negativity 0.6, reach 500
OPENED = datetime(2024, 5, 17, 12, 0, tzinfo=UTC)
counts = st.one_of(st.none(), st.integers(min_value=0, max_value=10**9))


@pytest.mark.parametrize(
    ("followers", "reposts", "replies", "likes", "views", "expected"),
    [
        (None, None, None, None, None, 0),
        (120, None, None, None, None, 120),
        (120, 3, 2, 10, None, 120 + 3 * REPOST_FANOUT + 2 * REPLY_WEIGHT + 10 * LIKE_WEIGHT),
        (10, 0, 0, 0, 90_000, 90_000),  # counted views win when larger
        (10_000, 0, 0, 0, 50, 10_000),  # ...and lose when smaller
        (-5, -1, None, None, None, 0),  # nonsense counts count as 0
    ],
)
def test_estimated_reach(followers, reposts, replies, likes, views, expected) -> None:
    assert estimated_reach(followers, reposts, replies, likes, views) == expected


def test_seen_amplifications_replace_the_repost_guess_with_real_audiences() -> None:
    # 3 reposts, 2 of them seen: their authors' 40 000 followers count, the third is a guess.
    reach = estimated_reach(100, 3, 0, 0, None, amplifications=2, amplifier_followers=40_000)
    assert reach == 100 + 40_000 + 1 * REPOST_FANOUT
    # More amplifications seen than the platform's (stale) repost count: no negative guess.
    assert estimated_reach(100, 1, 0, 0, None, amplifications=4, amplifier_followers=10) == 110


@given(counts, counts, counts, counts, counts, st.integers(min_value=1, max_value=1000))
def test_reach_never_shrinks_when_engagement_grows(f, r, p, lk, v, extra) -> None:
    base = estimated_reach(f, r, p, lk, v)
    assert base >= max(f or 0, v or 0)
    assert estimated_reach(f, (r or 0) + extra, p, lk, v) >= base
    assert estimated_reach(f, r, (p or 0) + extra, lk, v) >= base
    assert estimated_reach(f, r, p, (lk or 0) + extra, v) >= base
    # An amplification seen, with an audience at least the guess, never lowers reach.
    seen = estimated_reach(f, r, p, lk, v, amplifications=1, amplifier_followers=REPOST_FANOUT)
    assert seen >= base


@pytest.mark.parametrize(
    ("negativity", "reach", "expected"),
    [
        (0.6, 500, True),  # both thresholds are inclusive
        (0.95, 100_000, True),
        (0.59, 100_000, False),  # viral but not negative enough
        (0.99, 499, False),  # very negative but nobody saw it
        (0.0, 0, False),
    ],
)
def test_is_complaint(negativity: float, reach: int, expected: bool) -> None:
    assert is_complaint(negativity, reach, T) is expected


def test_is_complaint_follows_configured_thresholds() -> None:
    strict = ThresholdSettings(negativity=0.8, reach=2000)
    assert not is_complaint(0.7, 5000, strict)
    assert not is_complaint(0.9, 1999, strict)
    assert is_complaint(0.8, 2000, strict)


@pytest.mark.parametrize(
    ("reach", "negativity", "followers", "expected"),
    [
        (500, 0.6, 100, "P3"),
        (999, 0.99, 100, "P3"),
        (1000, 0.6, 100, "P2"),  # 2x threshold
        (2499, 0.95, 100, "P2"),
        (2500, 0.95, 100, "P1"),  # very negative and 5x
        (2500, 0.89, 100, "P2"),  # 5x but not very negative
        (4999, 0.7, 100, "P2"),
        (5000, 0.61, 100, "P1"),  # 10x
        (600, 0.61, 2_000_000, "P1"),  # influencer author
        (600, 0.61, None, "P3"),
    ],
)
def test_priority_for(reach: int, negativity: float, followers: int | None, expected: str) -> None:
    assert priority_for(reach, negativity, followers, T) == expected


RANK = {"P1": 1, "P2": 2, "P3": 3}


@given(
    st.integers(min_value=0, max_value=10**8),
    st.integers(min_value=0, max_value=10**8),
    st.floats(min_value=0, max_value=1),
    st.floats(min_value=0, max_value=1),
    st.one_of(st.none(), st.integers(min_value=0, max_value=10**8)),
)
def test_priority_is_monotonic(reach_a, reach_b, neg_a, neg_b, followers) -> None:
    """More reach and more negativity never lower the priority."""
    low_reach, high_reach = sorted((reach_a, reach_b))
    low_neg, high_neg = sorted((neg_a, neg_b))
    low = priority_for(low_reach, low_neg, followers, T)
    high = priority_for(high_reach, high_neg, followers, T)
    assert RANK[high] <= RANK[low]


@pytest.mark.parametrize(
    ("priority", "ack", "response", "resolution"),
    [
        ("P1", timedelta(minutes=15), timedelta(hours=1), timedelta(hours=24)),
        ("P2", timedelta(hours=1), timedelta(hours=4), timedelta(hours=72)),
        ("P3", timedelta(hours=8), timedelta(hours=24), timedelta(days=7)),
    ],
)
def test_default_deadlines(priority, ack, response, resolution) -> None:
    due = deadlines_for(priority, OPENED, DeadlineSettings())
    assert due == Deadlines(OPENED + ack, OPENED + response, OPENED + resolution)


def test_configured_deadlines_and_bad_input() -> None:
    settings = DeadlineSettings.model_validate(
        {"P1": {"acknowledge": "5m", "response": "30m", "resolution": "1d"}}
    )
    assert deadlines_for("P1", OPENED, settings).ack == OPENED + timedelta(minutes=5)
    assert deadlines_for("P2", OPENED, settings).ack == OPENED + timedelta(hours=1)
    with pytest.raises(ValueError, match="unknown priority 'P4'"):
        deadlines_for("P4", OPENED, settings)
    with pytest.raises(ValueError, match="naive datetime"):
        deadlines_for("P1", datetime(2024, 5, 17, 12, 0), settings)


@given(st.sampled_from(["P1", "P2", "P3"]), st.datetimes(timezones=st.just(UTC)))
def test_deadlines_are_ordered_and_after_opening(priority, opened) -> None:
    due = deadlines_for(priority, opened, DeadlineSettings())
    assert opened < due.ack <= due.response <= due.resolution


def test_a_category_can_have_its_own_deadlines() -> None:
    settings = DeadlineSettings.model_validate(
        {
            "categories": {
                "privacy": {"P1": {"acknowledge": "5m", "response": "30m"}},
                "logistics": {"P3": {"resolution": "3d"}},
            }
        }
    )
    privacy = deadlines_for("P1", OPENED, settings, "privacy")
    assert privacy == Deadlines(
        OPENED + timedelta(minutes=5), OPENED + timedelta(minutes=30), OPENED + timedelta(hours=24)
    )
    assert deadlines_for("P2", OPENED, settings, "privacy") == deadlines_for("P2", OPENED, settings)
    assert deadlines_for("P3", OPENED, settings, "logistics").resolution == OPENED + timedelta(
        days=3
    )
    assert deadlines_for("P1", OPENED, settings, "pricing") == deadlines_for("P1", OPENED, settings)
    assert deadlines_for("P1", OPENED, settings, None).ack == OPENED + timedelta(minutes=15)


def test_category_deadlines_must_stay_in_order() -> None:
    with pytest.raises(ValueError, match=r"categories\.privacy\.P1: deadlines must satisfy"):
        DeadlineSettings.model_validate(
            {"categories": {"privacy": {"P1": {"acknowledge": "2h"}}}}  # after the 1 h response
        )
    with pytest.raises(ValueError, match="Extra inputs"):
        DeadlineSettings.model_validate({"categories": {"privacy": {"P1": {"ack": "5m"}}}})
