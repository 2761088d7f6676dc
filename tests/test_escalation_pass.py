"""The escalation pass against a real database (SQLite and PostgreSQL) on a fake clock:
idempotent by the notification key, across re-runs and crashes."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from alerts.complaints import open_complaints
from alerts.config import DeadlineSettings, EscalationSettings, RotaSettings, ThresholdSettings
from alerts.escalation import Action
from alerts.escalation_pass import EscalationReport, escalate_complaints, pending_actions
from storage.db import session_scope
from storage.models import Complaint, ComplaintEvent, Notification
from tests.test_alerts_complaints import add_post

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ROTA = RotaSettings.model_validate(
    {
        "responders": [
            {"name": "ana", "slack_id": "U0ANA"},
            {"name": "ben", "slack_id": "U0BEN"},
            {"name": "cho", "slack_id": "U0CHO"},
        ],
        "shifts": [{"responder": "ana", "start": "00:00", "end": "00:00"}],
        "fallback": "ben",  # never on duty (ana covers every hour): the secondary
        "lead": "#pr-leads",
    }
)
# N = 5 min, M = 5 min, the lead for 20 min, 2 repeats (the defaults).
SETTINGS = EscalationSettings()
CHANNEL = "#uproar-alerts"
ESCALATION_KINDS = ("escalated", "reminder", "deadline_missed")


class Crash(BaseException):
    """The process dying half-way (not an error the pass may catch)."""


def minutes(value: float) -> datetime:
    return T0 + timedelta(minutes=value)


def open_p1_complaints(factory: sessionmaker[Session], count: int = 1) -> list[int]:
    """Open ``count`` P1 complaints (reach 20,000; due 15 min / 1 h / 24 h) at T0."""
    with session_scope(factory) as session:
        for index in range(count):
            add_post(session, f"p{index}", f"Parcel {index} lost, support useless", 0.95,
                     followers=20_000, fetched_at=T0)  # fmt: skip
        opened = open_complaints(
            session, ThresholdSettings(), DeadlineSettings(), ROTA, T0, channel=CHANNEL
        )
        return sorted(complaint.id for complaint in opened)


def run(factory: sessionmaker[Session], at: datetime, **kwargs):  # type: ignore[no-untyped-def]
    return escalate_complaints(factory, SETTINGS, ROTA, at, channel=CHANNEL, **kwargs)


def escalation_keys(factory: sessionmaker[Session]) -> list[str]:
    with factory() as session:
        return list(
            session.execute(
                select(Notification.key)
                .where(Notification.kind == "complaint_event")
                .order_by(Notification.id)
            ).scalars()
        )


def escalation_events(factory: sessionmaker[Session]) -> list[ComplaintEvent]:
    with factory() as session:
        return list(
            session.execute(
                select(ComplaintEvent)
                .where(ComplaintEvent.action.in_(ESCALATION_KINDS))
                .order_by(ComplaintEvent.id)
            ).scalars()
        )


def set_complaint(factory: sessionmaker[Session], complaint_id: int, **values: object) -> None:
    with session_scope(factory) as session:
        session.execute(update(Complaint).where(Complaint.id == complaint_id).values(**values))


def test_the_same_minute_twice_writes_nothing_the_second_time(session_factory) -> None:
    (complaint_id,) = open_p1_complaints(session_factory)

    first = run(session_factory, minutes(5))
    second = run(session_factory, minutes(5))

    assert first.written == [f"complaint:{complaint_id}:escalation:2:1"]
    assert first.checked == 1 and not first.errors
    assert second.written == [] and second.already_sent == 1
    assert escalation_keys(session_factory) == first.written
    events = escalation_events(session_factory)
    assert [(e.action, e.actor, e.at) for e in events] == [("escalated", "uproar", minutes(5))]
    assert events[0].detail is not None and events[0].detail["key"] == first.written[0]

    with session_factory() as session:
        notification = session.execute(
            select(Notification).where(Notification.key == first.written[0])
        ).scalar_one()
    assert notification.complaint_id == complaint_id
    assert notification.channel == CHANNEL
    assert notification.status == "pending"
    payload = notification.payload
    assert payload["complaint_id"] == complaint_id
    assert payload["event"] == "escalated"
    assert payload["actor"] == "uproar"
    assert payload["mention"] == "U0BEN"
    assert [who["mention"] for who in payload["detail"]["notified"]] == ["U0ANA", "U0BEN"]
    assert (payload["status"], payload["owner"]) == ("open", None)
    assert datetime.fromisoformat(payload["at"]) == minutes(5)
    assert payload["detail"]["step"] == 2
    assert payload["text"] == (
        f"#{complaint_id} P1 unclaimed for 5m: reminding ana; escalating to ben (secondary)"
    )


def test_a_pass_every_minute_for_three_hours_sends_each_step_once(session_factory) -> None:
    (complaint_id,) = open_p1_complaints(session_factory)
    for minute in range(0, 181, 1):
        run(session_factory, minutes(minute))
    prefix = f"complaint:{complaint_id}:"
    assert escalation_keys(session_factory) == [
        prefix + key
        for key in [
            "escalation:2:1",  # 5 min: remind ana, notify ben
            "escalation:3:1",  # 10 min: the lead
            "deadline_missed:acknowledge",  # 15 min
            "escalation:1:2",  # 30 min: round 2
            "escalation:2:2",
            "escalation:3:2",
            "reminder:response:10m",  # 50 min (to the primary: nobody owns it)
            "escalation:1:3",  # 60 min: round 3
            "deadline_missed:response",  # 60 min
            "escalation:2:3",
            "escalation:3:3",
        ]
    ]
    assert len(escalation_events(session_factory)) == 11
    with session_factory() as session:
        complaint = session.get(Complaint, complaint_id)
        assert complaint is not None
        assert (complaint.ack_met, complaint.response_met, complaint.resolution_met) == (
            False,
            False,
            None,
        )


def test_a_crash_between_rows_then_a_rerun_sends_everything_exactly_once(
    session_factory,
) -> None:
    ids = open_p1_complaints(session_factory, count=3)
    written: list[str] = []

    def crash_on_the_second_complaint(action: Action) -> None:
        written.append(action.key)
        if action.complaint_id == ids[1]:
            raise Crash("killed")

    with pytest.raises(Crash):
        run(session_factory, minutes(16), on_written=crash_on_the_second_complaint)
    # the first complaint's rows were committed; the second's rolled back with the crash
    assert escalation_keys(session_factory) == [
        f"complaint:{ids[0]}:escalation:3:1",
        f"complaint:{ids[0]}:deadline_missed:acknowledge",
    ]
    assert written[-1].startswith(f"complaint:{ids[1]}:")

    again = run(session_factory, minutes(16))

    expected = [
        f"complaint:{cid}:{key}"
        for cid in ids
        for key in ("escalation:3:1", "deadline_missed:acknowledge")
    ]
    assert escalation_keys(session_factory) == expected
    assert again.already_sent == 2 and len(again.written) == 4
    events = escalation_events(session_factory)
    assert sorted(e.detail["key"] for e in events if e.detail) == sorted(expected)
    with session_factory() as session:
        count = session.scalar(select(func.count()).select_from(Notification))
    assert count == 3 + 6  # three opening alerts, six escalation rows


def test_a_failing_complaint_is_reported_and_does_not_stop_the_others(session_factory) -> None:
    ids = open_p1_complaints(session_factory, count=2)

    def fail_on_the_first(action: Action) -> None:
        if action.complaint_id == ids[0]:
            raise RuntimeError("database hiccup")

    report = run(session_factory, minutes(5), on_written=fail_on_the_first)
    assert report.written == [f"complaint:{ids[1]}:escalation:2:1"]
    assert report.errors == [f"complaint {ids[0]}: RuntimeError: database hiccup"]

    retried = run(session_factory, minutes(5))
    assert retried.written == [f"complaint:{ids[0]}:escalation:2:1"]
    assert len(escalation_keys(session_factory)) == 2


def test_claim_stops_the_steps_then_a_missed_deadline_is_recorded_once(session_factory) -> None:
    (complaint_id,) = open_p1_complaints(session_factory)
    run(session_factory, minutes(5))
    set_complaint(
        session_factory, complaint_id, status="claimed", owner="cho", claimed_at=minutes(7),
        ack_met=True,
    )  # fmt: skip
    for minute in range(7, 70):
        run(session_factory, minutes(minute))
    prefix = f"complaint:{complaint_id}:"
    assert escalation_keys(session_factory) == [
        prefix + "escalation:2:1",
        prefix + "reminder:response:10m",
        prefix + "deadline_missed:response",
    ]
    missed = [e for e in escalation_events(session_factory) if e.action == "deadline_missed"]
    assert len(missed) == 1 and missed[0].at == minutes(60)
    assert missed[0].detail is not None and missed[0].detail["owner"] == "cho"
    with session_factory() as session:
        complaint = session.get(Complaint, complaint_id)
        assert complaint is not None
        assert (complaint.ack_met, complaint.response_met) == (True, False)
        reminder = session.execute(
            select(Notification).where(Notification.key == prefix + "reminder:response:10m")
        ).scalar_one()
    assert reminder.payload["mention"] == "U0CHO"


def test_closed_complaints_are_left_alone(session_factory) -> None:
    ids = open_p1_complaints(session_factory, count=2)
    set_complaint(session_factory, ids[0], status="resolved", resolved_at=minutes(3))
    set_complaint(session_factory, ids[1], status="dismissed", dismissed_at=minutes(3))
    report = run(session_factory, minutes(600))
    assert report.checked == 0 and escalation_keys(session_factory) == []


def test_a_claimed_complaint_whose_reach_keeps_growing_renotifies_once_per_step(
    session_factory,
) -> None:
    (complaint_id,) = open_p1_complaints(session_factory)  # reach 20,000 at opening
    set_complaint(
        session_factory, complaint_id, status="responded", owner="cho", claimed_at=minutes(2),
        responded_at=minutes(4),
    )  # fmt: skip
    sent: list[str] = []
    for minute, reach in [(10, 30_000), (11, 40_000), (12, 40_000), (13, 70_000), (14, 80_000)]:
        set_complaint(session_factory, complaint_id, reach=reach)
        sent.extend(run(session_factory, minutes(minute)).written)
    prefix = f"complaint:{complaint_id}:escalation:reach:"
    # 40,000 is twice the opening 20,000; 70,000 is not twice the 40,000 announced; 80,000 is
    assert sent == [prefix + "1", prefix + "2"]
    with session_factory() as session:
        last = session.execute(
            select(Notification).where(Notification.key == prefix + "2")
        ).scalar_one()
    assert last.payload["mention"] == "U0CHO"
    assert last.payload["detail"]["previous_reach"] == 40_000


def test_a_reopened_complaint_escalates_again(session_factory) -> None:
    (complaint_id,) = open_p1_complaints(session_factory)
    run(session_factory, minutes(5))
    with session_scope(session_factory) as session:
        session.execute(
            update(Complaint)
            .where(Complaint.id == complaint_id)
            .values(status="open", owner=None, ack_due_at=minutes(615))
        )
        session.add(
            ComplaintEvent(
                complaint_id=complaint_id, actor="ana", action="reopened", at=minutes(600)
            )
        )
    report = run(session_factory, minutes(605))
    assert f"complaint:{complaint_id}:escalation:2:1:reopen1" in report.written


def test_escalation_off_writes_nothing(session_factory) -> None:
    open_p1_complaints(session_factory)
    off = SETTINGS.model_copy(update={"enabled": False})
    report = escalate_complaints(session_factory, off, ROTA, minutes(30))
    assert report.checked == 0 and escalation_keys(session_factory) == []


def test_two_passes_at_once_write_each_action_once(session_factory) -> None:
    (complaint_id,) = open_p1_complaints(session_factory)
    inside = threading.Event()
    release = threading.Event()
    reports: dict[str, object] = {}

    def hold_the_transaction_open(action: Action) -> None:
        inside.set()
        release.wait(timeout=60)

    def first() -> None:
        reports["first"] = run(session_factory, minutes(5), on_written=hold_the_transaction_open)

    def second() -> None:
        reports["second"] = run(session_factory, minutes(5))

    one = threading.Thread(target=first)
    one.start()
    assert inside.wait(timeout=60)
    two = threading.Thread(target=second)
    two.start()  # blocks on the same key (PostgreSQL) or the write lock (SQLite)
    release.set()
    one.join(timeout=120)
    two.join(timeout=120)
    assert escalation_keys(session_factory) == [f"complaint:{complaint_id}:escalation:2:1"]
    assert len(escalation_events(session_factory)) == 1
    second_report = reports["second"]
    assert isinstance(second_report, EscalationReport)
    assert second_report.written == [] and second_report.already_sent == 1
    assert second_report.errors == []


def test_reach_announced_by_grouping_counts_as_the_last_announced(session_factory) -> None:
    (complaint_id,) = open_p1_complaints(session_factory)  # reach 20,000 at opening
    set_complaint(session_factory, complaint_id, status="claimed", owner="cho", reach=35_000)
    with session_scope(session_factory) as session:
        session.add(
            ComplaintEvent(
                complaint_id=complaint_id, actor="uproar", action="reach_grew", at=minutes(3),
                detail={"reach": 35_000, "factor": 1.75},
            )
        )  # fmt: skip
    set_complaint(session_factory, complaint_id, reach=60_000)
    assert run(session_factory, minutes(4)).written == []  # not yet twice 35,000
    set_complaint(session_factory, complaint_id, reach=70_000)
    assert run(session_factory, minutes(5)).written == [
        f"complaint:{complaint_id}:escalation:reach:1"  # 70,000 = 3.5 x the opening 20,000
    ]


def test_pending_actions_previews_exactly_what_a_pass_would_write(session_factory) -> None:
    (complaint_id,) = open_p1_complaints(session_factory)
    run(session_factory, minutes(5))
    preview = pending_actions(session_factory, SETTINGS, ROTA, minutes(16))
    assert [a.key for a in preview] == [
        f"complaint:{complaint_id}:escalation:3:1",
        f"complaint:{complaint_id}:deadline_missed:acknowledge",
    ]
    assert len(escalation_keys(session_factory)) == 1  # the preview wrote nothing
    assert run(session_factory, minutes(16)).written == [a.key for a in preview]
    assert pending_actions(session_factory, SETTINGS, ROTA, minutes(16)) == []
