"""Slack senders: the I/O edge the outbox calls to post, thread and update messages.

:class:`SlackSender` talks through an injected ``slack_sdk.WebClient``; :class:`ConsoleSender`
prints. Both mask personal data once more just before a message leaves, so nothing unmasked
can slip out even if a payload was built elsewhere. Rendering lives in alerts.slack_blocks
(re-exported here).

Each posted message carries its notification key in Slack message metadata. After an
attempt whose fate is unknown (a timeout, a 5xx, a crash before the outbox could record the
answer) the sender first looks for that key in the channel history (or the thread) and
only posts when it is not there, so a message is never posted twice. 429 waits out
Retry-After; 5xx, timeouts and connection errors are retried with exponential backoff
(tenacity); a longer wait goes back to the outbox, which keeps the row pending.
"""

from __future__ import annotations

import itertools
import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol, TextIO, TypeVar
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from alerts.config import SlackSettings
from alerts.slack_blocks import (  # re-exported: the rendering moved there
    MAX_HEADER_CHARS,
    MAX_POST_CHARS,
    complaint_message,
    escape,
    mention,
    slack_time,
    truncate,
)
from alerts.slack_text import mask_payload, payload_as_text, plain_text  # re-exported

__all__ = [
    "MAX_HEADER_CHARS",
    "MAX_POST_CHARS",
    "ConsoleSender",
    "DeliveryError",
    "OutgoingMessage",
    "RetryPolicy",
    "Sender",
    "SentMessage",
    "SlackSender",
    "complaint_message",
    "escape",
    "make_slack_client",
    "mask_payload",
    "mention",
    "payload_as_text",
    "plain_text",
    "slack_time",
    "truncate",
]

DEFAULT_RETRY_AFTER_SECONDS = 60.0
METADATA_EVENT = "uproar_notification"
HISTORY_PAGE = 200
HISTORY_PAGES = 10
# ok:false errors Slack documents as transient.
TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
T = TypeVar("T")


class DeliveryError(Exception):
    """A message could not be delivered. ``retry_after`` is the wait the receiver asked
    for; ``retryable`` says trying again may help; ``ambiguous`` that the receiver may
    have accepted the message anyway (so the next try must look before posting)."""

    def __init__(
        self,
        message: str,
        retry_after: float | None = None,
        *,
        retryable: bool = False,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.retryable = retryable or retry_after is not None
        self.ambiguous = ambiguous


@dataclass(frozen=True)
class OutgoingMessage:
    """One message to post. ``key`` (the notification key) goes into the message metadata
    so the message can be found again; ``check_first``: an earlier attempt may have been
    accepted, look for ``key`` (in messages since ``since``) before posting."""

    key: str
    kind: str
    channel: str
    payload: Mapping[str, Any]
    thread_ts: str | None = None
    broadcast: bool = False
    check_first: bool = False
    since: datetime | None = None


@dataclass(frozen=True)
class SentMessage:
    """Where a message landed: channel id and ts (Slack's message id)."""

    channel: str
    ts: str


class Sender(Protocol):
    """Posts messages (``send``) and rewrites posted ones (``update``)."""

    @property
    def destination(self) -> str: ...

    def send(self, message: OutgoingMessage) -> SentMessage: ...

    def update(self, channel: str, ts: str, payload: Mapping[str, Any]) -> None: ...


# ---------------------------------------------------------------- senders (I/O)


def make_slack_client(settings: SlackSettings, environ: Mapping[str, str]) -> WebClient:
    """A WebClient with a short timeout and *no* built-in retries: :class:`SlackSender`
    retries itself, looking before re-posting, so the SDK must not retry behind its back."""
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
    if status is not None and status >= 500:
        return DeliveryError(
            f"Slack answered {status} for {method}", retryable=True, ambiguous=True
        )
    if status != 200:
        return DeliveryError(f"Slack answered {status} for {method}")
    error = response.get("error", "unknown error") if isinstance(response.data, dict) else "?"
    transient = error in TRANSIENT_ERRORS
    return DeliveryError(
        f"Slack refused {method}: {error}", retryable=transient, ambiguous=transient
    )


def _seconds(value: Any) -> float:
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(float(value), 1.0)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_SECONDS


@dataclass(frozen=True)
class RetryPolicy:
    """Inline retries of one delivery: ``attempts`` tries, waits doubling from
    ``base_seconds`` up to ``max_seconds``; a Retry-After up to ``max_retry_after`` is
    waited out here, a longer one is handed back to the outbox."""

    attempts: int = 3
    base_seconds: float = 1.0
    max_seconds: float = 8.0
    max_retry_after: float = 30.0

    def wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, DeliveryError) and error.retry_after is not None:
            return error.retry_after
        return min(self.base_seconds * 2 ** (state.attempt_number - 1), self.max_seconds)

    def should_retry(self, error: BaseException) -> bool:
        if not isinstance(error, DeliveryError) or not error.retryable:
            return False
        return error.retry_after is None or error.retry_after <= self.max_retry_after


class SlackSender:
    """Posts, threads and updates messages through ``client``; ``sleep`` is injectable so
    tests can see the waits without waiting."""

    def __init__(
        self,
        client: WebClient,
        channel: str,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.channel = channel
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self._channel_ids: dict[str, str] = {}

    @property
    def destination(self) -> str:
        return f"slack {self.channel}"

    def _retrying(self) -> Retrying:
        return Retrying(
            stop=stop_after_attempt(max(self.retry.attempts, 1)),
            wait=self.retry.wait,
            retry=retry_if_exception(self.retry.should_retry),
            sleep=self.sleep,
            reraise=True,
        )

    def _call(self, method: str, call: Callable[[], T]) -> T:
        """One Web API call, its failures turned into :class:`DeliveryError`."""
        base_url = self.client.base_url
        try:
            return call()
        except SlackApiError as exc:
            raise _api_error(exc) from exc
        except TimeoutError as exc:
            raise DeliveryError(
                f"Slack at {base_url} did not answer {method} within {self.client.timeout} s",
                retryable=True,
                ambiguous=True,
            ) from exc
        except URLError as exc:
            reason = exc.reason
            refused = isinstance(reason, ConnectionRefusedError)
            if isinstance(reason, TimeoutError):
                what = f"timed out after {self.client.timeout} s"
            elif refused:
                what = "connection refused"
            else:
                what = str(reason)
            raise DeliveryError(
                f"could not reach Slack at {base_url}: {what}",
                retryable=True,
                ambiguous=not refused,
            ) from exc
        except OSError as exc:
            raise DeliveryError(
                f"could not reach Slack at {base_url}: {exc}", retryable=True, ambiguous=True
            ) from exc

    def send(self, message: OutgoingMessage) -> SentMessage:
        payload = mask_payload(dict(message.payload))
        look_first = message.check_first
        channel = message.channel or self.channel

        def attempt() -> SentMessage:
            nonlocal look_first
            if look_first:
                found = self.find(message.key, channel, message.thread_ts, message.since)
                if found is not None:
                    return found
            try:
                return self._post(message, channel, payload)
            except DeliveryError as exc:
                look_first = look_first or exc.ambiguous
                raise

        return self._retrying()(attempt)

    def _post(
        self, message: OutgoingMessage, channel: str, payload: Mapping[str, Any]
    ) -> SentMessage:
        kwargs: dict[str, Any] = {
            "channel": channel,
            "text": payload.get("text", ""),
            "blocks": payload.get("blocks"),
            "unfurl_links": False,
            "unfurl_media": False,
            "metadata": {"event_type": METADATA_EVENT, "event_payload": {"key": message.key}},
        }
        if message.thread_ts:
            kwargs["thread_ts"] = message.thread_ts
            kwargs["reply_broadcast"] = message.broadcast
        response = self._call("chat.postMessage", lambda: self.client.chat_postMessage(**kwargs))
        return SentMessage(channel=str(response.get("channel") or channel), ts=str(response["ts"]))

    def update(self, channel: str, ts: str, payload: Mapping[str, Any]) -> None:
        """chat.update: harmless to repeat, so every retryable failure is retried."""
        masked = mask_payload(dict(payload))
        self._retrying()(
            lambda: self._call(
                "chat.update",
                lambda: self.client.chat_update(
                    channel=channel, ts=ts, text=masked.get("text", ""), blocks=masked.get("blocks")
                ),
            )
        )

    def channel_id(self, channel: str) -> str:
        """Slack's id for ``channel`` (history needs ids; posting accepts names)."""
        if _CHANNEL_ID.match(channel):
            return channel
        name = channel.lstrip("#")
        if name not in self._channel_ids:
            cursor = None
            for _ in range(HISTORY_PAGES):
                page = self._call(
                    "conversations.list",
                    partial(
                        self.client.conversations_list,
                        cursor=cursor,
                        limit=HISTORY_PAGE,
                        types="public_channel,private_channel",
                    ),
                )
                for found in page.get("channels") or []:
                    self._channel_ids[str(found.get("name"))] = str(found.get("id"))
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if name in self._channel_ids or not cursor:
                    break
        if name not in self._channel_ids:
            raise DeliveryError(f"Slack has no channel named #{name} visible to the bot")
        return self._channel_ids[name]

    def find(
        self, key: str, channel: str, thread_ts: str | None, since: datetime | None
    ) -> SentMessage | None:
        """The message already posted for ``key`` (channel history, or the thread of
        ``thread_ts``), or None."""
        channel_id = self.channel_id(channel)
        oldest = f"{(since - timedelta(hours=1)).timestamp():.6f}" if since else None
        cursor = None
        for _ in range(HISTORY_PAGES):
            if thread_ts:
                page = self._call(
                    "conversations.replies",
                    partial(
                        self.client.conversations_replies,
                        channel=channel_id,
                        ts=thread_ts,
                        cursor=cursor,
                        limit=HISTORY_PAGE,
                        include_all_metadata=True,
                    ),
                )
            else:
                page = self._call(
                    "conversations.history",
                    partial(
                        self.client.conversations_history,
                        channel=channel_id,
                        oldest=oldest,
                        cursor=cursor,
                        limit=HISTORY_PAGE,
                        include_all_metadata=True,
                    ),
                )
            for found in page.get("messages") or []:
                metadata = found.get("metadata") or {}
                if (
                    metadata.get("event_type") == METADATA_EVENT
                    and (metadata.get("event_payload") or {}).get("key") == key
                ):
                    return SentMessage(channel=channel_id, ts=str(found["ts"]))
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return None


class ConsoleSender:
    """Prints messages readably, for demos and for running without Slack."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self._counter = itertools.count(1)

    @property
    def destination(self) -> str:
        return "console"

    def send(self, message: OutgoingMessage) -> SentMessage:
        payload = mask_payload(dict(message.payload))
        number = next(self._counter)
        where = message.channel or "console"
        thread = f" · reply to {message.thread_ts}" if message.thread_ts else ""
        title = f"--- {where} · {message.kind}{thread} ---"
        self.stream.write(f"{title}\n{payload_as_text(payload)}\n\n")
        self.stream.flush()
        return SentMessage(channel=where, ts=f"console-{number}")

    def update(self, channel: str, ts: str, payload: Mapping[str, Any]) -> None:
        text = plain_text(str(mask_payload(dict(payload)).get("text", "")))
        self.stream.write(f"--- {channel} · {ts} now reads ---\n{text}\n\n")
        self.stream.flush()
