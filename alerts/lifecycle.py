"""Acting on a complaint: claim, respond, wait on the customer, resume, resolve, dismiss,
reopen. Slack's buttons and the ``uproar complaints`` CLI both call these.

The rules are in :mod:`alerts.complaint_states` (pure); this module is the thin database
edge. Each function:

* takes the complaint's row lock first (a conditional ``UPDATE`` for a claim, a no-op
  ``UPDATE`` otherwise), so two people acting at once are serialised on PostgreSQL and
  SQLite alike and the second one sees what the first did: two claims at the same moment
  give one owner and one :class:`~alerts.errors.AlreadyClaimed`;
* locks the owner: only the owner responds, waits, resumes, resolves or dismisses a claimed
  complaint; anyone else has to take it over (``claim(..., take_over=True)``, recorded);
* records hit or miss per deadline when it is decided: ``ack_met`` at the claim,
  ``response_met`` at the first response, ``resolution_met`` at the resolution, where time
  spent waiting on the customer does not count (``resolution_due_at`` moves by each pause);
* writes a :class:`~storage.models.ComplaintEvent` (actor, time, detail) and a
  ``complaint_event`` :class:`~storage.models.Notification` whose deterministic unique key
  ``complaint:{id}:{event}:{event_id}`` lets the outbox send it exactly once, into the
  channel (and so the thread) of the complaint's opening alert
  (:func:`alerts.complaint_events.record_event`, which other events use too).

``text`` in the notification is one plain line with personal data masked and the
complaint's number first ("#12 claimed by ana, acknowledged in time").

Nothing here commits: the caller does, so the change, its audit event and its notification
are written together or not at all. Naive datetimes are refused by the storage types.
Responders' notes, outcomes and reasons are stored with personal data masked.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Update, update
from sqlalchemy.orm import Session

from alerts.complaint_events import record_event, thread_channel
from alerts.complaint_states import (
    ACTIVE,
    EVENTS,
    Action,
    allowed_actions,
    clock,
    duration,
    effective_resolution_due,
    met,
    next_status,
    paused_for,
    verdict,
)
from alerts.errors import AlreadyClaimed, ComplaintNotFound, InvalidTransition
from storage.models import Complaint, ComplaintEvent
from storage.privacy import mask_personal_data

OPENED_KIND = "complaint_opened"
MAX_TEXT_CHARS = 300


# ---------------------------------------------------------------- the actions


SlackIdOf = Callable[[str], str | None]
"""A rota member's Slack id by name (None when they have none), for mentions."""


def claim(
    session: Session,
    complaint_id: int,
    actor: str,
    now: datetime,
    *,
    take_over: bool = False,
    slack_id_of: SlackIdOf | None = None,
) -> Complaint:
    """``actor`` becomes the owner of an open complaint; ``ack_met`` is decided.

    Claiming your own complaint again changes nothing. Someone else's claim raises
    :class:`AlreadyClaimed` unless ``take_over`` (the owner changes, the status stays,
    a ``taken_over`` event names the previous owner and, through ``slack_id_of``,
    mentions them in the thread so they know the complaint is no longer theirs).
    """
    won = _updated(
        session,
        update(Complaint)
        .where(
            Complaint.id == complaint_id,
            Complaint.status == "open",
            Complaint.owner.is_(None),
        )
        .values(
            status=next_status("open", "claim"),
            owner=actor,
            claimed_at=now,
            ack_met=Complaint.ack_due_at >= now,
            updated_at=now,
        ),
    )
    complaint = _fresh(session, complaint_id)
    if won == 1:
        _record(
            session,
            complaint,
            EVENTS["claim"],
            actor,
            now,
            {"ack_due_at": _iso(complaint.ack_due_at), "ack_met": complaint.ack_met},
            f"claimed by {actor}, acknowledged {verdict(now, complaint.ack_due_at)}",
        )
        return complaint
    if complaint.owner == actor and complaint.status in ACTIVE:
        return complaint  # a double click: already yours
    if complaint.owner is None or complaint.status not in ACTIVE:  # resolved or dismissed
        raise InvalidTransition(
            complaint.status, "claim", complaint_id, allowed_actions(complaint.status)
        )
    if not take_over:
        raise AlreadyClaimed(complaint.owner, complaint_id)
    return _take_over(session, complaint, actor, now, slack_id_of)


def _take_over(
    session: Session,
    complaint: Complaint,
    actor: str,
    now: datetime,
    slack_id_of: SlackIdOf | None,
) -> Complaint:
    previous = complaint.owner
    assert previous is not None
    moved = _updated(
        session,
        update(Complaint)
        .where(
            Complaint.id == complaint.id,
            Complaint.owner == previous,
            Complaint.status.in_(sorted(ACTIVE)),
        )
        .values(owner=actor, updated_at=now),
    )
    complaint = _fresh(session, complaint.id)
    if moved != 1:  # someone else took it (or closed it) in between
        if complaint.owner is not None and complaint.owner != actor:
            raise AlreadyClaimed(complaint.owner, complaint.id)
        next_status(complaint.status, "take_over", complaint_id=complaint.id)
        return complaint
    _record(
        session,
        complaint,
        EVENTS["take_over"],
        actor,
        now,
        {"previous_owner": previous, "status": complaint.status},
        f"taken over by {actor} from {previous}",
        mention=slack_id_of(previous) if slack_id_of else None,
    )
    return complaint


def respond(
    session: Session, complaint_id: int, actor: str, now: datetime, note: str | None = None
) -> Complaint:
    """The owner answered the customer. The first response decides ``response_met``;
    responding while waiting on the customer ends the pause."""
    complaint = _lock(session, complaint_id)
    status = _owner_transition(complaint, "respond", actor)
    resumed = _end_pause(complaint, now)
    first = complaint.responded_at is None
    if first:
        complaint.responded_at = now
        complaint.response_met = met(now, complaint.response_due_at)
    complaint.status = status
    complaint.updated_at = now
    detail: dict[str, Any] = {
        "note": _masked(note),
        "first": first,
        "response_met": complaint.response_met,
    }
    if resumed:
        detail["paused_seconds"] = int(resumed.total_seconds())
    timing = f", first response {verdict(now, complaint.response_due_at)}" if first else ""
    _record(
        session,
        complaint,
        EVENTS["respond"],
        actor,
        now,
        detail,
        _with(f"{actor} responded{timing}", note),
    )
    return complaint


def wait_on_customer(session: Session, complaint_id: int, actor: str, now: datetime) -> Complaint:
    """Waiting on the customer: the resolution clock stops until :func:`resume`."""
    complaint = _lock(session, complaint_id)
    complaint.status = _owner_transition(complaint, "wait", actor)
    complaint.paused_at = now
    complaint.updated_at = now
    _record(
        session,
        complaint,
        EVENTS["wait"],
        actor,
        now,
        {"resolution_due_at": _iso(complaint.resolution_due_at)},
        f"waiting on the customer ({actor}); the resolution clock is paused",
    )
    return complaint


def resume(session: Session, complaint_id: int, actor: str, now: datetime) -> Complaint:
    """Back to work after waiting: the resolution deadline moves by the time waited."""
    complaint = _lock(session, complaint_id)
    status = _owner_transition(complaint, "resume", actor)
    waited = _end_pause(complaint, now)
    complaint.status = status
    complaint.updated_at = now
    _record(
        session,
        complaint,
        EVENTS["resume"],
        actor,
        now,
        {
            "paused_seconds": int(waited.total_seconds()),
            "resolution_due_at": _iso(complaint.resolution_due_at),
        },
        f"resumed by {actor} after {duration(waited)} waiting; resolve by "
        f"{clock(complaint.resolution_due_at)}",
    )
    return complaint


def resolve(
    session: Session, complaint_id: int, actor: str, now: datetime, outcome: str | None = None
) -> Complaint:
    """The owner closed the loop. ``resolution_met`` is decided with waiting time left out;
    with no response recorded before, the resolution is also the first response."""
    complaint = _lock(session, complaint_id)
    status = _owner_transition(complaint, "resolve", actor)
    _end_pause(complaint, now)
    if complaint.responded_at is None:
        complaint.responded_at = now
        complaint.response_met = met(now, complaint.response_due_at)
    complaint.resolved_at = now
    complaint.resolution_met = met(now, complaint.resolution_due_at)
    complaint.status = status
    complaint.updated_at = now
    _record(
        session,
        complaint,
        EVENTS["resolve"],
        actor,
        now,
        {
            "outcome": _masked(outcome),
            "resolution_met": complaint.resolution_met,
            "response_met": complaint.response_met,
            "paused_seconds": complaint.paused_seconds,
        },
        _with(f"resolved by {actor}, {verdict(now, complaint.resolution_due_at)}", outcome),
    )
    return complaint


def dismiss(
    session: Session, complaint_id: int, actor: str, now: datetime, reason: str | None = None
) -> Complaint:
    """ "Not an issue": the complaint closes without a resolution verdict. Anyone may
    dismiss an open complaint; a claimed one only its owner."""
    complaint = _lock(session, complaint_id)
    status = next_status(complaint.status, "dismiss", complaint_id=complaint_id)
    _check_owner(complaint, actor)
    _end_pause(complaint, now)
    complaint.status = status
    complaint.dismissed_at = now
    complaint.updated_at = now
    _record(
        session,
        complaint,
        EVENTS["dismiss"],
        actor,
        now,
        {"reason": _masked(reason)},
        _with(f"dismissed by {actor} as not an issue", reason),
    )
    return complaint


def reopen(
    session: Session,
    complaint_id: int,
    actor: str,
    now: datetime,
    reason: str,
    *,
    mention: str | None = None,
) -> Complaint:
    """New activity on a resolved or dismissed complaint: it needs attention again.

    It goes back to its owner (``claimed``) or, with none, to ``open``; the thread reply
    mentions ``mention`` (the caller knows the rota: the owner, else who is on duty).
    The time it spent closed does not count against the deadlines still to be decided:
    each of those moves by that time (and ``paused_seconds`` grows by it);
    ``resolution_met`` is undecided again.
    """
    complaint = _lock(session, complaint_id)
    previous = complaint.status
    status = next_status(
        previous,
        "reopen",
        responded=complaint.responded_at is not None,
        owned=complaint.owner is not None,
        complaint_id=complaint_id,
    )
    closed_at = complaint.resolved_at if previous == "resolved" else complaint.dismissed_at
    stopped = paused_for(closed_at, now)
    complaint.resolved_at = None
    complaint.dismissed_at = None
    complaint.resolution_met = None
    if complaint.ack_met is None:
        complaint.ack_due_at += stopped
    if complaint.response_met is None:
        complaint.response_due_at += stopped
    complaint.resolution_due_at += stopped
    complaint.paused_seconds = (complaint.paused_seconds or 0) + int(stopped.total_seconds())
    complaint.status = status
    complaint.updated_at = now
    _record(
        session,
        complaint,
        EVENTS["reopen"],
        actor,
        now,
        {
            "reason": _masked(reason),
            "previous_status": previous,
            "owner": complaint.owner,
            "resolution_due_at": _iso(complaint.resolution_due_at),
        },
        _with(f"reopened by {actor} (was {previous})", reason),
        mention=mention,
    )
    return complaint


# ---------------------------------------------------------------- helpers


def _updated(session: Session, statement: Update) -> int:
    """Run a bulk UPDATE that bypasses the session's cached objects; rows it changed."""
    result = session.execute(statement.execution_options(synchronize_session=False))
    return int(cast(CursorResult[Any], result).rowcount)


def _fresh(session: Session, complaint_id: int) -> Complaint:
    """The complaint as the database has it now, not as this session last saw it."""
    complaint = session.get(Complaint, complaint_id, populate_existing=True)
    if complaint is None:
        raise ComplaintNotFound(complaint_id)
    return complaint


def _lock(session: Session, complaint_id: int) -> Complaint:
    """Take the complaint's write lock, then read it: a concurrent action waits for ours
    to commit and then sees it (a row lock on PostgreSQL, the write lock on SQLite)."""
    touched = _updated(
        session,
        update(Complaint).where(Complaint.id == complaint_id).values(status=Complaint.status),
    )
    if touched == 0:
        raise ComplaintNotFound(complaint_id)
    return _fresh(session, complaint_id)


def _check_owner(complaint: Complaint, actor: str) -> None:
    if complaint.owner is not None and complaint.owner != actor:
        raise AlreadyClaimed(complaint.owner, complaint.id)


def _owner_transition(complaint: Complaint, action: Action, actor: str) -> str:
    """The next status for the owner's ``action``; wrong state first, then wrong person."""
    status = next_status(
        complaint.status,
        action,
        responded=complaint.responded_at is not None,
        owned=complaint.owner is not None,
        complaint_id=complaint.id,
    )
    _check_owner(complaint, actor)
    return status


def _end_pause(complaint: Complaint, now: datetime) -> timedelta:
    """Close a running pause: the resolution deadline moves by its length."""
    if complaint.paused_at is None:
        return timedelta(0)
    waited = paused_for(complaint.paused_at, now)
    complaint.resolution_due_at = effective_resolution_due(
        complaint.resolution_due_at, complaint.paused_at, now
    )
    complaint.paused_seconds = (complaint.paused_seconds or 0) + int(waited.total_seconds())
    complaint.paused_at = None
    return waited


def _record(
    session: Session,
    complaint: Complaint,
    event: str,
    actor: str,
    now: datetime,
    detail: dict[str, Any],
    summary: str,
    *,
    mention: str | None = None,
) -> ComplaintEvent:
    """The audit event and its thread notification (``#<id> <summary>``, one line)."""
    text = f"#{complaint.id} {summary}"
    if len(text) > MAX_TEXT_CHARS:
        text = text[: MAX_TEXT_CHARS - 1].rstrip() + "…"
    row = record_event(
        session,
        complaint,
        event,
        actor,
        now,
        detail,
        text,
        mention=mention,
        channel=thread_channel(session, complaint.id),
    )
    session.flush()
    return row


def _masked(text: str | None) -> str | None:
    """Free text from a responder may quote the customer: the trail keeps it masked."""
    return mask_personal_data(text) if text else text


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _with(summary: str, note: str | None) -> str:
    return f"{summary}: {' '.join(note.split())}" if note and note.strip() else summary
