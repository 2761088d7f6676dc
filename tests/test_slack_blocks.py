"""The alert's Block Kit, pure: state, owner, buttons per status, grouped / repeat / growth
information, event replies, and Slack's own limits."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from alerts.config import Responder
from alerts.slack import payload_as_text
from alerts.slack_blocks import (
    ACTIONS_BLOCK_ID,
    CLAIM,
    DISMISS,
    RESOLVE,
    TAKE_OVER,
    AlertContext,
    complaint_message,
    event_reply,
    mention_target,
    message_digest,
)
from tests.test_alerts_slack import ANA, OPENED, make

BEN = Responder(name="ben", slack_id="U02BEN")


def actions(message: dict) -> list[dict]:
    found = [block for block in message["blocks"] if block["type"] == "actions"]
    assert len(found) <= 1
    return found[0]["elements"] if found else []


def everything(message: dict) -> str:
    return json.dumps(message, ensure_ascii=False)


def test_an_open_alert_offers_claim_resolve_and_not_an_issue() -> None:
    complaint, post = make()
    message = complaint_message(complaint, post, ANA)
    buttons = actions(message)
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        (CLAIM, "42"),
        (RESOLVE, "42"),
        (DISMISS, "42"),
    ]
    assert [b["text"]["text"] for b in buttons] == ["Claim", "Resolve", "Not an issue"]
    assert buttons[0]["style"] == "primary" and "confirm" in buttons[2]
    block = next(b for b in message["blocks"] if b["type"] == "actions")
    assert block["block_id"] == ACTIONS_BLOCK_ID
    text = everything(message)
    assert "*Open*: nobody has claimed it · on duty <@U01ANA>" in text
    for expected in ("*Priority*\\nP1", "*Source*\\nreddit (reddit)", "Resolve by".lower()):
        assert expected in text


def test_a_claimed_alert_names_the_owner_and_offers_a_confirmed_take_over() -> None:
    complaint, post = make()
    complaint.status, complaint.owner = "claimed", "ben"
    complaint.claimed_at = OPENED + timedelta(minutes=3)
    message = complaint_message(complaint, post, ANA, AlertContext(on_duty=ANA, owner=BEN))
    text = everything(message)
    assert "*Claimed* · owner <@U02BEN> since <!date^" in text
    buttons = actions(message)
    assert [b["action_id"] for b in buttons] == [TAKE_OVER, RESOLVE, DISMISS]
    confirm = buttons[0]["confirm"]
    assert "owned by <@U02BEN>" in confirm["text"]["text"]
    assert message["text"].startswith("P1 complaint #42 (acme) [Claimed], reach ~61,725")


@pytest.mark.parametrize(
    ("status", "label"),
    [("waiting", "*Waiting on customer* · owner"), ("responded", "*Responded* · owner")],
)
def test_work_in_progress_keeps_the_buttons(status: str, label: str) -> None:
    complaint, post = make()
    complaint.status, complaint.owner = status, "ana"
    message = complaint_message(complaint, post, ANA, AlertContext(owner=ANA))
    assert label in everything(message)
    assert [b["action_id"] for b in actions(message)] == [TAKE_OVER, RESOLVE, DISMISS]


@pytest.mark.parametrize(
    ("status", "field", "label"),
    [("resolved", "resolved_at", "*Resolved* by"), ("dismissed", "dismissed_at", "*Not an issue*")],
)
def test_a_closed_alert_has_no_buttons(status: str, field: str, label: str) -> None:
    complaint, post = make()
    complaint.status, complaint.owner = status, "ana"
    setattr(complaint, field, OPENED + timedelta(hours=2))
    message = complaint_message(complaint, post, ANA, AlertContext(owner=ANA))
    assert actions(message) == []
    assert label in everything(message) and "<@U01ANA>" in everything(message)


def test_grouped_repeat_spike_and_growth_are_shown() -> None:
    complaint, post = make()
    complaint.repeat_of_id, complaint.kind = 17, "spike"
    context = AlertContext(on_duty=ANA, grouped_posts=3, growth_per_hour=4_200.0)
    text = payload_as_text(complaint_message(complaint, post, ANA, context))
    assert "Reach: ~61,725 people (+4,200/h)" in text
    assert "Repeat: this author complained before (#17)" in text
    assert "Grouped: 3 more posts about the same story" in text
    assert "Spike: many people complaining at once" in text
    assert "[Claim] [Resolve] [Not an issue]" in text
    plain = payload_as_text(complaint_message(*make(), ANA))
    assert "Repeat" not in plain and "Grouped" not in plain and "/h)" not in plain


def test_slack_limits_hold_for_a_long_masked_post() -> None:
    complaint, post = make("x" * 5_000 + " 4111 1111 1111 1111", author="a@b.example")
    complaint.watch = "w" * 300
    message = complaint_message(complaint, post, ANA, AlertContext(grouped_posts=1))
    assert len(message["blocks"]) <= 50
    for block in message["blocks"]:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "section":
            assert len(block.get("text", {}).get("text", "")) <= 3000
            assert len(block.get("fields", [])) <= 10
    assert "4111" not in everything(message) and "a@b.example" not in everything(message)


def test_event_replies_mention_and_mask() -> None:
    reply = event_reply(
        {"event": "reminder", "text": "#42 respond by 13:00; mail a@b.example", "mention": "U01ANA"}
    )
    assert reply["text"] == "<@U01ANA> #42 respond by 13:00; mail [email]"
    assert reply["blocks"][0]["text"]["text"] == reply["text"]
    assert event_reply({"event": "reach_grew"})["text"] == "reach_grew"


@pytest.mark.parametrize(
    ("target", "shown"),
    [
        ("U01ANA", "<@U01ANA>"),
        ("C0PRLEAD", "<#C0PRLEAD>"),
        ("<@U01ANA>", "<@U01ANA>"),
        ("#pr-leads", "#pr-leads"),
        ("here", "<!here>"),
        ("<https://evil.example|x>", "&lt;https://evil.example|x&gt;"),
        (None, ""),
    ],
)
def test_mention_targets(target: str | None, shown: str) -> None:
    assert mention_target(target) == shown


def test_the_digest_changes_exactly_when_the_alert_would() -> None:
    complaint, post = make()
    before = message_digest(complaint_message(complaint, post, ANA))
    assert message_digest(complaint_message(complaint, post, ANA)) == before
    complaint.status, complaint.owner = "claimed", "ana"
    assert message_digest(complaint_message(complaint, post, ANA)) != before
