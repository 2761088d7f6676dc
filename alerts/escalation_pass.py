"""The escalation pass: write the actions due for every live complaint into the outbox.

Each complaint is handled in its own transaction: each of its due actions (from the pure
:func:`alerts.escalation.due_actions`) whose key is not in the outbox yet becomes an audit
event plus a ``complaint_event`` notification (:func:`alerts.complaint_events.record_event`,
the same writer as the desk's events), under the action's deterministic key. So running
the same minute twice, two passes at once, or a pass again after a crash half-way, writes
every action once: the unique ``notifications.key`` is the only memory of what was sent.
Delivery is the outbox's job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from alerts.complaint_events import record_event
from alerts.complaints import SYSTEM_ACTOR
from alerts.config import DEFAULT_CHANNEL, EscalationSettings, RotaSettings
from alerts.escalation import (
    DEADLINE_MET_COLUMN,
    FINAL_STATUSES,
    Action,
    ComplaintView,
    due_actions,
)
from alerts.escalation_chain import Recipients, owner_recipient, recipients
from alerts.rota import escalation_chain_at
from storage.models import Complaint, ComplaintEvent, Notification
from storage.privacy import mask_personal_data

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 500


@dataclass
class EscalationReport:
    """What one pass did: complaints looked at, keys written now, actions already written
    by an earlier pass, and one line per complaint that failed (the others went on)."""

    checked: int = 0
    written: list[str] = field(default_factory=list)
    already_sent: int = 0
    errors: list[str] = field(default_factory=list)


def _reach_in(detail: Any) -> int | None:
    if isinstance(detail, dict):
        value = detail.get("reach")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def complaint_view(
    complaint: Complaint, events: Sequence[ComplaintEvent], rota: RotaSettings
) -> ComplaintView:
    """The rules' view of a stored complaint and its audit trail (in id order).

    Read defensively: the reach-growth columns (``reach_growth_per_hour``,
    ``reach_notified``) come from the grouping branch and may not exist yet.
    """
    opened_reach = next(
        (_reach_in(e.detail) for e in events if e.action == "opened" and _reach_in(e.detail)),
        None,
    )
    notified_reach = next(
        (reach for e in reversed(events) if (reach := _reach_in(e.detail)) is not None), None
    )
    announced = getattr(complaint, "reach_notified", None)  # grouping's column, if merged
    if isinstance(announced, int) and announced > (notified_reach or 0):
        notified_reach = announced
    reopenings = [event for event in events if event.action == "reopened"]
    growth = getattr(complaint, "reach_growth_per_hour", None)
    return ComplaintView(
        id=complaint.id,
        status=complaint.status,
        priority=complaint.priority,
        opened_at=complaint.opened_at,
        ack_due_at=complaint.ack_due_at,
        response_due_at=complaint.response_due_at,
        resolution_due_at=complaint.resolution_due_at,
        owner=owner_recipient(complaint.owner, rota),
        responded_at=complaint.responded_at,
        paused_at=complaint.paused_at,
        reach=complaint.reach,
        opened_reach=opened_reach,
        notified_reach=notified_reach,
        reach_growth_per_hour=float(growth) if isinstance(growth, int | float) else None,
        since=reopenings[-1].at if reopenings else complaint.opened_at,
        episode=len(reopenings),
    )


def write_action(session: Session, action: Action, now: datetime, channel: str) -> bool:
    """Write ``action`` (its audit event and thread notification, through
    :func:`alerts.complaint_events.record_event`) unless its key is in the outbox; a missed
    deadline also sets its ``*_met`` to False where still undecided. True when written now.

    A pass racing this one (it wrote the key after the check) makes the insert raise
    ``IntegrityError`` on the unique key: the caller rolls the complaint back, never
    writing a second row. (No savepoint: pysqlite commits a savepoint opened before any
    write, which would break the one-transaction-per-complaint rule on SQLite.)
    """
    known = select(Notification.id).where(Notification.key == action.key)
    if session.execute(known).first() is not None:
        return False
    complaint = session.get(Complaint, action.complaint_id)
    if complaint is None:
        return False
    record_event(
        session,
        complaint,
        action.event,
        SYSTEM_ACTOR,
        now,
        {**action.detail, "key": action.key},
        f"#{complaint.id} {action.summary}",
        mention=action.mention,
        key=action.key,
    )
    notification = session.execute(
        select(Notification).where(Notification.key == action.key)
    ).scalar_one()
    if notification.channel is None:
        notification.channel = channel  # no opening alert to thread under
    if action.deadline is not None:
        column = getattr(Complaint, DEADLINE_MET_COLUMN[action.deadline])
        session.execute(
            update(Complaint)
            .where(Complaint.id == action.complaint_id, column.is_(None))
            .values({column: False})
            .execution_options(synchronize_session=False)
        )
    session.flush()
    return True


def _live_ids(session_factory: sessionmaker[Session]) -> list[int]:
    with session_factory() as session:
        return list(
            session.execute(
                select(Complaint.id)
                .where(Complaint.status.not_in(sorted(FINAL_STATUSES)))
                .order_by(Complaint.id)
            ).scalars()
        )


def _due_for(
    session: Session,
    complaint_id: int,
    settings: EscalationSettings,
    rota: RotaSettings,
    chain: Recipients,
    now: datetime,
) -> list[Action]:
    complaint = session.get(Complaint, complaint_id)
    if complaint is None or complaint.status in FINAL_STATUSES:
        return []  # closed since the list was read
    events = session.execute(
        select(ComplaintEvent)
        .where(ComplaintEvent.complaint_id == complaint_id)
        .order_by(ComplaintEvent.id)
    ).scalars()
    view = complaint_view(complaint, list(events), rota)
    return due_actions(settings.policy_for(complaint.priority), view, chain, now)


def pending_actions(
    session_factory: sessionmaker[Session],
    settings: EscalationSettings,
    rota: RotaSettings,
    now: datetime,
) -> list[Action]:
    """What a pass at ``now`` would write (actions whose key is not in the outbox yet),
    writing nothing: for previewing a policy."""
    if not settings.enabled:
        return []
    chain = recipients(escalation_chain_at(rota, now), rota)
    found: list[Action] = []
    with session_factory() as session:
        for complaint_id in _live_ids(session_factory):
            actions = _due_for(session, complaint_id, settings, rota, chain, now)
            if not actions:
                continue
            known = set(
                session.execute(
                    select(Notification.key).where(Notification.key.in_([a.key for a in actions]))
                ).scalars()
            )
            found.extend(action for action in actions if action.key not in known)
    return found


def _escalate_one(
    session: Session,
    complaint_id: int,
    settings: EscalationSettings,
    rota: RotaSettings,
    chain: Recipients,
    now: datetime,
    channel: str,
    report: EscalationReport,
    on_written: Callable[[Action], None] | None,
) -> None:
    for action in _due_for(session, complaint_id, settings, rota, chain, now):
        if write_action(session, action, now, channel):
            report.written.append(action.key)
            if on_written is not None:
                on_written(action)
        else:
            report.already_sent += 1


def escalate_complaints(
    session_factory: sessionmaker[Session],
    settings: EscalationSettings,
    rota: RotaSettings,
    now: datetime,
    *,
    channel: str = DEFAULT_CHANNEL,
    on_written: Callable[[Action], None] | None = None,
) -> EscalationReport:
    """One escalation pass at ``now`` over every complaint not resolved or dismissed.

    ``on_written`` is called after each action is written, inside its complaint's
    transaction (tests raise from it to crash the pass half-way). An ordinary error in
    one complaint rolls back that complaint only and is reported; the others go on.
    """
    if now.tzinfo is None:
        raise ValueError(f"naive datetime {now!r}: pass a timezone-aware now")
    report = EscalationReport()
    if not settings.enabled:
        return report
    chain = recipients(escalation_chain_at(rota, now), rota)
    for complaint_id in _live_ids(session_factory):
        report.checked += 1
        written_before = len(report.written)
        try:
            with session_factory() as session, session.begin():
                _escalate_one(
                    session,
                    complaint_id,
                    settings,
                    rota,
                    chain,
                    now,
                    channel,
                    report,
                    on_written,
                )
        except IntegrityError:
            del report.written[written_before:]  # rolled back with the transaction
            report.already_sent += 1  # a concurrent pass wrote the same key first
            log.info("complaint %s: another escalation pass wrote it first", complaint_id)
        except Exception as exc:
            del report.written[written_before:]  # rolled back with the transaction
            error = mask_personal_data(f"{type(exc).__name__}: {exc}")[:MAX_ERROR_CHARS]
            report.errors.append(f"complaint {complaint_id}: {error}")
            log.warning("escalation of complaint %s failed: %s", complaint_id, error)
    return report
