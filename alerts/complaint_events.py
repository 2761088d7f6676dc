"""The audit trail of a complaint and its Slack thread: one event, one notification.

:func:`record_event` writes a :class:`~storage.models.ComplaintEvent` (actor, time, detail)
and the ``complaint_event`` :class:`~storage.models.Notification` that Slack posts as a
reply in the thread of the complaint's opening alert, in the caller's transaction. The
notification's unique ``key`` (``complaint:{id}:{event}:{event_id}`` unless the caller
gives its own, such as ``complaint:{id}:escalation:{step}:{round}``) is what makes a re-run
send nothing twice. Its ``text`` is one plain line with personal data masked; strings in
``detail`` are masked in the payload too (the database keeps them as written).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.complaint_states import met
from alerts.config import format_duration
from storage.models import Complaint, ComplaintEvent, Notification
from storage.privacy import mask_personal_data

EVENT_KIND = "complaint_event"
OPENED_KIND = "complaint_opened"
MAX_TEXT_CHARS = 300


def record_event(
    session: Session,
    complaint: Complaint,
    event: str,
    actor: str,
    now: datetime,
    detail: dict[str, Any],
    summary: str,
    *,
    mention: str | None = None,
    key: str | None = None,
) -> ComplaintEvent:
    """Write the audit event ``event`` and its thread notification; flushes, never commits.

    ``summary`` is the line after ``#<id>`` in Slack ("claimed by ana, acknowledged in
    time"); ``mention`` a Slack user id or channel to ping, or None.
    """
    row = ComplaintEvent(
        complaint_id=complaint.id, actor=actor, action=event, at=now, detail=detail
    )
    session.add(row)
    session.flush()
    text = mask_personal_data(f"#{complaint.id} {summary}")
    if len(text) > MAX_TEXT_CHARS:
        text = text[: MAX_TEXT_CHARS - 1].rstrip() + "…"
    session.add(
        Notification(
            key=key or f"complaint:{complaint.id}:{event}:{row.id}",
            complaint_id=complaint.id,
            kind=EVENT_KIND,
            channel=thread_channel(session, complaint.id),
            payload={
                "complaint_id": complaint.id,
                "event": event,
                "actor": actor,
                "at": iso(now),
                "detail": _masked(detail),
                "text": text,
                "mention": mention,
                "status": complaint.status,
                "owner": complaint.owner,
            },
            status="pending",
            attempts=0,
            created_at=now,
        )
    )
    session.flush()
    return row


def thread_channel(session: Session, complaint_id: int) -> str | None:
    """The channel of the complaint's opening alert, whose thread the event joins (None:
    the sender's default channel)."""
    return session.execute(
        select(Notification.channel)
        .where(Notification.complaint_id == complaint_id, Notification.kind == OPENED_KIND)
        .order_by(Notification.id)
        .limit(1)
    ).scalar_one_or_none()


def _masked(detail: dict[str, Any]) -> dict[str, Any]:
    return {k: mask_personal_data(v) if isinstance(v, str) else v for k, v in detail.items()}


# ---------------------------------------------------------------- wording of summaries


def iso(moment: datetime) -> str:
    return moment.isoformat()


def clock(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def duration(span: timedelta) -> str:
    return format_duration(timedelta(seconds=max(int(span.total_seconds()), 0)))


def verdict(done_at: datetime, due_at: datetime) -> str:
    """ "in time" or "12m late"."""
    if met(done_at, due_at):
        return "in time"
    return f"{duration(done_at - due_at)} late"


def with_note(summary: str, note: str | None) -> str:
    """``summary: note`` with the note on one line, or just ``summary``."""
    return f"{summary}: {' '.join(note.split())}" if note and note.strip() else summary
