"""Block Kit for complaints: the alert (the thread's parent) and the replies in its thread.

Pure functions of values. Every piece of post data is masked (storage.privacy) and
mrkdwn-escaped, so post text can never ping ``<!channel>``, forge a link or leak a phone
number. The alert shows the complaint's *current* state and owner and the buttons that fit
it; the interactivity endpoint (alerts.slack_app) reads the buttons' ``action_id`` and the
complaint id in ``value``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from alerts.config import Responder
from storage.models import Complaint, Post
from storage.privacy import mask_personal_data

MAX_POST_CHARS = 600
MAX_HEADER_CHARS = 150
MAX_REPLY_CHARS = 2_000

ACTIONS_BLOCK_ID = "complaint_actions"
CLAIM = "uproar_claim"
TAKE_OVER = "uproar_take_over"
RESOLVE = "uproar_resolve"
DISMISS = "uproar_dismiss"
ACTION_IDS = (CLAIM, TAKE_OVER, RESOLVE, DISMISS)

FINAL_STATUSES = frozenset({"resolved", "dismissed"})
OWNED_STATUSES = frozenset({"claimed", "responded", "waiting"})
STATUS_LABELS = {
    "open": "Open",
    "claimed": "Claimed",
    "responded": "Responded",
    "waiting": "Waiting on customer",
    "resolved": "Resolved",
    "dismissed": "Not an issue",
}
# Events worth the whole channel's eyes as well as the thread's (reply_broadcast).
BROADCAST_EVENTS = frozenset({"escalated", "deadline_missed", "reopened"})


@dataclass(frozen=True)
class AlertContext:
    """What the alert shows beyond the complaint row: who to mention, how many posts were
    grouped into it, how fast its reach grows (reach/hour, None when unknown)."""

    on_duty: Responder | None = None
    owner: Responder | None = None
    grouped_posts: int = 0
    growth_per_hour: float | None = None


def escape(text: str) -> str:
    """Slack mrkdwn escaping, so post text can never ping ``<!channel>`` or forge links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def slack_time(moment: datetime) -> str:
    """A Slack date token (shown in each reader's zone) with a UTC fallback."""
    moment = moment.astimezone(UTC)
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def mention(responder: Responder | None) -> str:
    if responder is None:
        return "nobody on duty"
    if responder.slack_id:
        return f"<@{responder.slack_id}>"
    return escape(responder.name)


_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")


def mention_target(target: str | None) -> str:
    """A contract ``mention`` (a user id, a channel id or ``#name``) as mrkdwn."""
    if not target:
        return ""
    target = target.strip()
    if target.startswith("<") and target.endswith(">"):
        return target if re.fullmatch(r"<[@#!][A-Za-z0-9^|_-]+>", target) else escape(target)
    if _USER_ID.match(target):
        return f"<@{target}>"
    if _CHANNEL_ID.match(target):
        return f"<#{target}>"
    if target in {"here", "channel"}:
        return f"<!{target}>"
    return escape(target)


def _link(url: str | None) -> str | None:
    if not url or not url.startswith(("http://", "https://")):
        return None
    safe = mask_personal_data(url).replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
    return f"<{safe}|Open the post>"


def _button(
    text: str, action_id: str, complaint_id: int, style: str | None = None
) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "action_id": action_id,
        "value": str(complaint_id),
    }
    if style:
        button["style"] = style
    return button


def _confirm(title: str, text: str, confirm: str) -> dict[str, Any]:
    return {
        "title": {"type": "plain_text", "text": title},
        "text": {"type": "mrkdwn", "text": text},
        "confirm": {"type": "plain_text", "text": confirm},
        "deny": {"type": "plain_text", "text": "Cancel"},
    }


def take_over_button(complaint_id: int, owner: str) -> dict[str, Any]:
    """The explicit take-over: a button with a confirmation naming the current owner."""
    button = _button("Take over", TAKE_OVER, complaint_id, "danger")
    button["confirm"] = _confirm(
        "Take over this complaint?",
        f"It is owned by {owner}. Taking over makes you the owner and tells them in the thread.",
        "Take over",
    )
    return button


def action_buttons(complaint: Complaint, owner: str | None = None) -> list[dict[str, Any]]:
    """Buttons that fit the complaint's status: Claim while open, Take over once someone
    owns it, Resolve and Not an issue until it is closed; none after."""
    if complaint.status in FINAL_STATUSES:
        return []
    buttons: list[dict[str, Any]] = []
    if complaint.status == "open" or not complaint.owner:
        buttons.append(_button("Claim", CLAIM, complaint.id, "primary"))
    else:
        buttons.append(take_over_button(complaint.id, owner or escape(complaint.owner)))
    buttons.append(_button("Resolve", RESOLVE, complaint.id))
    dismiss = _button("Not an issue", DISMISS, complaint.id)
    dismiss["confirm"] = _confirm(
        "Not an issue?", "The complaint is closed as not needing an answer.", "Not an issue"
    )
    buttons.append(dismiss)
    return buttons


def status_line(complaint: Complaint, context: AlertContext) -> str:
    """``*Claimed* by <@U…> since …`` — the state and owner the alert keeps current."""
    label = STATUS_LABELS.get(complaint.status, escape(complaint.status))
    owner = mention(context.owner) if context.owner else escape(complaint.owner or "")
    if complaint.status == "open":
        return f"*{label}*: nobody has claimed it · on duty {mention(context.on_duty)}"
    if complaint.status == "resolved":
        when = f" at {slack_time(complaint.resolved_at)}" if complaint.resolved_at else ""
        return f"*{label}* by {owner or 'someone'}{when}"
    if complaint.status == "dismissed":
        when = f" at {slack_time(complaint.dismissed_at)}" if complaint.dismissed_at else ""
        return f"*{label}* (dismissed by {owner or 'someone'}{when})"
    since = f" since {slack_time(complaint.claimed_at)}" if complaint.claimed_at else ""
    return f"*{label}* · owner {owner or 'nobody'}{since}"


def _reach(complaint: Complaint, growth_per_hour: float | None) -> str:
    text = f"*Reach*\n~{complaint.reach:,} people"
    if growth_per_hour:
        text += f" ({growth_per_hour:+,.0f}/h)"
    return text


def complaint_message(
    complaint: Complaint,
    post: Post,
    responder: Responder | None,
    context: AlertContext | None = None,
) -> dict[str, Any]:
    """The Block Kit alert for ``complaint`` as it stands now; ``responder`` is on duty."""
    context = context or AlertContext()
    if context.on_duty is None and responder is not None:
        context = AlertContext(
            responder, context.owner, context.grouped_posts, context.growth_per_hour
        )
    body = mask_personal_data(" ".join(filter(None, [post.title, post.text])))
    snippet = truncate(body, MAX_POST_CHARS)
    author = mask_personal_data(post.author or "unknown author")
    followers = f"{post.author_followers:,}" if post.author_followers is not None else "unknown"
    where = complaint.watch or post.source
    header = truncate(f"{complaint.priority} complaint #{complaint.id} · {where}", MAX_HEADER_CHARS)
    on_duty = mention(context.on_duty)
    growth = context.growth_per_hour
    if growth is None:
        growth = getattr(complaint, "reach_growth_per_hour", None)

    fields = [
        f"*Author*\n{escape(author)} ({followers} followers)",
        _reach(complaint, growth),
        f"*Negativity*\n{complaint.negativity:.0%}",
        f"*Source*\n{escape(post.source)} ({escape(post.platform)})",
    ]
    if complaint.category:
        fields.append(f"*Category*\n{escape(complaint.category)}")
    fields.append(f"*Priority*\n{escape(complaint.priority)}")
    fields.append(f"*On duty*\n{on_duty}")

    quoted = "\n".join(f">{line}" for line in escape(snippet).splitlines() or [""])
    link = _link(post.url)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": quoted}},
    ]
    if link:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": link}})
    blocks.append({"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]})
    notes = []
    if complaint.kind == "spike":
        notes.append("Spike: many people complaining at once")
    if complaint.repeat_of_id:
        notes.append(f"Repeat: this author complained before (#{complaint.repeat_of_id})")
    if context.grouped_posts:
        plural = "s" if context.grouped_posts != 1 else ""
        notes.append(f"Grouped: {context.grouped_posts} more post{plural} about the same story")
    if notes:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(notes)}]}
        )
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": (
                        f"Acknowledge by {slack_time(complaint.ack_due_at)} · "
                        f"respond by {slack_time(complaint.response_due_at)} · "
                        f"resolve by {slack_time(complaint.resolution_due_at)}"
                    ),
                }
            ],
        }
    )
    blocks.append(
        {"type": "section", "text": {"type": "mrkdwn", "text": status_line(complaint, context)}}
    )
    owner_text = mention(context.owner) if context.owner else escape(complaint.owner or "")
    buttons = action_buttons(complaint, owner_text or None)
    if buttons:
        blocks.append({"type": "actions", "block_id": ACTIONS_BLOCK_ID, "elements": buttons})
    state = "" if complaint.status == "open" else f" [{STATUS_LABELS.get(complaint.status)}]"
    text = (
        f"{complaint.priority} complaint #{complaint.id} ({where}){state}, "
        f"reach ~{complaint.reach:,}, on duty {on_duty}: {escape(truncate(body, 140))}"
    )
    return {"text": text, "blocks": blocks}


def event_reply(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A ``complaint_event`` notification (CONTRACTS.md) as the reply posted in the thread."""
    summary = mask_personal_data(str(payload.get("text") or payload.get("event") or "update"))
    summary = truncate(summary, MAX_REPLY_CHARS)
    who = mention_target(payload.get("mention"))
    line = f"{who} {escape(summary)}".strip()
    return {
        "text": line,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": line}}],
    }


def message_digest(message: Mapping[str, Any]) -> str:
    """A stable fingerprint of a rendered message: the parent is re-sent with chat.update
    only when what it would show has changed."""
    canonical = json.dumps(message, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
