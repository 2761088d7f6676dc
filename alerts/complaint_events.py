"""Writing a complaint's later events: the audit row and its ``complaint_event``
notification (CONTRACTS.md), in the caller's transaction. Nothing here commits.

The notification key is ``complaint:{id}:{event}:{event_id}``: unique and deterministic,
so the outbox sends each event once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from alerts.config import DEFAULT_CHANNEL, RotaSettings
from storage.models import Complaint, ComplaintEvent, Notification
from storage.privacy import mask_personal_data

EVENT_KIND = "complaint_event"


def slack_mention(rota: RotaSettings, complaint: Complaint) -> str | None:
    """The Slack id of the complaint's owner, else of the responder on duty when it
    opened; None when neither is on the rota with a Slack id."""
    for name in (complaint.owner, complaint.on_duty):
        if not name:
            continue
        try:
            responder = rota.responder(name)
        except KeyError:
            continue
        if responder.slack_id:
            return responder.slack_id
    return None


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
    channel: str = DEFAULT_CHANNEL,
    notify: bool = True,
) -> ComplaintEvent:
    """Add the audit event and (unless ``notify`` is False) its outbox notification;
    ``text`` is masked here."""
    row = ComplaintEvent(
        complaint_id=complaint.id, actor=actor, action=event, at=now, detail=detail
    )
    session.add(row)
    session.flush()
    if not notify:
        return row
    session.add(
        Notification(
            key=f"complaint:{complaint.id}:{event}:{row.id}",
            complaint_id=complaint.id,
            kind=EVENT_KIND,
            channel=channel,
            payload={
                "complaint_id": complaint.id,
                "event": event,
                "actor": actor,
                "at": now.isoformat(),
                "detail": detail,
                "text": mask_personal_data(text),
                "mention": mention,
            },
            status="pending",
            attempts=0,
            created_at=now,
        )
    )
    return row
