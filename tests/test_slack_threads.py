"""Later events go into the alert's thread and chat.update keeps the alert current: the real
lifecycle writes the events, the real outbox delivers them through the real WebClient to
LocalSlackServer."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerts import lifecycle
from alerts.local_slack import LocalSlackServer
from alerts.outbox import deliver_pending
from alerts.slack import ConsoleSender, RetryPolicy
from storage.db import session_scope
from storage.models import Complaint, ComplaintEvent, Notification
from tests.slack_helpers import ANA, NOW, ROTA, TOKEN, open_complaint, sender_for

LATER = NOW + timedelta(minutes=5)


@pytest.fixture
def slack() -> Iterator[LocalSlackServer]:
    with LocalSlackServer(token=TOKEN) as server:
        yield server


def act(factory: sessionmaker[Session], action: str, complaint_id: int, actor: str) -> None:
    with session_scope(factory) as session:
        getattr(lifecycle, action)(session, complaint_id, actor, LATER)


def add_event(
    factory: sessionmaker[Session],
    complaint_id: int,
    event: str,
    text: str,
    mention: str | None = None,
    step: int = 1,
) -> None:
    """A complaint_event the way the grouping and escalation branches write one."""
    with session_scope(factory) as session:
        session.add(
            ComplaintEvent(complaint_id=complaint_id, actor="uproar", action=event, at=LATER)
        )
        session.add(
            Notification(
                key=f"complaint:{complaint_id}:{event}:{step}",
                complaint_id=complaint_id,
                kind="complaint_event",
                channel="#uproar-alerts",
                payload={
                    "complaint_id": complaint_id,
                    "event": event,
                    "actor": "uproar",
                    "at": LATER.isoformat(),
                    "detail": {},
                    "text": text,
                    "mention": mention,
                },
                created_at=LATER,
            )
        )


def test_events_are_replies_in_the_thread_and_the_alert_follows(session_factory, slack) -> None:
    complaint_id = open_complaint(session_factory)
    sender = sender_for(slack)
    first = deliver_pending(session_factory, sender, NOW, rota=ROTA)
    assert (first.delivered, first.updated) == (1, 0)
    (parent,) = slack.messages
    blocks = str(parent["blocks"])
    assert "*Open*: nobody has claimed it" in blocks and "uproar_claim" in blocks

    act(session_factory, "claim", complaint_id, "ana")
    add_event(session_factory, complaint_id, "grouped", "a repost joined #1 (reach +2,000)")
    add_event(
        session_factory, complaint_id, "escalated", "#1 unclaimed: paging the lead", "C0PRLEAD"
    )
    report = deliver_pending(session_factory, sender, LATER, rota=ROTA)
    assert (report.delivered, report.updated) == (3, 1)
    assert len(slack.top_level()) == 1  # nothing new at the top of the channel
    replies = slack.replies(parent["ts"])
    assert [r["channel"] for r in replies] == [parent["channel"]] * 3
    assert "claimed by ana" in replies[0]["text"]
    assert "a repost joined" in replies[1]["text"] and not replies[1]["reply_broadcast"]
    assert replies[2]["text"].startswith("<#C0PRLEAD> #1 unclaimed")
    assert replies[2]["reply_broadcast"] is True  # an escalation shows in the channel too

    (update,) = slack.updates
    assert update["ts"] == parent["ts"]
    shown = str(update["blocks"])
    assert f"*Claimed* · owner <@{ANA}>" in shown
    assert "Grouped: 1 more post" in shown
    assert "uproar_take_over" in shown and "uproar_claim" not in shown
    assert slack.messages[0]["blocks"] == update["blocks"]  # the stored alert changed

    # Nothing changed: no new updates, however often the outbox runs.
    quiet = deliver_pending(session_factory, sender, LATER + timedelta(minutes=1), rota=ROTA)
    assert (quiet.delivered, quiet.updated) == (0, 0)

    act(session_factory, "resolve", complaint_id, "ana")
    closed = deliver_pending(session_factory, sender, LATER, rota=ROTA)
    assert (closed.delivered, closed.updated) == (1, 1)
    assert "resolved by ana" in slack.replies(parent["ts"])[-1]["text"]
    final = slack.updates[-1]["blocks"]
    assert "*Resolved* by <@U01ANA>" in str(final)
    assert all(block["type"] != "actions" for block in final)
    assert deliver_pending(session_factory, sender, LATER, rota=ROTA).updated == 0


def test_an_event_waits_for_its_alert(session_factory, slack) -> None:
    complaint_id = open_complaint(session_factory)
    act(session_factory, "claim", complaint_id, "ana")
    slack.fail_next(1, status=500, method="chat.postMessage")
    sender = sender_for(slack, retry=RetryPolicy(attempts=1))
    report = deliver_pending(session_factory, sender, NOW, rota=ROTA)
    assert (report.delivered, report.failed, report.pending) == (0, 1, 2)
    with session_scope(session_factory) as session:
        event = session.execute(
            select(Notification).where(Notification.kind == "complaint_event")
        ).scalar_one()
        assert (event.status, event.attempts) == ("pending", 0)  # not tried, not blamed

    later = deliver_pending(session_factory, sender, NOW + timedelta(minutes=1), rota=ROTA)
    assert later.delivered == 2
    (parent,) = slack.top_level()
    assert len(slack.replies(parent["ts"])) == 1
    # The alert was rendered when it was sent, so it already showed the claim.
    assert "*Claimed* · owner" in str(parent["blocks"]) and later.updated == 0


def test_an_alert_that_failed_for_good_leaves_events_at_the_top(session_factory, slack) -> None:
    complaint_id = open_complaint(session_factory)
    with session_scope(session_factory) as session:
        opened = session.execute(
            select(Notification).where(Notification.kind == "complaint_opened")
        ).scalar_one()
        opened.status = "failed"
    act(session_factory, "claim", complaint_id, "ana")
    deliver_pending(session_factory, sender_for(slack), NOW, rota=ROTA)
    (message,) = slack.messages
    assert "thread_ts" not in message and "claimed by ana" in message["text"]


def test_event_text_is_masked_and_cannot_ping_the_channel(session_factory, slack) -> None:
    complaint_id = open_complaint(session_factory)
    deliver_pending(session_factory, sender_for(slack), NOW, rota=ROTA)
    add_event(session_factory, complaint_id, "grouped", "<!channel> call 13800138000 now")
    deliver_pending(session_factory, sender_for(slack), LATER, rota=ROTA)
    reply = slack.messages[-1]
    assert "13800138000" not in str(reply) and "[phone]" in reply["text"]
    assert "<!channel>" not in reply["text"] and "&lt;!channel&gt;" in reply["text"]


def test_the_console_shows_threads_and_updates(session_factory) -> None:
    complaint_id = open_complaint(session_factory)
    stream = io.StringIO()
    console = ConsoleSender(stream)
    deliver_pending(session_factory, console, NOW, rota=ROTA)
    act(session_factory, "claim", complaint_id, "ana")
    report = deliver_pending(session_factory, console, LATER, rota=ROTA)
    assert (report.delivered, report.updated) == (1, 1)
    output = stream.getvalue()
    assert "complaint_event · reply to console-1" in output
    assert "console-1 now reads" in output and "[Claimed]" in output


def test_a_state_change_without_an_event_still_updates_the_alert(session_factory, slack) -> None:
    complaint_id = open_complaint(session_factory)
    deliver_pending(session_factory, sender_for(slack), NOW, rota=ROTA)
    with session_scope(session_factory) as session:
        row = session.get(Complaint, complaint_id)
        assert row is not None
        row.reach = 250_000  # re-estimated by triage
    report = deliver_pending(session_factory, sender_for(slack), LATER, rota=ROTA)
    assert (report.delivered, report.updated) == (0, 1)
    assert "~250,000 people" in str(slack.updates[-1]["blocks"])
