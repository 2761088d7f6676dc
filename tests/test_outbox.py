"""The outbox against the real slack_sdk WebClient talking to LocalSlackServer."""

from __future__ import annotations

import io
import json
import socket
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerts.complaints import open_complaints
from alerts.config import DeadlineSettings, RotaSettings, SlackSettings, ThresholdSettings
from alerts.local_slack import LocalSlackServer
from alerts.outbox import deliver_pending
from alerts.slack import ConsoleSender, RetryPolicy, SlackSender, make_slack_client
from storage.db import session_scope
from storage.models import Notification
from storage.posts import NewPost, save_post
from tests.test_alerts_complaints import add_post, add_score

NOW = datetime(2024, 5, 17, 12, 0, tzinfo=UTC)
TOKEN = "xoxb-local-test"
ROTA = RotaSettings.model_validate(
    {
        "responders": [{"name": "ana", "slack_id": "U01ANA"}],
        "shifts": [{"responder": "ana", "start": "00:00", "end": "00:00"}],
    }
)
TEXTS = [
    "Parcel lost. Call me on +44 7700 900123",
    "Refund missing, card 4111 1111 1111 1111, mail jane@example.com",
    "客服态度很差，我的手机13800138000，身份证11010519491231002X",
]


@pytest.fixture
def slack() -> Iterator[LocalSlackServer]:
    with LocalSlackServer(token=TOKEN) as server:
        yield server


def client_for(base_url: str, token: str = TOKEN, timeout: float = 2.0) -> WebClient:
    settings = SlackSettings(
        enabled=True, base_url=base_url, token_env="UPROAR_TEST_SLACK", timeout_seconds=timeout
    )
    return make_slack_client(settings, {"UPROAR_TEST_SLACK": token})


def sender_for(server: LocalSlackServer, **kwargs) -> SlackSender:
    """One try per delivery: these tests watch the outbox's own backoff between runs
    (the sender's inline retries are tested in test_outbox_exactly_once.py)."""
    return SlackSender(
        client_for(server.base_url, **kwargs), "#uproar-alerts", retry=RetryPolicy(attempts=1)
    )


def seed(factory: sessionmaker[Session], count: int = 3) -> list[int]:
    """Open ``count`` complaints the real way; returns their notification ids."""
    with session_scope(factory) as session:
        for index, text in enumerate(TEXTS[:count]):
            save_post(
                session,
                NewPost(
                    source="mastodon",
                    platform="mastodon",
                    external_id=str(index),
                    text=text,
                    author_followers=5_000,
                    url=f"https://m.example/{index}",
                ),
                fetched_at=NOW,
            )
            add_score(session, index + 1, 0.9)
        open_complaints(session, ThresholdSettings(), DeadlineSettings(), ROTA, NOW)
    with session_scope(factory) as session:
        return list(session.execute(select(Notification.id).order_by(Notification.id)).scalars())


def row(factory: sessionmaker[Session], notification_id: int) -> Notification:
    with session_scope(factory) as session:
        found = session.get(Notification, notification_id)
        assert found is not None
        return found


def received_text(server: LocalSlackServer) -> str:
    return json.dumps([c.body for c in server.calls], ensure_ascii=False)


def test_delivers_each_notification_once(session_factory, slack) -> None:
    ids = seed(session_factory)
    report = deliver_pending(session_factory, sender_for(slack), NOW)
    assert (report.delivered, report.failed, report.pending) == (3, 0, 0)
    assert report.destinations == ["slack #uproar-alerts"]

    messages = slack.messages
    assert len(messages) == 3
    assert all(m["channel_name"] == "uproar-alerts" for m in messages)
    assert all(c.headers["authorization"] == f"Bearer {TOKEN}" for c in slack.calls)
    assert [m["ts"] for m in messages] == sorted({m["ts"] for m in messages})
    for notification_id, message in zip(ids, messages, strict=True):
        delivered = row(session_factory, notification_id)
        assert delivered.status == "delivered"
        assert delivered.slack_ts == message["ts"]
        assert delivered.delivered_at == NOW
        assert delivered.delivered_to == "slack #uproar-alerts"
        assert delivered.last_error is None
        assert message["blocks"][0]["type"] == "header"
        assert "<@U01ANA>" in message["text"]

    # Delivered rows are never sent again, however often the outbox runs.
    for later in (NOW, NOW + timedelta(hours=1), NOW + timedelta(days=30)):
        again = deliver_pending(session_factory, sender_for(slack), later)
        assert (again.delivered, again.failed, again.pending) == (0, 0, 0)
    assert len(slack.calls) == 3


def test_personal_data_never_reaches_slack(session_factory, slack) -> None:
    seed(session_factory)
    # A payload built elsewhere, unmasked: the sender masks it on the way out.
    with session_scope(session_factory) as session:
        session.add(
            Notification(
                key="manual:1",
                kind="note",
                channel="#uproar-alerts",
                payload={"text": "call 07700 900123 or bob@example.org"},
                created_at=NOW,
            )
        )
    deliver_pending(session_factory, sender_for(slack), NOW)
    sent = received_text(slack)
    for secret in (
        "7700 900123",
        "4111 1111 1111 1111",
        "jane@example.com",
        "13800138000",
        "11010519491231002X",
        "07700 900123",
        "bob@example.org",
    ):
        assert secret not in sent
    for mask in ("[phone]", "[card-number]", "[email]", "[id-number]"):
        assert mask in sent


def test_http_500_stays_pending_then_delivers(session_factory, slack) -> None:
    first, *_ = seed(session_factory)
    slack.fail_next(1, status=500)
    report = deliver_pending(session_factory, sender_for(slack), NOW)
    assert (report.delivered, report.failed, report.pending) == (2, 1, 1)
    failed = row(session_factory, first)
    assert failed.status == "pending"
    assert failed.attempts == 1
    assert failed.last_error == "Slack answered 500 for chat.postMessage"
    assert failed.next_attempt_at == NOW + timedelta(seconds=30)
    assert report.errors == [f"notification {failed.key}: Slack answered 500 for chat.postMessage"]

    not_yet = deliver_pending(session_factory, sender_for(slack), NOW + timedelta(seconds=29))
    assert (not_yet.delivered, not_yet.pending) == (0, 1)
    retry = deliver_pending(session_factory, sender_for(slack), NOW + timedelta(seconds=30))
    assert (retry.delivered, retry.failed, retry.pending) == (1, 0, 0)
    assert row(session_factory, first).status == "delivered"
    assert len(slack.messages) == 3  # one message each, the failed call left nothing behind


def test_an_outage_pauses_the_outbox_instead_of_trying_every_row(session_factory, slack) -> None:
    seed(session_factory, count=3)
    extra = seed_more(session_factory, count=2)
    slack.fail_next(100, status=503)
    report = deliver_pending(session_factory, sender_for(slack), NOW)
    assert (report.delivered, report.failed, report.pending) == (0, 3, 5)
    assert len(slack.calls) == 3  # the two others were not tried during the outage
    assert "3 failures in a row" in report.errors[-1]
    untouched = row(session_factory, extra[-1])
    assert (untouched.attempts, untouched.next_attempt_at) == (0, None)
    slack.recover()
    later = deliver_pending(session_factory, sender_for(slack), NOW + timedelta(minutes=5))
    assert (later.delivered, later.pending) == (5, 0)


def seed_more(factory: sessionmaker[Session], count: int) -> list[int]:
    """``count`` more complaints after :func:`seed`'s; returns all notification ids."""
    with session_scope(factory) as session:
        for index in range(count):
            add_post(
                session,
                f"more-{index}",
                f"Another lost parcel, number {index}",
                0.9,
                followers=5_000,
            )
        open_complaints(session, ThresholdSettings(), DeadlineSettings(), ROTA, NOW)
    with session_scope(factory) as session:
        return list(session.execute(select(Notification.id).order_by(Notification.id)).scalars())


def test_ok_false_stays_pending_with_slacks_error(session_factory, slack) -> None:
    first, *_ = seed(session_factory, count=1)
    slack.fail_next(1, error="channel_not_found")
    report = deliver_pending(session_factory, sender_for(slack), NOW)
    assert (report.delivered, report.failed, report.pending) == (0, 1, 1)
    failed = row(session_factory, first)
    assert failed.last_error == "Slack refused chat.postMessage: channel_not_found"
    assert failed.status == "pending" and failed.slack_ts is None
    later = deliver_pending(session_factory, sender_for(slack), NOW + timedelta(minutes=1))
    assert later.delivered == 1
    assert len(slack.messages) == 1


def test_rate_limit_respects_retry_after(session_factory, slack) -> None:
    first, *_ = seed(session_factory, count=1)
    slack.fail_next(1, status=429, retry_after=120)
    report = deliver_pending(session_factory, sender_for(slack), NOW)
    assert report.failed == 1
    limited = row(session_factory, first)
    assert limited.next_attempt_at == NOW + timedelta(seconds=120)
    assert limited.last_error == (
        "Slack answered 429 (rate limited) for chat.postMessage; Retry-After 120 s"
    )
    assert (
        deliver_pending(session_factory, sender_for(slack), NOW + timedelta(seconds=90)).delivered
        == 0
    )
    assert len(slack.calls) == 1  # the client itself did not retry either
    assert (
        deliver_pending(session_factory, sender_for(slack), NOW + timedelta(seconds=120)).delivered
        == 1
    )


def test_backoff_grows_and_gives_up(session_factory, slack) -> None:
    first, *_ = seed(session_factory, count=1)
    slack.fail_next(3, status=503)
    when = NOW
    waits = []
    for _ in range(3):
        deliver_pending(session_factory, sender_for(slack), when, max_attempts=3)
        current = row(session_factory, first)
        if current.next_attempt_at is not None:
            waits.append(current.next_attempt_at - when)
            when = current.next_attempt_at
    assert waits == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]
    gave_up = row(session_factory, first)
    assert (gave_up.status, gave_up.attempts) == ("failed", 3)
    assert (
        deliver_pending(session_factory, sender_for(slack), when + timedelta(days=1)).delivered == 0
    )


def test_connection_refused(session_factory) -> None:
    first, *_ = seed(session_factory, count=1)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sender = SlackSender(
        client_for(f"http://127.0.0.1:{port}/api/"), "#uproar-alerts", retry=RetryPolicy(attempts=1)
    )
    report = deliver_pending(session_factory, sender, NOW)
    assert (report.failed, report.pending) == (1, 1)
    error = row(session_factory, first).last_error
    assert error == f"could not reach Slack at http://127.0.0.1:{port}/api/: connection refused"


def test_timeout(session_factory, slack) -> None:
    first, *_ = seed(session_factory, count=1)
    slack.fail_next(1, delay=1.0)
    report = deliver_pending(session_factory, sender_for(slack, timeout=0.3), NOW)
    assert report.failed == 1
    error = row(session_factory, first).last_error or ""
    assert "0.3 s" in error and slack.base_url in error
    assert (
        deliver_pending(session_factory, sender_for(slack), NOW + timedelta(minutes=1)).delivered
        == 1
    )


def test_wrong_token_is_refused(session_factory, slack) -> None:
    first, *_ = seed(session_factory, count=1)
    deliver_pending(session_factory, sender_for(slack, token="xoxb-wrong"), NOW)
    assert row(session_factory, first).last_error == "Slack refused chat.postMessage: invalid_auth"
    assert slack.messages == []


def test_console_sender(session_factory) -> None:
    ids = seed(session_factory)
    stream = io.StringIO()
    report = deliver_pending(session_factory, ConsoleSender(stream), NOW)
    assert (report.delivered, report.destinations) == (3, ["console"])
    output = stream.getvalue()
    assert output.count("--- #uproar-alerts · complaint_opened ---") == 3
    assert "== P1 complaint #1 · mastodon ==" in output
    assert "Open the post: https://m.example/0" in output
    assert "On duty: @U01ANA" in output
    assert "Acknowledge by 2024-05-17 12:15 UTC" in output
    assert "Reach: ~5,000 people" in output
    assert "13800138000" not in output and "[phone]" in output
    assert row(session_factory, ids[0]).slack_ts == "console-1"


def test_local_server_speaks_the_web_api(slack) -> None:
    client = client_for(slack.base_url)
    assert client.auth_test()["team"] == "uproar-local"
    posted = client.chat_postMessage(channel="#uproar-alerts", text="hello")
    assert posted["channel"] == slack.messages[0]["channel"]
    updated = client.chat_update(channel=posted["channel"], ts=posted["ts"], text="edited")
    assert updated["ok"] and slack.messages[0]["text"] == "edited"
    names = [c["name"] for c in client.conversations_list()["channels"]]
    assert names == ["uproar-alerts"]
    # Form-encoded calls are understood too, and a missing token is refused like Slack does.
    request = urllib.request.Request(
        f"{slack.base_url}chat.postMessage", data=b"channel=%23x&text=hi", method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert json.load(answer) == {"ok": False, "error": "not_authed"}
    assert slack.calls[-1].body == {"channel": "#x", "text": "hi"}
    assert [c.method for c in slack.calls] == [
        "auth.test",
        "chat.postMessage",
        "chat.update",
        "conversations.list",
        "chat.postMessage",
    ]
