"""Exactly-once delivery: a crash between Slack accepting a message and the outbox marking
it, answers lost after Slack did the work, 429 with Retry-After, 5xx and timeouts, all with
the real slack_sdk WebClient against LocalSlackServer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from alerts.local_slack import LocalSlackServer
from alerts.outbox import SENDING_LEASE, deliver_pending
from alerts.slack import OutgoingMessage, RetryPolicy, SentMessage, SlackSender
from storage.db import session_scope
from storage.models import Notification
from tests.slack_helpers import NOW, ROTA, TOKEN, open_complaint, sender_for


class Crash(BaseException):
    """The process dying: not an Exception, so nothing in the outbox catches it."""


class CrashAfterSend(SlackSender):
    """Slack accepts the message, then the process dies before the outbox can mark it."""

    def send(self, message: OutgoingMessage) -> SentMessage:
        super().send(message)
        raise Crash("killed between send and mark")


class CrashBeforeSend(SlackSender):
    """The row was claimed (sending), then the process died before calling Slack."""

    def send(self, message: OutgoingMessage) -> SentMessage:
        raise Crash("killed before the call")


@pytest.fixture
def slack() -> Iterator[LocalSlackServer]:
    with LocalSlackServer(token=TOKEN) as server:
        yield server


def the_row(factory: sessionmaker[Session]) -> Notification:
    with session_scope(factory) as session:
        (row,) = session.query(Notification).all()
        session.expunge(row)
        return row


def crashing(kind: type[SlackSender], slack: LocalSlackServer) -> SlackSender:
    healthy = sender_for(slack)
    return kind(healthy.client, healthy.channel, retry=healthy.retry, sleep=healthy.sleep)


def test_a_crash_between_send_and_mark_does_not_post_twice(session_factory, slack) -> None:
    open_complaint(session_factory)
    with pytest.raises(Crash):
        deliver_pending(session_factory, crashing(CrashAfterSend, slack), NOW, rota=ROTA)
    assert len(slack.messages) == 1
    stuck = the_row(session_factory)
    assert stuck.status == "sending" and stuck.claim_token and stuck.sending_at == NOW

    # A run inside the lease leaves it alone: the first worker may still be sending.
    soon = deliver_pending(session_factory, sender_for(slack), NOW + timedelta(minutes=1))
    assert (soon.delivered, soon.pending) == (0, 1)

    later = NOW + SENDING_LEASE
    report = deliver_pending(session_factory, sender_for(slack), later, rota=ROTA)
    assert (report.delivered, report.recovered, report.pending) == (1, 1, 0)
    assert len(slack.messages) == 1  # found in the channel history, not posted again
    posted = slack.messages[0]
    row = the_row(session_factory)
    assert (row.status, row.slack_ts, row.slack_channel) == (
        "delivered",
        posted["ts"],
        posted["channel"],
    )
    assert row.claim_token is None
    lookups = [c for c in slack.calls if c.method == "conversations.history"]
    assert lookups and lookups[0].body["include_all_metadata"] in {"1", "true", "True"}
    assert posted["metadata"] == {
        "event_type": "uproar_notification",
        "event_payload": {"key": row.key},
    }
    again = deliver_pending(session_factory, sender_for(slack), later + timedelta(hours=1))
    assert (again.delivered, len(slack.messages)) == (0, 1)


def test_a_crash_before_the_call_reached_slack_sends_it_once(session_factory, slack) -> None:
    open_complaint(session_factory)
    with pytest.raises(Crash):
        deliver_pending(session_factory, crashing(CrashBeforeSend, slack), NOW, rota=ROTA)
    assert slack.messages == [] and the_row(session_factory).status == "sending"
    report = deliver_pending(session_factory, sender_for(slack), NOW + SENDING_LEASE, rota=ROTA)
    assert report.delivered == 1
    assert len(slack.messages) == 1
    assert the_row(session_factory).slack_ts == slack.messages[0]["ts"]


def test_a_500_after_slack_posted_is_not_posted_again(session_factory, slack) -> None:
    open_complaint(session_factory)
    slack.fail_next(1, status=500, method="chat.postMessage", after=True)
    waits: list[float] = []
    report = deliver_pending(session_factory, sender_for(slack, waits=waits), NOW, rota=ROTA)
    assert (report.delivered, report.failed) == (1, 0)
    assert len(slack.messages) == 1
    assert waits == [1.0]
    methods = [c.method for c in slack.calls]
    assert methods[:2] == ["chat.postMessage", "conversations.list"]
    assert methods.count("chat.postMessage") == 1 and "conversations.history" in methods


def test_a_timeout_after_slack_posted_is_not_posted_again(session_factory, slack) -> None:
    open_complaint(session_factory)
    slack.fail_next(1, delay=1.0, method="chat.postMessage", after=True)
    report = deliver_pending(session_factory, sender_for(slack, timeout=0.3), NOW, rota=ROTA)
    assert report.delivered == 1
    assert len(slack.messages) == 1
    assert the_row(session_factory).slack_ts == slack.messages[0]["ts"]


def test_5xx_are_retried_with_backoff_then_delivered(session_factory, slack) -> None:
    open_complaint(session_factory)
    slack.fail_next(2, status=503, method="chat.postMessage")
    waits: list[float] = []
    report = deliver_pending(session_factory, sender_for(slack, waits=waits), NOW, rota=ROTA)
    assert (report.delivered, report.failed) == (1, 0)
    assert waits == [1.0, 2.0]
    assert len(slack.messages) == 1


def test_429_waits_out_retry_after(session_factory, slack) -> None:
    open_complaint(session_factory)
    slack.fail_next(1, status=429, retry_after=7, method="chat.postMessage")
    waits: list[float] = []
    report = deliver_pending(session_factory, sender_for(slack, waits=waits), NOW, rota=ROTA)
    assert report.delivered == 1
    assert waits == [7.0]
    # Rate limited means not posted: the retry posts straight away, no history lookup.
    assert [c.method for c in slack.calls] == ["chat.postMessage", "chat.postMessage"]


def test_a_long_retry_after_goes_back_to_the_outbox(session_factory, slack) -> None:
    open_complaint(session_factory)
    slack.fail_next(1, status=429, retry_after=120)
    waits: list[float] = []
    report = deliver_pending(session_factory, sender_for(slack, waits=waits), NOW, rota=ROTA)
    assert (report.delivered, report.failed, report.pending) == (0, 1, 1)
    assert waits == []
    row = the_row(session_factory)
    assert (row.status, row.next_attempt_at) == ("pending", NOW + timedelta(seconds=120))
    assert row.claim_token is None


def test_retries_give_up_after_the_policy_and_the_outbox_backs_off(session_factory, slack) -> None:
    open_complaint(session_factory)
    slack.fail_next(10, status=500, method="chat.postMessage")
    waits: list[float] = []
    sender = sender_for(slack, waits=waits, retry=RetryPolicy(attempts=3))
    report = deliver_pending(session_factory, sender, NOW, rota=ROTA)
    assert (report.failed, report.pending) == (1, 1)
    assert waits == [1.0, 2.0]
    row = the_row(session_factory)
    assert row.last_error == "Slack answered 500 for chat.postMessage"
    assert row.next_attempt_at == NOW + timedelta(seconds=30)
    slack.recover()
    after = deliver_pending(session_factory, sender_for(slack), NOW + timedelta(seconds=30))
    assert after.delivered == 1 and len(slack.messages) == 1


def test_two_workers_at_once_send_once(session_factory, slack) -> None:
    from concurrent.futures import ThreadPoolExecutor

    for name in "abcd":
        open_complaint(session_factory, name, f"Parcel {name} lost")
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(
            pool.map(
                lambda _: deliver_pending(session_factory, sender_for(slack), NOW, rota=ROTA),
                range(2),
            )
        )
    assert sum(run.delivered for run in runs) == 4
    assert len(slack.messages) == 4
