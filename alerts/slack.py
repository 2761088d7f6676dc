"""Slack messages for complaints, and the senders that deliver outbox notifications.

:func:`complaint_message` is pure: it renders a complaint as Block Kit (``text`` is the
notification fallback). Senders are the I/O edge the outbox calls: :class:`SlackSender`
posts through an injected ``slack_sdk.WebClient``; :class:`ConsoleSender` prints. Both mask
personal data once more just before the message leaves, so nothing unmasked can slip out
even if a payload was built elsewhere.
"""

from __future__ import annotations

import itertools
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol, TextIO
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from alerts.config import Responder, SlackSettings
from storage.models import Complaint, Notification, Post
from storage.privacy import mask_personal_data

MAX_POST_CHARS = 600
MAX_HEADER_CHARS = 150
DEFAULT_RETRY_AFTER_SECONDS = 60.0


class DeliveryError(Exception):
    """A message could not be delivered. ``retry_after`` is the wait the receiver asked for."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Sender(Protocol):
    """Delivers one notification and returns the receiver's message id."""

    @property
    def destination(self) -> str: ...

    def send(self, notification: Notification) -> str: ...


# ---------------------------------------------------------------- rendering (pure)


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


def _link(url: str | None) -> str | None:
    if not url or not url.startswith(("http://", "https://")):
        return None
    safe = mask_personal_data(url).replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
    return f"<{safe}|Open the post>"


def complaint_message(
    complaint: Complaint, post: Post, responder: Responder | None
) -> dict[str, Any]:
    """The Block Kit message announcing ``complaint``; all post data masked and escaped."""
    body = mask_personal_data(" ".join(filter(None, [post.title, post.text])))
    snippet = truncate(body, MAX_POST_CHARS)
    author = mask_personal_data(post.author or "unknown author")
    followers = f"{post.author_followers:,}" if post.author_followers is not None else "unknown"
    where = complaint.watch or post.source
    header = truncate(f"{complaint.priority} complaint #{complaint.id} · {where}", MAX_HEADER_CHARS)
    on_duty = mention(responder)

    fields = [
        f"*Author*\n{escape(author)} ({followers} followers)",
        f"*Reach*\n~{complaint.reach:,} people",
        f"*Negativity*\n{complaint.negativity:.0%}",
        f"*Source*\n{escape(post.source)} ({escape(post.platform)})",
    ]
    if complaint.category:
        fields.append(f"*Category*\n{escape(complaint.category)}")
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
    text = (
        f"{complaint.priority} complaint #{complaint.id} ({where}), reach ~{complaint.reach:,}, "
        f"on duty {on_duty}: {escape(truncate(body, 140))}"
    )
    return {"text": text, "blocks": blocks}


def mask_payload(value: Any) -> Any:
    """``value`` with :func:`mask_personal_data` applied to every string inside it."""
    if isinstance(value, str):
        return mask_personal_data(value)
    if isinstance(value, Mapping):
        return {key: mask_payload(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_payload(item) for item in value]
    return value


_DATE_TOKEN = re.compile(r"<!date\^[^|>]*\|([^>]*)>")
_LINK_TOKEN = re.compile(r"<(https?://[^|>]+)\|([^>]*)>")
_USER_TOKEN = re.compile(r"<@([A-Z0-9]+)>")
_BOLD = re.compile(r"\*([^*\n]+)\*")


def plain_text(mrkdwn: str) -> str:
    """Slack mrkdwn tokens made readable for a terminal: dates, links, mentions, escapes."""
    text = _DATE_TOKEN.sub(r"\1", mrkdwn)
    text = _LINK_TOKEN.sub(r"\2: \1", text)
    text = _USER_TOKEN.sub(r"@\1", text)
    text = _BOLD.sub(r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def payload_as_text(payload: Mapping[str, Any]) -> str:
    """A readable plain-text rendering of a Block Kit payload, for consoles and logs."""
    lines: list[str] = []
    for block in payload.get("blocks") or []:
        kind = block.get("type")
        if kind == "header":
            lines.append(f"== {block['text']['text']} ==")
        elif kind == "section":
            if "text" in block:
                lines.append(block["text"]["text"])
            for field in block.get("fields", []):
                lines.append(field["text"].replace("\n", ": ", 1))
        elif kind == "context":
            lines.extend(element.get("text", "") for element in block.get("elements", []))
    if not lines:
        lines.append(str(payload.get("text", "")))
    return plain_text("\n".join(lines))


# ---------------------------------------------------------------- senders (I/O)


def make_slack_client(settings: SlackSettings, environ: Mapping[str, str]) -> WebClient:
    """A WebClient with a short timeout and *no* built-in retries: the outbox retries,
    with backoff that survives restarts, so the SDK must not retry behind its back."""
    kwargs: dict[str, Any] = {
        "token": settings.token(environ),
        "timeout": settings.timeout_seconds,
        "retry_handlers": [],
    }
    if settings.base_url:
        kwargs["base_url"] = settings.base_url
    return WebClient(**kwargs)


def _api_error(exc: SlackApiError) -> DeliveryError:
    response = exc.response
    method = str(getattr(response, "api_url", "") or "").rstrip("/").rsplit("/", 1)[-1]
    method = method or "the Slack API"
    status = getattr(response, "status_code", None)
    headers = {k.lower(): v for k, v in (getattr(response, "headers", None) or {}).items()}
    if status == 429:
        retry_after = _seconds(headers.get("retry-after"))
        return DeliveryError(
            f"Slack answered 429 (rate limited) for {method}; Retry-After {retry_after:g} s",
            retry_after=retry_after,
        )
    if status != 200:
        return DeliveryError(f"Slack answered {status} for {method}")
    error = response.get("error", "unknown error") if isinstance(response.data, dict) else "?"
    return DeliveryError(f"Slack refused {method}: {error}")


def _seconds(value: Any) -> float:
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(float(value), 1.0)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_SECONDS


class SlackSender:
    """Posts notifications to Slack through ``client`` (``chat.postMessage``)."""

    def __init__(self, client: WebClient, channel: str) -> None:
        self.client = client
        self.channel = channel

    @property
    def destination(self) -> str:
        return f"slack {self.channel}"

    def send(self, notification: Notification) -> str:
        payload = mask_payload(notification.payload)
        channel = notification.channel or self.channel
        base_url = self.client.base_url
        try:
            response = self.client.chat_postMessage(
                channel=channel,
                text=payload.get("text", ""),
                blocks=payload.get("blocks"),
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            raise _api_error(exc) from exc
        except TimeoutError as exc:
            raise DeliveryError(
                f"Slack at {base_url} did not answer chat.postMessage within "
                f"{self.client.timeout} s"
            ) from exc
        except URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                what = f"timed out after {self.client.timeout} s"
            elif isinstance(reason, ConnectionRefusedError):
                what = "connection refused"
            else:
                what = str(reason)
            raise DeliveryError(f"could not reach Slack at {base_url}: {what}") from exc
        except OSError as exc:
            raise DeliveryError(f"could not reach Slack at {base_url}: {exc}") from exc
        return str(response["ts"])


class ConsoleSender:
    """Prints notifications readably, for demos and for running without Slack."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self._counter = itertools.count(1)

    @property
    def destination(self) -> str:
        return "console"

    def send(self, notification: Notification) -> str:
        payload = mask_payload(notification.payload)
        number = next(self._counter)
        title = f"--- {notification.channel or 'console'} · {notification.kind} ---"
        self.stream.write(f"{title}\n{payload_as_text(payload)}\n\n")
        self.stream.flush()
        return f"console-{number}"
