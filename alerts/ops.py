"""Operations alerts: a source is broken, a source recovered.

These go through the same outbox as complaints (:mod:`alerts.outbox`), to the operations
channel, with no complaint attached. The messages are pure Block Kit renderings of a
source's health (anything shaped like :class:`SourceHealthView`; the crawlers' health
rules produce one), with error text masked for personal data and
escaped, since crawl errors quote URLs and server answers. :func:`enqueue_source_alert`
writes the outbox row in the caller's transaction under a key that makes a second write
of the same alert a no-op.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alerts.config import format_duration
from alerts.slack import escape, slack_time, truncate
from storage.models import Notification
from storage.privacy import mask_personal_data

BROKEN_KIND = "source_broken"
RECOVERED_KIND = "source_recovered"
MAX_HEADER_CHARS = 150
MAX_ERROR_CHARS = 600
MAX_FALLBACK_ERROR_CHARS = 200

Transition = Literal["broken", "recovered"]


class SourceHealthView(Protocol):
    """What an operations alert says about a source (alerts does not import crawlers)."""

    @property
    def source(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def consecutive_failures(self) -> int: ...
    @property
    def last_error(self) -> str | None: ...
    @property
    def last_success_at(self) -> datetime | None: ...
    @property
    def last_new_post_at(self) -> datetime | None: ...
    @property
    def usual_gap(self) -> timedelta | None: ...
    @property
    def broken_alerted_at(self) -> datetime | None: ...


def first_line(text: str | None) -> str:
    """The first non-empty line of an error (crawl errors are joined with newlines)."""
    return next((line.strip() for line in (text or "").splitlines() if line.strip()), "")


def _clean(text: str, limit: int) -> str:
    """Masked, one line, cut to ``limit`` and escaped for mrkdwn."""
    return escape(truncate(mask_personal_data(text), limit))


def _time_or(value: datetime | None, missing: str) -> str:
    return slack_time(value) if value is not None else missing


def _fields(health: SourceHealthView) -> list[dict[str, str]]:
    gap = format_duration(health.usual_gap) if health.usual_gap else "unknown"
    fields = [
        f"*Status*\n{escape(health.status)}",
        f"*Failed runs in a row*\n{health.consecutive_failures}",
        f"*Last success*\n{_time_or(health.last_success_at, 'never')}",
        f"*Last new post*\n{_time_or(health.last_new_post_at, 'none stored')}",
        f"*Usual gap between posts*\n{gap}",
    ]
    return [{"type": "mrkdwn", "text": text} for text in fields]


def _header(text: str) -> dict[str, Any]:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": truncate(text, MAX_HEADER_CHARS), "emoji": True},
    }


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def source_broken_message(health: SourceHealthView, now: datetime) -> dict[str, Any]:
    """Block Kit for "source broken: <name>": the reason, the last error, the numbers."""
    name = escape(health.source)
    reason = _clean(health.reason, MAX_ERROR_CHARS)
    error = first_line(health.last_error)
    blocks: list[dict[str, Any]] = [
        _header(f"Source broken: {health.source}"),
        {"type": "section", "text": {"type": "mrkdwn", "text": reason}},
    ]
    if error:
        quoted = _clean(health.last_error or "", MAX_ERROR_CHARS)
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*Last error*\n>{quoted}"}}
        )
    blocks.append({"type": "section", "fields": _fields(health)})
    blocks.append(
        _context(
            f"Checked {slack_time(now)} · new posts from this source are missed until it works "
            "again · `uproar sources status` shows every source"
        )
    )
    text = f"source broken: {name} — {_clean(health.reason, MAX_FALLBACK_ERROR_CHARS)}"
    if error:
        text += f" · last error: {_clean(error, MAX_FALLBACK_ERROR_CHARS)}"
    return {"text": text, "blocks": blocks}


def source_recovered_message(health: SourceHealthView, now: datetime) -> dict[str, Any]:
    """Block Kit for "source recovered: <name>", saying how long after the broken alert."""
    name = escape(health.source)
    since = health.broken_alerted_at
    ago = f" ({format_duration(now - since)} after the broken alert)" if since else ""
    reason = _clean(health.reason, MAX_ERROR_CHARS)
    blocks: list[dict[str, Any]] = [
        _header(f"Source recovered: {health.source}"),
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*{name}* works again{ago}.\n{reason}"},
        },
        {"type": "section", "fields": _fields(health)},
        _context(
            f"Checked {slack_time(now)}"
            + (f" · broken alert sent {slack_time(since)}" if since else "")
        ),
    ]
    text = f"source recovered: {name} works again{ago} — {_clean(health.reason, 200)}"
    return {"text": text, "blocks": blocks}


def _broken_alerts_so_far(session: Session, source: str) -> int:
    prefix = f"source:{source}:broken:"
    query = (
        select(func.count())
        .select_from(Notification)
        .where(
            Notification.kind == BROKEN_KIND, Notification.key.startswith(prefix, autoescape=True)
        )
    )
    return int(session.execute(query).scalar_one())


def enqueue_source_alert(
    session: Session,
    health: SourceHealthView,
    transition: Transition,
    channel: str,
    now: datetime,
) -> Notification | None:
    """Write the outbox row for ``transition`` of ``health.source``; the caller commits.

    The key numbers the source's broken episodes: "source:<name>:broken:<n>" opens the
    n-th, "source:<name>:recovered:<n>" closes it. Two runs that see the same state build
    the same key, so the unique key stops the second (None is returned, the rest of the
    caller's transaction is kept).
    """
    episodes = _broken_alerts_so_far(session, health.source)
    if transition == "broken":
        key = f"source:{health.source}:broken:{episodes + 1}"
        kind, payload = BROKEN_KIND, source_broken_message(health, now)
    else:
        key = f"source:{health.source}:recovered:{max(episodes, 1)}"
        kind, payload = RECOVERED_KIND, source_recovered_message(health, now)
    notification = Notification(
        key=key,
        complaint_id=None,
        kind=kind,
        channel=channel,
        payload=payload,
        status="pending",
        attempts=0,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(notification)
            session.flush()
    except IntegrityError:
        return None  # another run enqueued this alert first
    return notification
