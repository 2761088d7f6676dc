"""Rendering a complaint as a Slack Block Kit message (pure, no network)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from alerts.config import Responder
from alerts.slack import MAX_POST_CHARS, complaint_message, payload_as_text
from storage.models import Complaint, Post

OPENED = datetime(2024, 5, 17, 12, 0, tzinfo=UTC)


def make(text: str = "Parcel lost again", **post_fields) -> tuple[Complaint, Post]:
    post = Post(
        id=7,
        source="reddit",
        platform="reddit",
        external_id="abc",
        text=text,
        url="https://reddit.example/r/acme/abc",
        author="angry_customer",
        author_followers=12_345,
        content_hash="x",
    )
    for key, value in post_fields.items():
        setattr(post, key, value)
    complaint = Complaint(
        id=42,
        post_id=7,
        watch="acme",
        status="open",
        priority="P1",
        category="logistics",
        reach=61_725,
        negativity=0.934,
        on_duty="ana",
        opened_at=OPENED,
        ack_due_at=OPENED + timedelta(minutes=15),
        response_due_at=OPENED + timedelta(hours=1),
        resolution_due_at=OPENED + timedelta(hours=24),
    )
    return complaint, post


ANA = Responder(name="ana", slack_id="U01ANA", timezone="Europe/London")


def test_message_has_everything_a_responder_needs() -> None:
    complaint, post = make()
    message = complaint_message(complaint, post, ANA)
    blocks = message["blocks"]
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "P1 complaint #42 · acme", "emoji": True},
    }
    everything = json.dumps(message)
    for expected in (
        "Parcel lost again",
        "<https://reddit.example/r/acme/abc|Open the post>",
        "angry_customer (12,345 followers)",
        "~61,725 people",
        "93%",
        "logistics",
        "<@U01ANA>",
        f"<!date^{int((OPENED + timedelta(minutes=15)).timestamp())}^",
    ):
        assert expected in everything, expected
    assert message["text"].startswith("P1 complaint #42 (acme), reach ~61,725, on duty <@U01ANA>")
    assert all(block["type"] in {"header", "section", "context", "actions"} for block in blocks)


def test_post_text_is_masked_escaped_and_truncated() -> None:
    long_text = "<!channel> refund please, call 13800138000 " + "very bad " * 200
    complaint, post = make(long_text, author="me@example.com")
    message = complaint_message(complaint, post, None)
    everything = json.dumps(message, ensure_ascii=False)
    assert "13800138000" not in everything and "me@example.com" not in everything
    assert "<!channel>" not in everything and "&lt;!channel&gt;" in everything
    quoted = message["blocks"][1]["text"]["text"]
    assert quoted.startswith(">&lt;!channel&gt; refund please, call [phone]")
    assert len(quoted) <= MAX_POST_CHARS + 40 and quoted.endswith("…")
    assert "nobody on duty" in message["text"]


def test_responder_without_slack_id_and_missing_fields() -> None:
    complaint, post = make(url=None, author=None, author_followers=None)
    complaint.category = None
    complaint.watch = None
    message = complaint_message(complaint, post, Responder(name="lead"))
    text = payload_as_text(message)
    assert "P1 complaint #42 · reddit" in text
    assert "unknown author (unknown followers)" in text
    assert "Open the post" not in text and "Category" not in text
    assert "On duty: lead" in text
