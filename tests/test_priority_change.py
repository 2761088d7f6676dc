"""Raising priority: which changes are raises and how the deadlines tighten. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, strategies as st

from alerts.config import DeadlineSettings
from alerts.priority_change import DueDates, is_raise, raised_deadlines

OPENED = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night London moves its clocks
DEADLINES = DeadlineSettings()


@pytest.mark.parametrize(
    ("current", "assessed", "expected"),
    [
        ("P3", "P2", True),
        ("P3", "P1", True),
        ("P2", "P1", True),
        ("P1", "P1", False),
        ("P2", "P2", False),
        ("P1", "P2", False),  # never lowered
        ("P1", "P3", False),
        ("P2", "P3", False),
    ],
)
def test_only_a_more_urgent_priority_is_a_raise(current: str, assessed, expected: bool) -> None:
    assert is_raise(current, assessed) is expected


def p3_due(opened: datetime = OPENED, **decided: bool) -> DueDates:
    return DueDates(
        ack=opened + timedelta(hours=8),
        response=opened + timedelta(hours=24),
        resolution=opened + timedelta(days=7),
        **decided,
    )


def test_p3_to_p1_two_hours_in_is_due_from_the_raise() -> None:
    now = OPENED + timedelta(hours=2)
    due = raised_deadlines(p3_due(), "P1", now, DEADLINES)
    assert due.ack == now + timedelta(minutes=15)
    assert due.response == now + timedelta(hours=1)
    assert due.resolution == now + timedelta(hours=24)


def test_a_deadline_closer_than_the_new_one_stays() -> None:
    now = OPENED + timedelta(hours=7, minutes=55)  # P3 ack due in 5 minutes
    due = raised_deadlines(p3_due(), "P2", now, DEADLINES)
    assert due.ack == OPENED + timedelta(hours=8)  # not pushed back to now + 1 h
    assert due.response == now + timedelta(hours=4)


def test_decided_deadlines_are_kept() -> None:
    now = OPENED + timedelta(hours=2)
    before = p3_due(ack_decided=True, response_decided=True)
    due = raised_deadlines(before, "P1", now, DEADLINES)
    assert (due.ack, due.response) == (before.ack, before.response)
    assert due.ack_decided and due.response_decided and not due.resolution_decided
    assert due.resolution == now + timedelta(hours=24)


def test_category_deadlines_apply_to_the_raise() -> None:
    deadlines = DeadlineSettings.model_validate(
        {"categories": {"privacy": {"P1": {"acknowledge": "5m"}}}}
    )
    now = OPENED + timedelta(hours=1)
    assert raised_deadlines(p3_due(), "P1", now, deadlines, "privacy").ack == now + timedelta(
        minutes=5
    )
    assert raised_deadlines(p3_due(), "P1", now, deadlines, "pricing").ack == now + timedelta(
        minutes=15
    )


@given(
    minutes_in=st.integers(min_value=0, max_value=14 * 24 * 60),
    to=st.sampled_from(["P1", "P2"]),
    decided=st.tuples(st.booleans(), st.booleans(), st.booleans()),
)
def test_a_raise_never_moves_a_deadline_later(minutes_in: int, to, decided) -> None:
    now = OPENED + timedelta(minutes=minutes_in)
    before = p3_due(
        ack_decided=decided[0], response_decided=decided[1], resolution_decided=decided[2]
    )
    after = raised_deadlines(before, to, now, DEADLINES)
    pairs = [
        (before.ack, after.ack, decided[0]),
        (before.response, after.response, decided[1]),
        (before.resolution, after.resolution, decided[2]),
    ]
    for old, new, is_decided in pairs:
        assert new <= old
        assert new == old if is_decided else new >= min(old, now)
