"""Delivering the notification outbox, exactly once.

Complaints write a ``notifications`` row in the same transaction that opens them (and every
later event writes a ``complaint_event`` row); this module sends the rows that are due, one
at a time, so one failure loses nothing else.

Exactly once, even across a crash between Slack accepting a message and our commit:

1. **claim**: in its own committed transaction the row goes ``pending`` -> ``sending`` with
   a fresh ``claim_token`` and ``sending_at``. Nothing else touches a ``sending`` row until
   its lease (:data:`SENDING_LEASE`) runs out.
2. **send**: the message carries the row's ``key`` in its Slack metadata. When an earlier
   attempt may have reached Slack (any earlier attempt, or a row recovered from
   ``sending``), the sender first looks for that key in the channel (or thread) and only
   posts when it is not there.
3. **mark**: ``delivered`` with the message's channel and ts, only if the claim token is
   still ours.

A failed attempt goes back to ``pending`` with a clear ``last_error`` and a
``next_attempt_at`` pushed back exponentially (or by Slack's ``Retry-After``); after
``max_attempts`` the row is ``failed`` for a human to look at.

``complaint_event`` rows are posted as replies in the thread of their complaint's
``complaint_opened`` message (they wait while that one is still on its way) and, when the
rota is passed, the parent is re-rendered and ``chat.update``d (alerts.slack_threads).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from alerts.config import RotaSettings
from alerts.slack import DeliveryError, OutgoingMessage, Sender, SentMessage
from alerts.slack_blocks import BROADCAST_EVENTS, event_reply, message_digest
from alerts.slack_threads import EVENT_KIND, OPENED_KIND, alert_for, refresh_alerts
from storage.models import Complaint, Notification
from storage.privacy import mask_personal_data

log = logging.getLogger(__name__)

BACKOFF_BASE = timedelta(seconds=30)
# After this many failures in a row the receiver is taken to be down: the rest of the
# outbox waits for the next run instead of each message waiting out its own timeout.
FAILURES_BEFORE_PAUSE = 3
BACKOFF_MAX = timedelta(hours=1)
MAX_ERROR_CHARS = 1000
# How long a row may stay "sending" before a crash is assumed and another run recovers it
# (longer than a send with all its inline retries can take).
SENDING_LEASE = timedelta(minutes=5)
WAITING = ("pending", "sending")


@dataclass
class DeliveryReport:
    """What one :func:`deliver_pending` run did. ``pending`` counts rows still waiting
    afterwards (due or not, including ones left ``sending``); ``gave_up`` the rows marked
    failed in this run; ``recovered`` rows delivered after an earlier attempt of unknown
    outcome (looked up in Slack first, posted only if absent); ``updated`` alerts
    rewritten with chat.update."""

    delivered: int = 0
    failed: int = 0
    pending: int = 0
    destinations: list[str] = field(default_factory=list)
    gave_up: int = 0
    errors: list[str] = field(default_factory=list)
    recovered: int = 0
    updated: int = 0


@dataclass(frozen=True)
class _Claim:
    token: str
    message: OutgoingMessage
    digest: str | None
    status: str | None


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """Wait before the next try: Retry-After when the receiver gave one, else 30 s
    doubling per attempt, capped at an hour."""
    if retry_after is not None:
        return timedelta(seconds=retry_after)
    exponent = min(max(attempts - 1, 0), 16)
    return min(BACKOFF_BASE * (2**exponent), BACKOFF_MAX)


def _claimable(now: datetime, lease: timedelta) -> ColumnElement[bool]:
    """Due pending rows, and rows left ``sending`` longer than the lease (a crash)."""
    return or_(
        and_(
            Notification.status == "pending",
            or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now),
        ),
        and_(Notification.status == "sending", Notification.sending_at <= now - lease),
    )


def _due_ids(
    session: Session, now: datetime, lease: timedelta, complaint_id: int | None
) -> list[int]:
    query = select(Notification.id).where(_claimable(now, lease)).order_by(Notification.id)
    if complaint_id is not None:
        query = query.where(Notification.complaint_id == complaint_id)
    return list(session.execute(query).scalars())


def _thread_of(
    session: Session, notification: Notification, sender: Sender
) -> tuple[str, str] | bool | None:
    """The parent (channel, ts) to reply under; None: post at the top level; False: wait,
    the parent is still on its way."""
    parent = (
        session.execute(
            select(Notification)
            .where(
                Notification.complaint_id == notification.complaint_id,
                Notification.kind == OPENED_KIND,
            )
            .order_by(Notification.id)
            .limit(1)
        )
        .scalars()
        .first()
    )
    if parent is None or parent.status == "failed":
        return None
    if parent.status in WAITING:
        return False
    if parent.delivered_to != sender.destination[:100] or not parent.slack_ts:
        return None
    return (parent.slack_channel or parent.channel or "", parent.slack_ts)


def _claim(
    factory: sessionmaker[Session],
    notification_id: int,
    sender: Sender,
    now: datetime,
    lease: timedelta,
    rota: RotaSettings | None,
) -> _Claim | None:
    """Step 1: mark the row ``sending`` under a fresh token and commit; None when there is
    nothing to do (taken meanwhile, or an event waiting for its parent)."""
    with factory() as session, session.begin():
        notification = session.execute(
            select(Notification)
            .where(Notification.id == notification_id, _claimable(now, lease))
            .with_for_update(skip_locked=True)
        ).scalar_one_or_none()
        if notification is None:
            return None  # delivered meanwhile, or another worker holds it
        payload = notification.payload
        thread_ts: str | None = None
        channel = notification.channel or ""
        broadcast = False
        digest = status = None
        if notification.kind == EVENT_KIND and notification.complaint_id is not None:
            thread = _thread_of(session, notification, sender)
            if thread is False:
                return None
            if isinstance(thread, tuple):
                channel, thread_ts = thread
            payload = event_reply(notification.payload)
            broadcast = str(notification.payload.get("event")) in BROADCAST_EVENTS
        elif notification.kind == OPENED_KIND and rota is not None and notification.complaint_id:
            complaint = session.get(Complaint, notification.complaint_id)
            if complaint is not None:
                payload = alert_for(session, complaint, rota)
                digest, status = message_digest(payload), complaint.status
        check_first = notification.status == "sending" or notification.attempts > 0
        token = uuid.uuid4().hex
        # Conditional on what we read, so two workers cannot both claim the row where
        # SKIP LOCKED means nothing (SQLite serialises writers but not our reads).
        claimed = session.execute(
            update(Notification)
            .where(
                Notification.id == notification_id,
                Notification.attempts == notification.attempts,
                _claimable(now, lease),
            )
            .values(
                status="sending",
                claim_token=token,
                sending_at=now,
                attempts=notification.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if cast(CursorResult[Any], claimed).rowcount != 1:
            return None  # another worker claimed it between our read and our write
        message = OutgoingMessage(
            key=notification.key,
            kind=notification.kind,
            channel=channel,
            payload=payload,
            thread_ts=thread_ts,
            broadcast=broadcast,
            check_first=check_first,
            since=notification.created_at,
        )
        return _Claim(token=token, message=message, digest=digest, status=status)


def _mine(session: Session, notification_id: int, token: str) -> Notification | None:
    return session.execute(
        select(Notification)
        .where(Notification.id == notification_id, Notification.claim_token == token)
        .with_for_update()
    ).scalar_one_or_none()


def _mark_delivered(
    factory: sessionmaker[Session],
    notification_id: int,
    claim: _Claim,
    sent: SentMessage,
    sender: Sender,
    now: datetime,
    report: DeliveryReport,
) -> None:
    """Step 3: record where the message landed, if the claim is still ours."""
    with factory() as session, session.begin():
        notification = _mine(session, notification_id, claim.token)
        if notification is None:
            log.warning("notification %s was reclaimed while it was being sent", claim.message.key)
            return
        notification.status = "delivered"
        notification.delivered_at = now
        notification.delivered_to = sender.destination[:100]
        notification.slack_ts = sent.ts[:40]
        notification.slack_channel = sent.channel[:40]
        notification.claim_token = None
        notification.last_error = None
        notification.next_attempt_at = None
        if claim.digest is not None:
            notification.shown_digest = claim.digest
            notification.shown_status = claim.status
    report.delivered += 1
    if claim.message.check_first:
        report.recovered += 1
    if sender.destination not in report.destinations:
        report.destinations.append(sender.destination)


def _mark_failed(
    factory: sessionmaker[Session],
    notification_id: int,
    claim: _Claim,
    exc: Exception,
    sender: Sender,
    now: datetime,
    max_attempts: int,
    report: DeliveryReport,
) -> None:
    if isinstance(exc, DeliveryError):
        error, retry_after = str(exc), exc.retry_after
    else:
        error, retry_after = f"{type(exc).__name__}: {exc}", None
    error = mask_personal_data(error)[:MAX_ERROR_CHARS]
    key = claim.message.key
    report.failed += 1
    report.errors.append(f"notification {key}: {error}")
    with factory() as session, session.begin():
        notification = _mine(session, notification_id, claim.token)
        if notification is None:
            return
        notification.status = "pending"
        notification.claim_token = None
        notification.last_error = error
        notification.next_attempt_at = now + backoff(notification.attempts, retry_after)
        if notification.attempts >= max_attempts:
            notification.status = "failed"
            report.gave_up += 1
        attempts = notification.attempts
    log.warning(
        "could not deliver notification %s to %s (attempt %d): %s",
        key,
        sender.destination,
        attempts,
        error,
    )


def _deliver_one(
    factory: sessionmaker[Session],
    notification_id: int,
    sender: Sender,
    now: datetime,
    max_attempts: int,
    report: DeliveryReport,
    rota: RotaSettings | None,
    lease: timedelta,
) -> bool | None:
    """Try one row: True when sent, False when it failed, None when there was nothing to do."""
    claim = _claim(factory, notification_id, sender, now, lease, rota)
    if claim is None:
        return None
    try:
        sent = sender.send(claim.message)
    except Exception as exc:
        _mark_failed(factory, notification_id, claim, exc, sender, now, max_attempts, report)
        return False
    _mark_delivered(factory, notification_id, claim, sent, sender, now, report)
    return True


def deliver_pending(
    session_factory: sessionmaker[Session],
    sender: Sender,
    now: datetime,
    max_attempts: int = 10,
    *,
    rota: RotaSettings | None = None,
    complaint_id: int | None = None,
    lease: timedelta = SENDING_LEASE,
) -> DeliveryReport:
    """Send every notification that is due at ``now`` through ``sender`` (only those of
    ``complaint_id`` when given), then, with ``rota``, bring each complaint's alert up to
    date (chat.update)."""
    if now.tzinfo is None:
        raise ValueError(f"naive datetime {now!r}: pass a timezone-aware now")
    report = DeliveryReport()
    with session_factory() as session:
        due = _due_ids(session, now, lease, complaint_id)
    failures_in_a_row = 0
    for position, notification_id in enumerate(due):
        sent = _deliver_one(
            session_factory, notification_id, sender, now, max_attempts, report, rota, lease
        )
        if sent is None:
            continue
        failures_in_a_row = 0 if sent else failures_in_a_row + 1
        if failures_in_a_row >= FAILURES_BEFORE_PAUSE and position + 1 < len(due):
            report.errors.append(
                f"{sender.destination}: {failures_in_a_row} failures in a row, so the other "
                f"{len(due) - position - 1} notifications wait for the next run"
            )
            break
    if rota is not None and failures_in_a_row < FAILURES_BEFORE_PAUSE:
        updated, errors = refresh_alerts(session_factory, sender, rota, complaint_id)
        report.updated += updated
        report.errors.extend(errors)
    with session_factory() as session:
        report.pending = session.execute(
            select(func.count()).select_from(Notification).where(Notification.status.in_(WAITING))
        ).scalar_one()
    return report
