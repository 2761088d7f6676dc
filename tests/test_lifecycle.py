"""The complaint lifecycle: the pure state machine, then every action on SQLite and
PostgreSQL, including two responders claiming at the same moment."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from alerts import lifecycle
from alerts.complaint_states import ACTIONS, STATUSES, allowed_actions, next_status
from alerts.errors import AlreadyClaimed, ComplaintError, ComplaintNotFound, InvalidTransition
from storage.db import session_scope
from storage.models import Complaint, ComplaintEvent, Notification, Post

OPENED = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)

# ---------------------------------------------------------------- the pure state machine

# (status, action) -> status afterwards; every pair not listed is an InvalidTransition.
EXPECTED = {
    ("open", "claim"): "claimed",
    ("open", "dismiss"): "dismissed",
    ("claimed", "take_over"): "claimed",
    ("claimed", "respond"): "responded",
    ("claimed", "wait"): "waiting",
    ("claimed", "resolve"): "resolved",
    ("claimed", "dismiss"): "dismissed",
    ("responded", "take_over"): "responded",
    ("responded", "respond"): "responded",
    ("responded", "wait"): "waiting",
    ("responded", "resolve"): "resolved",
    ("responded", "dismiss"): "dismissed",
    ("waiting", "take_over"): "waiting",
    ("waiting", "respond"): "responded",
    ("waiting", "resume"): "responded",  # with responded=True below
    ("waiting", "resolve"): "resolved",
    ("waiting", "dismiss"): "dismissed",
    ("resolved", "reopen"): "claimed",  # with owned=True below
    ("dismissed", "reopen"): "claimed",
}


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("action", ACTIONS)
def test_transition_table(status: str, action: str) -> None:
    expected = EXPECTED.get((status, action))
    if expected is None:
        with pytest.raises(InvalidTransition) as raised:
            next_status(status, action, responded=True, owned=True, complaint_id=7)
        assert (raised.value.status, raised.value.action) == (status, action)
        assert f"cannot {action} complaint #7: it is {status}" in str(raised.value)
        assert action not in allowed_actions(status)
    else:
        assert next_status(status, action, responded=True, owned=True) == expected
        assert action in allowed_actions(status)


def test_resume_and_reopen_depend_on_history() -> None:
    assert next_status("waiting", "resume", responded=False) == "claimed"
    assert next_status("waiting", "resume", responded=True) == "responded"
    assert next_status("resolved", "reopen", owned=False) == "open"
    assert next_status("dismissed", "reopen", owned=False) == "open"
    with pytest.raises(InvalidTransition, match="allowed now: claim, dismiss"):
        next_status("open", "resolve")
    with pytest.raises(InvalidTransition):
        next_status("archived", "claim")


@given(st.lists(st.tuples(st.sampled_from(ACTIONS), st.booleans()), max_size=30))
def test_any_sequence_stays_inside_the_machine(steps: list[tuple[str, bool]]) -> None:
    status = "open"
    for action, flag in steps:
        try:
            status = next_status(status, action, responded=flag, owned=flag)
        except InvalidTransition:
            continue
        assert status in STATUSES
        if status in ("resolved", "dismissed"):
            assert allowed_actions(status) == ("reopen",)


# ---------------------------------------------------------------- on a real database


def make_complaint(
    factory: sessionmaker[Session], *, external_id: str = "1", channel: str | None = "#desk"
) -> int:
    """A P1 complaint opened at OPENED: ack 15 min, response 1 h, resolution 24 h."""
    with session_scope(factory) as session:
        post = Post(
            source="mastodon",
            platform="mastodon",
            external_id=external_id,
            text="Parcel lost, call me on 13800138000",
            content_hash=external_id * 8,
        )
        session.add(post)
        session.flush()
        complaint = Complaint(
            post_id=post.id,
            status="open",
            priority="P1",
            reach=9000,
            negativity=0.9,
            opened_at=OPENED,
            ack_due_at=OPENED + 15 * MIN,
            response_due_at=OPENED + HOUR,
            resolution_due_at=OPENED + 24 * HOUR,
            updated_at=OPENED,
        )
        session.add(complaint)
        session.flush()
        if channel is not None:
            session.add(
                Notification(
                    key=f"complaint:{complaint.id}:opened",
                    complaint_id=complaint.id,
                    kind="complaint_opened",
                    channel=channel,
                    payload={"text": "opened"},
                )
            )
        return complaint.id


def act(factory: sessionmaker[Session], name: str, *args, **kwargs) -> Complaint:
    with session_scope(factory) as session:
        return getattr(lifecycle, name)(session, *args, **kwargs)


def events(factory: sessionmaker[Session], cid: int) -> list[ComplaintEvent]:
    with session_scope(factory) as session:
        query = select(ComplaintEvent).where(ComplaintEvent.complaint_id == cid)
        return list(session.execute(query.order_by(ComplaintEvent.id)).scalars())


def notes(factory: sessionmaker[Session], cid: int) -> list[Notification]:
    with session_scope(factory) as session:
        query = select(Notification).where(
            Notification.complaint_id == cid, Notification.kind == "complaint_event"
        )
        return list(session.execute(query.order_by(Notification.id)).scalars())


def stored(factory: sessionmaker[Session], cid: int) -> Complaint:
    with session_scope(factory) as session:
        complaint = session.get(Complaint, cid)
        assert complaint is not None
        return complaint


def test_claim_in_time_records_the_event_and_a_thread_notification(session_factory) -> None:
    cid = make_complaint(session_factory)
    now = OPENED + 10 * MIN
    complaint = act(session_factory, "claim", cid, "ana", now)
    assert (complaint.status, complaint.owner, complaint.claimed_at) == ("claimed", "ana", now)
    assert complaint.ack_met is True
    assert stored(session_factory, cid).ack_met is True

    (event,) = events(session_factory, cid)
    assert (event.actor, event.action, event.at) == ("ana", "claimed", now)
    assert event.detail == {"ack_due_at": (OPENED + 15 * MIN).isoformat(), "ack_met": True}
    (note,) = notes(session_factory, cid)
    assert note.key == f"complaint:{cid}:claimed:{event.id}"
    assert note.channel == "#desk" and note.status == "pending"
    assert note.payload["complaint_id"] == cid
    assert note.payload["event"] == "claimed" and note.payload["actor"] == "ana"
    assert note.payload["at"] == now.isoformat()
    assert note.payload["text"] == f"#{cid} claimed by ana, acknowledged in time"
    assert note.payload["mention"] is None

    # Claiming your own complaint again (a double click) changes and sends nothing.
    again = act(session_factory, "claim", cid, "ana", now + MIN)
    assert again.claimed_at == now
    assert len(events(session_factory, cid)) == 1 and len(notes(session_factory, cid)) == 1


def test_a_late_claim_is_a_missed_acknowledgement(session_factory) -> None:
    cid = make_complaint(session_factory, channel=None)
    complaint = act(session_factory, "claim", cid, "ana", OPENED + 20 * MIN)
    assert complaint.ack_met is False
    (note,) = notes(session_factory, cid)
    assert note.payload["text"].endswith("acknowledged 5m late")
    assert note.channel == "#uproar-alerts"  # no opening alert: the default channel


def test_claim_exactly_at_the_deadline_is_in_time(session_factory) -> None:
    cid = make_complaint(session_factory)
    assert act(session_factory, "claim", cid, "ana", OPENED + 15 * MIN).ack_met is True


def test_someone_elses_claim_needs_an_explicit_take_over(session_factory) -> None:
    cid = make_complaint(session_factory)
    act(session_factory, "claim", cid, "ana", OPENED + MIN)
    with pytest.raises(AlreadyClaimed) as raised:
        act(session_factory, "claim", cid, "bo", OPENED + 2 * MIN)
    assert raised.value.owner == "ana"
    assert "already claimed by ana" in str(raised.value)
    act(session_factory, "respond", cid, "ana", OPENED + 3 * MIN)

    slack_ids = {"ana": "U0ANA", "bo": "U0BO"}
    taken = act(
        session_factory,
        "claim",
        cid,
        "bo",
        OPENED + 4 * MIN,
        take_over=True,
        slack_id_of=slack_ids.get,
    )
    assert (taken.owner, taken.status) == ("bo", "responded")
    assert taken.claimed_at == OPENED + MIN  # the acknowledgement stays the first claim's
    last = events(session_factory, cid)[-1]
    assert (last.actor, last.action) == ("bo", "taken_over")
    assert last.detail == {"previous_owner": "ana", "status": "responded"}
    assert notes(session_factory, cid)[-1].payload["text"] == f"#{cid} taken over by bo from ana"
    assert notes(session_factory, cid)[-1].payload["mention"] == "U0ANA"  # ana is told
    # The lock now protects bo: ana has to take it back explicitly.
    with pytest.raises(AlreadyClaimed, match="already claimed by bo"):
        act(session_factory, "resolve", cid, "ana", OPENED + 5 * MIN)


def test_only_the_owner_acts_and_wrong_states_are_refused(session_factory) -> None:
    cid = make_complaint(session_factory)
    with pytest.raises(InvalidTransition, match=r"cannot respond .* it is open"):
        act(session_factory, "respond", cid, "ana", OPENED + MIN)
    with pytest.raises(InvalidTransition, match="cannot resume"):
        act(session_factory, "resume", cid, "ana", OPENED + MIN)
    act(session_factory, "claim", cid, "ana", OPENED + MIN)
    for name in ("respond", "wait_on_customer", "resolve", "dismiss"):
        with pytest.raises(AlreadyClaimed):
            act(session_factory, name, cid, "bo", OPENED + 2 * MIN)
    with pytest.raises(InvalidTransition, match="cannot reopen"):
        act(session_factory, "reopen", cid, "uproar", OPENED + 2 * MIN, reason="x")
    with pytest.raises(ComplaintNotFound, match="no complaint #999"):
        act(session_factory, "claim", 999, "ana", OPENED)
    with pytest.raises(ComplaintNotFound):
        act(session_factory, "resolve", 999, "ana", OPENED)
    assert [e.action for e in events(session_factory, cid)] == ["claimed"]
    assert issubclass(AlreadyClaimed, ComplaintError)


def test_respond_then_resolve_records_each_deadline(session_factory) -> None:
    cid = make_complaint(session_factory)
    act(session_factory, "claim", cid, "ana", OPENED + 20 * MIN)  # late
    first = act(session_factory, "respond", cid, "ana", OPENED + 50 * MIN, note="DM sent")
    assert (first.status, first.responded_at, first.response_met) == (
        "responded",
        OPENED + 50 * MIN,
        True,
    )
    act(session_factory, "respond", cid, "ana", OPENED + 2 * HOUR, note="follow-up")
    assert stored(session_factory, cid).responded_at == OPENED + 50 * MIN  # first counts
    done = act(session_factory, "resolve", cid, "ana", OPENED + 25 * HOUR, outcome="refund")
    assert (done.status, done.resolved_at, done.resolution_met) == (
        "resolved",
        OPENED + 25 * HOUR,
        False,
    )
    row = stored(session_factory, cid)
    assert (row.ack_met, row.response_met, row.resolution_met) == (False, True, False)
    trail = events(session_factory, cid)
    assert [e.action for e in trail] == ["claimed", "responded", "responded", "resolved"]
    assert trail[1].detail is not None and trail[1].detail["first"] is True
    assert trail[2].detail is not None and trail[2].detail["first"] is False
    assert trail[3].detail is not None and trail[3].detail["outcome"] == "refund"
    texts = [n.payload["text"] for n in notes(session_factory, cid)]
    assert texts[1] == f"#{cid} ana responded, first response in time: DM sent"
    assert texts[2] == f"#{cid} ana responded: follow-up"
    assert texts[3] == f"#{cid} resolved by ana, 1h late: refund"
    assert len({n.key for n in notes(session_factory, cid)}) == 4


def test_resolving_a_claimed_complaint_is_also_its_first_response(session_factory) -> None:
    cid = make_complaint(session_factory)
    act(session_factory, "claim", cid, "ana", OPENED + MIN)
    done = act(session_factory, "resolve", cid, "ana", OPENED + 2 * HOUR)
    assert done.responded_at == OPENED + 2 * HOUR
    assert (done.response_met, done.resolution_met) == (False, True)


def test_waiting_on_the_customer_pauses_the_resolution_clock(session_factory) -> None:
    cid = make_complaint(session_factory)
    act(session_factory, "claim", cid, "ana", OPENED + MIN)
    act(session_factory, "respond", cid, "ana", OPENED + 30 * MIN)
    waiting = act(session_factory, "wait_on_customer", cid, "ana", OPENED + HOUR)
    assert (waiting.status, waiting.paused_at) == ("waiting", OPENED + HOUR)
    with pytest.raises(InvalidTransition, match="cannot wait"):
        act(session_factory, "wait_on_customer", cid, "ana", OPENED + 2 * HOUR)
    back = act(session_factory, "resume", cid, "ana", OPENED + 11 * HOUR)  # 10 h waited
    assert back.status == "responded"
    assert back.paused_at is None and back.paused_seconds == 36_000
    assert back.resolution_due_at == OPENED + 34 * HOUR
    assert notes(session_factory, cid)[-1].payload["text"] == (
        f"#{cid} resumed by ana after 10h waiting; resolve by 2026-11-24 22:00 UTC"
    )
    # A second pause, closed by resolving: 2 h more waiting, resolved 35 h after opening,
    # which is 23 h of working time, so within the 24 h deadline.
    act(session_factory, "wait_on_customer", cid, "ana", OPENED + 20 * HOUR)
    done = act(session_factory, "resolve", cid, "ana", OPENED + 22 * HOUR + 13 * HOUR)
    assert done.paused_seconds == 36_000 + 15 * 3600
    assert done.resolution_due_at == OPENED + 24 * HOUR + timedelta(seconds=done.paused_seconds)
    assert done.resolution_met is True
    assert done.paused_at is None


def test_resume_before_any_response_goes_back_to_claimed(session_factory) -> None:
    cid = make_complaint(session_factory)
    act(session_factory, "claim", cid, "ana", OPENED + MIN)
    act(session_factory, "wait_on_customer", cid, "ana", OPENED + 2 * MIN)
    assert act(session_factory, "resume", cid, "ana", OPENED + 3 * MIN).status == "claimed"
    act(session_factory, "wait_on_customer", cid, "ana", OPENED + 4 * MIN)
    replied = act(session_factory, "respond", cid, "ana", OPENED + 5 * MIN)
    assert (replied.status, replied.paused_at, replied.paused_seconds) == ("responded", None, 120)


def test_dismiss_open_by_anyone_and_reopen_without_owner(session_factory) -> None:
    cid = make_complaint(session_factory)
    gone = act(session_factory, "dismiss", cid, "bo", OPENED + 5 * MIN, reason="a joke")
    assert (gone.status, gone.dismissed_at, gone.ack_met) == ("dismissed", OPENED + 5 * MIN, None)
    with pytest.raises(InvalidTransition, match=r"cannot claim .* it is dismissed"):
        act(session_factory, "claim", cid, "ana", OPENED + 6 * MIN)
    back = act(session_factory, "reopen", cid, "uproar", OPENED + 2 * HOUR, reason="went viral")
    assert (back.status, back.owner, back.dismissed_at) == ("open", None, None)
    # The 1 h 55 min it spent dismissed does not count against any deadline.
    assert back.ack_due_at == OPENED + 15 * MIN + (2 * HOUR - 5 * MIN)
    assert back.resolution_due_at == OPENED + 24 * HOUR + (2 * HOUR - 5 * MIN)
    assert act(session_factory, "claim", cid, "ana", OPENED + 2 * HOUR + 10 * MIN).ack_met is True
    assert [e.action for e in events(session_factory, cid)] == ["dismissed", "reopened", "claimed"]
    assert notes(session_factory, cid)[1].payload["text"] == (
        f"#{cid} reopened by uproar (was dismissed): went viral"
    )


def test_new_activity_reopens_a_resolved_complaint_to_its_owner(session_factory) -> None:
    cid = make_complaint(session_factory)
    act(session_factory, "claim", cid, "ana", OPENED + MIN)
    act(session_factory, "resolve", cid, "ana", OPENED + 2 * HOUR)
    back = act(session_factory, "reopen", cid, "uproar", OPENED + 5 * HOUR, reason="reposted")
    assert (back.status, back.owner, back.resolved_at, back.resolution_met) == (
        "claimed",
        "ana",
        None,
        None,
    )
    assert back.ack_met is True and back.response_met is False  # decided ones stay
    assert back.ack_due_at == OPENED + 15 * MIN and back.response_due_at == OPENED + HOUR
    assert back.resolution_due_at == OPENED + 27 * HOUR
    assert back.paused_seconds == 3 * 3600
    (event,) = [e for e in events(session_factory, cid) if e.action == "reopened"]
    assert event.detail is not None
    assert event.detail["previous_status"] == "resolved" and event.detail["reason"] == "reposted"


def test_personal_data_in_notes_never_reaches_the_notification(session_factory) -> None:
    cid = make_complaint(session_factory)
    act(session_factory, "claim", cid, "ana", OPENED + MIN)
    act(
        session_factory,
        "respond",
        cid,
        "ana",
        OPENED + 2 * MIN,
        note="called her on +44 7700 900123, mail jo@example.com",
    )
    note = notes(session_factory, cid)[-1]
    rendered = str(note.payload)
    assert "7700 900123" not in rendered and "jo@example.com" not in rendered
    assert "[phone]" in note.payload["text"] and "[email]" in note.payload["detail"]["note"]
    assert "[phone]" in events(session_factory, cid)[-1].detail["note"]  # the trail too


def test_nothing_is_written_when_the_caller_rolls_back(session_factory) -> None:
    cid = make_complaint(session_factory)
    session = session_factory()
    try:
        lifecycle.claim(session, cid, "ana", OPENED + MIN)
        session.rollback()
    finally:
        session.close()
    assert stored(session_factory, cid).owner is None
    assert events(session_factory, cid) == [] and notes(session_factory, cid) == []


# ---------------------------------------------------------------- two claims at once


def test_a_claim_from_a_stale_view_loses_to_the_committed_one(session_factory) -> None:
    """bo's session read the complaint while it was still open; ana's claim commits
    first. A read-check-write would let bo win too; the conditional UPDATE does not."""
    cid = make_complaint(session_factory)
    bo = session_factory()
    try:
        seen = bo.get(Complaint, cid)
        assert seen is not None and seen.owner is None and seen.status == "open"
        bo.commit()  # end bo's read so SQLite's writer is not blocked by it
        act(session_factory, "claim", cid, "ana", OPENED + MIN)
        with pytest.raises(AlreadyClaimed) as raised:
            lifecycle.claim(bo, cid, "bo", OPENED + MIN)
        assert raised.value.owner == "ana"
        bo.rollback()
    finally:
        bo.close()
    assert stored(session_factory, cid).owner == "ana"
    assert [e.actor for e in events(session_factory, cid)] == ["ana"]


def test_responders_claiming_at_the_same_moment_one_wins(session_factory) -> None:
    cid = make_complaint(session_factory)
    names = ["ana", "bo", "cy", "di"]
    start = threading.Barrier(len(names))
    outcome: dict[str, str] = {}

    def try_claim(name: str) -> None:
        start.wait()
        try:
            with session_scope(session_factory) as session:
                lifecycle.claim(session, cid, name, OPENED + MIN)
            outcome[name] = "won"
        except AlreadyClaimed as exc:
            outcome[name] = f"lost to {exc.owner}"

    threads = [threading.Thread(target=try_claim, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [name for name, result in outcome.items() if result == "won"]
    assert len(winners) == 1, outcome
    assert sorted(outcome) == names
    assert all(outcome[n] == f"lost to {winners[0]}" for n in names if n != winners[0])
    assert stored(session_factory, cid).owner == winners[0]
    assert [e.actor for e in events(session_factory, cid)] == winners
    assert len(notes(session_factory, cid)) == 1


@pytest.mark.postgres
def test_a_claim_blocked_behind_an_uncommitted_one_is_told_who_won(postgres_url) -> None:
    """On PostgreSQL the second claim waits on the row lock of the first (seen in
    pg_stat_activity, not guessed with a sleep), then loses once the first commits."""
    from storage.db import open_database

    engine, factory = open_database(postgres_url)
    watcher = create_engine(postgres_url)
    ana = factory()
    thread: threading.Thread | None = None
    try:
        cid = make_complaint(factory)
        lifecycle.claim(ana, cid, "ana", OPENED + MIN)  # holds the row lock, not committed
        ana_pid = ana.execute(text("SELECT pg_backend_pid()")).scalar_one()
        result: dict[str, object] = {}

        def bo_claims() -> None:
            try:
                with session_scope(factory) as session:
                    lifecycle.claim(session, cid, "bo", OPENED + MIN)
                result["bo"] = "won"
            except AlreadyClaimed as exc:
                result["bo"] = exc.owner
            except Exception as exc:  # shown by the asserts below instead of lost in the thread
                result["error"] = repr(exc)

        thread = threading.Thread(target=bo_claims)
        thread.start()
        with watcher.connect() as conn:
            while thread.is_alive():
                waiting = conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE :ana = ANY(pg_blocking_pids(pid))"
                    ),
                    {"ana": ana_pid},
                ).scalar_one()
                if waiting:
                    break
                time.sleep(0.01)
        assert thread.is_alive(), result  # bo is blocked, not finished
        ana.commit()
        thread.join(timeout=60)
        assert result == {"bo": "ana"}
    finally:
        # Whatever failed above, release ana's row lock so bo (and the schema drop) can end.
        ana.rollback()
        ana.close()
        if thread is not None and thread.ident is not None:
            thread.join(timeout=60)
        watcher.dispose()
        engine.dispose()


# ---------------------------------------------------------------- any sequence, on SQLite

# Mostly one responder, so sequences get deep (claim, wait, resume, ...) rather than
# bouncing off someone else's claim.
ACTORS = ("ana", "ana", "ana", "bo")
NAMES = ["claim", "take_over", "respond", "wait_on_customer", "resume", "resolve", "dismiss"]
STEPS = st.lists(
    st.tuples(
        st.sampled_from([*NAMES, "wait_on_customer", "resume", "claim", "reopen"]),
        st.sampled_from(ACTORS),
        st.integers(min_value=0, max_value=600),  # minutes since the previous step
    ),
    max_size=14,
)


@pytest.fixture(scope="module")
def shared_sqlite(tmp_path_factory: pytest.TempPathFactory):
    from storage.db import open_database

    engine, factory = open_database(f"sqlite:///{tmp_path_factory.mktemp('seq') / 'seq.db'}")
    yield factory
    engine.dispose()


_counter = iter(range(10**9))


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
def test_any_sequence_of_actions_keeps_the_record_consistent(shared_sqlite, steps) -> None:
    """Whatever responders do, in whatever order: the stored complaint agrees with itself,
    a refused action writes nothing, and every change has exactly one event and one
    notification."""
    factory = shared_sqlite
    cid = make_complaint(factory, external_id=f"seq{next(_counter)}")
    now = OPENED
    changes = 0
    for name, actor, minutes in steps:
        now += timedelta(minutes=minutes)
        before = stored(factory, cid)
        try:
            with session_scope(factory) as session:
                if name == "take_over":
                    lifecycle.claim(session, cid, actor, now, take_over=True)
                elif name in ("dismiss", "reopen"):
                    getattr(lifecycle, name)(session, cid, actor, now, reason="x")
                else:
                    getattr(lifecycle, name)(session, cid, actor, now)
        except ComplaintError:
            after = stored(factory, cid)
            assert (after.status, after.owner, after.updated_at) == (
                before.status,
                before.owner,
                before.updated_at,
            )
            continue
        after = stored(factory, cid)
        written = len(events(factory, cid)) - changes
        if written == 0:  # only claiming what you already own changes nothing
            assert name in ("claim", "take_over") and before.owner == after.owner == actor
        assert written in (0, 1)
        changes += written
        assert after.status in STATUSES
        assert (after.owner is not None) == (after.claimed_at is not None)
        assert (after.ack_met is not None) == (after.claimed_at is not None)
        assert (after.response_met is not None) == (after.responded_at is not None)
        assert (after.resolution_met is not None) == (after.status == "resolved")
        assert (after.paused_at is not None) == (after.status == "waiting")
        assert (after.dismissed_at is not None) == (after.status == "dismissed")
        assert after.resolution_due_at == OPENED + 24 * HOUR + timedelta(
            seconds=after.paused_seconds
        )
    trail = events(factory, cid)
    assert len(trail) == changes
    keys = [n.key for n in notes(factory, cid)]
    assert len(keys) == len(set(keys)) == changes
