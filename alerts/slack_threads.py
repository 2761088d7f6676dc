"""Keeping each complaint's Slack alert current.

The ``complaint_opened`` message is the parent of the complaint's thread. Whenever what it
would show changes (status, owner, reach, priority, grouped posts...) it is re-rendered and
rewritten with ``chat.update``. This is level-triggered: the parent row stores a digest of
what it shows (``shown_digest``) and the status it showed (``shown_status``), and every
delivery run updates exactly the parents whose rendering differs, so an update lost to a
crash or an outage is simply made on the next run.
"""

from __future__ import annotations

import logging

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from alerts.complaints import OPENED_KIND
from alerts.config import Responder, RotaSettings
from alerts.slack import DeliveryError, Sender
from alerts.slack_blocks import FINAL_STATUSES, AlertContext, complaint_message, message_digest
from storage.models import Complaint, ComplaintEvent, Notification

log = logging.getLogger(__name__)

EVENT_KIND = "complaint_event"
GROUPED_EVENT = "grouped"
__all__ = ["EVENT_KIND", "OPENED_KIND", "alert_for", "refresh_alerts", "responder_named"]


def responder_named(rota: RotaSettings, name: str | None) -> Responder | None:
    """The rota's responder called ``name``; a bare name when the rota no longer has them."""
    if not name:
        return None
    for responder in rota.responders:
        if responder.name == name:
            return responder
    return Responder(name=name)


def alert_for(session: Session, complaint: Complaint, rota: RotaSettings) -> dict[str, object]:
    """The complaint's alert as it should look now."""
    grouped = session.execute(
        select(func.count())
        .select_from(ComplaintEvent)
        .where(ComplaintEvent.complaint_id == complaint.id, ComplaintEvent.action == GROUPED_EVENT)
    ).scalar_one()
    on_duty = responder_named(rota, complaint.on_duty)
    context = AlertContext(
        on_duty=on_duty,
        owner=responder_named(rota, complaint.owner),
        grouped_posts=int(grouped),
    )
    return complaint_message(complaint, complaint.post, on_duty, context)


def _stale_parent_ids(session: Session, destination: str, complaint_id: int | None) -> list[int]:
    """Delivered alerts whose complaint is still moving, or closed since last shown."""
    query = (
        select(Notification.id)
        .join(Complaint, Complaint.id == Notification.complaint_id)
        .where(
            Notification.kind == OPENED_KIND,
            Notification.status == "delivered",
            Notification.slack_ts.is_not(None),
            Notification.delivered_to == destination[:100],
            or_(
                Complaint.status.not_in(FINAL_STATUSES),
                Notification.shown_status.is_(None),
                Notification.shown_status != Complaint.status,
            ),
        )
        .order_by(Notification.id)
    )
    if complaint_id is not None:
        query = query.where(Notification.complaint_id == complaint_id)
    return list(session.execute(query).scalars())


def refresh_alerts(
    factory: sessionmaker[Session],
    sender: Sender,
    rota: RotaSettings,
    complaint_id: int | None = None,
) -> tuple[int, list[str]]:
    """chat.update every alert whose rendering changed; (how many were updated, errors)."""
    with factory() as session:
        parent_ids = _stale_parent_ids(session, sender.destination, complaint_id)
    updated = 0
    errors: list[str] = []
    for parent_id in parent_ids:
        with factory() as session:
            parent = session.get(Notification, parent_id)
            complaint = session.get(Complaint, parent.complaint_id) if parent else None
            if parent is None or complaint is None or parent.slack_ts is None:
                continue
            message = alert_for(session, complaint, rota)
            digest, status = message_digest(message), complaint.status
            channel = parent.slack_channel or parent.channel or ""
            ts, unchanged = parent.slack_ts, parent.shown_digest == digest
        if not unchanged:
            try:
                sender.update(channel, ts, message)
            except DeliveryError as exc:
                errors.append(f"alert of complaint {complaint.id}: {exc}")
                log.warning("could not update the alert of complaint %s: %s", complaint.id, exc)
                continue
            updated += 1
        with factory() as session, session.begin():
            parent = session.get(Notification, parent_id)
            if parent is not None:
                parent.shown_digest, parent.shown_status = digest, status
    return updated, errors
