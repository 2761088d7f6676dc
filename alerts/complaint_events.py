"""Writing a complaint's later events: the audit row and its ``complaint_event``
notification (CONTRACTS.md), in the caller's transaction. Nothing here commits.

The notification key is ``complaint:{id}:{event}:{event_id}``: unique and deterministic,
so the outbox sends each event once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.config import DEFAULT_CHANNEL, RotaSettings
from storage.models import Complaint, ComplaintEvent, Notification
from storage.privacy import mask_personal_data

EVENT_KIND = "complaint_event"
SYSTEM_ACTOR = "uproar"  # the actor of what triage and escalation do by themselves
OPENED_KIND = "complaint_opened"


def slack_id(rota: RotaSettings, name: str | None) -> str | None:
    """The Slack id of the rota member called ``name``; None when there is no such member
    or they have no Slack id."""
    if not name:
        return None
    try:
        return rota.responder(name).slack_id or None
    except KeyError:
        return None


def slack_mention(rota: RotaSettings, complaint: Complaint) -> str | None:
    """The Slack id of the complaint's owner, else of the responder on duty when it
    opened; None when neither is on the rota with a Slack id."""
    return slack_id(rota, complaint.owner) or slack_id(rota, complaint.on_duty)


def thread_channel(session: Session, complaint_id: int) -> str:
    """The channel of the complaint's opening alert, whose thread later events join."""
    channel = session.execute(
        select(Notification.channel)
        .where(Notification.complaint_id == complaint_id, Notification.kind == OPENED_KIND)
        .order_by(Notification.id)
        .limit(1)
    ).scalar_one_or_none()
    return channel or DEFAULT_CHANNEL


def record_event(
    session: Session,
    complaint: Complaint,
    event: str,
    actor: str,
    now: datetime,
    detail: dict[str, Any],
    text: str,
    *,
    mention: str | None = None,
    channel: str | None = None,
    notify: bool = True,
    key: str | None = None,
) -> ComplaintEvent:
    """Add the audit event and (unless ``notify`` is False) its outbox notification;
    ``text`` is masked here. ``channel`` defaults to the channel of the complaint's opening
    alert (the event is a reply in its thread); ``key`` replaces the default notification
    key when the caller needs its own idempotency key (escalation steps)."""
    row = ComplaintEvent(
        complaint_id=complaint.id, actor=actor, action=event, at=now, detail=detail
    )
    session.add(row)
    session.flush()
    if not notify:
        return row
    session.add(
        Notification(
            key=key or f"complaint:{complaint.id}:{event}:{row.id}",
            complaint_id=complaint.id,
            kind=EVENT_KIND,
            channel=channel or thread_channel(session, complaint.id),
            payload={
                "complaint_id": complaint.id,
                "event": event,
                "actor": actor,
                "at": now.isoformat(),
                "detail": detail,
                "text": mask_personal_data(text),
                "mention": mention,
                # the complaint as it stands after this event, for the alert's chat.update
                "status": complaint.status,
                "owner": complaint.owner,
            },
            status="pending",
            attempts=0,
            created_at=now,
        )
    )
    return row
