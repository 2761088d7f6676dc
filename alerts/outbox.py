"""Delivering the notification outbox.

Complaints write a ``notifications`` row in the same transaction that opens them; this
module sends the rows that are due, one transaction per row, so one failure loses nothing
else and a delivered row is never sent again. A failed attempt stays ``pending`` with a
clear ``last_error`` and a ``next_attempt_at`` pushed back exponentially (or by Slack's
``Retry-After``); after ``max_attempts`` the row is marked ``failed`` for a human to look at.

Delivery is at-least-once: if the process dies between Slack accepting a message and the
commit, that one message is sent again on the next run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from alerts.slack import DeliveryError, Sender
from storage.models import Notification
from storage.privacy import mask_personal_data

log = logging.getLogger(__name__)

BACKOFF_BASE = timedelta(seconds=30)
# After this many failures in a row the receiver is taken to be down: the rest of the
# outbox waits for the next run instead of each message waiting out its own timeout.
FAILURES_BEFORE_PAUSE = 3
BACKOFF_MAX = timedelta(hours=1)
MAX_ERROR_CHARS = 1000


@dataclass
class DeliveryReport:
    """What one :func:`deliver_pending` run did. ``pending`` counts rows still waiting
    afterwards (due or not); ``gave_up`` the rows marked failed in this run."""

    delivered: int = 0
    failed: int = 0
    pending: int = 0
    destinations: list[str] = field(default_factory=list)
    gave_up: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """Wait before the next try: Retry-After when the receiver gave one, else 30 s
    doubling per attempt, capped at an hour."""
    if retry_after is not None:
        return timedelta(seconds=retry_after)
    exponent = min(max(attempts - 1, 0), 16)
    return min(BACKOFF_BASE * (2**exponent), BACKOFF_MAX)


def _due_ids(session: Session, now: datetime) -> list[int]:
    query = (
        select(Notification.id)
        .where(
            Notification.status == "pending",
            or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now),
        )
        .order_by(Notification.id)
    )
    return list(session.execute(query).scalars())


def _deliver_one(
    factory: sessionmaker[Session],
    notification_id: int,
    sender: Sender,
    now: datetime,
    max_attempts: int,
    report: DeliveryReport,
) -> bool | None:
    """Try one row: True when sent, False when it failed, None when there was nothing to do."""
    with factory() as session, session.begin():
        notification = session.execute(
            select(Notification)
            .where(Notification.id == notification_id, Notification.status == "pending")
            .with_for_update(skip_locked=True)
        ).scalar_one_or_none()
        if notification is None:
            return None  # delivered meanwhile, or another worker holds it
        try:
            message_id = sender.send(notification)
        except Exception as exc:
            if isinstance(exc, DeliveryError):
                error, retry_after = str(exc), exc.retry_after
            else:
                error, retry_after = f"{type(exc).__name__}: {exc}", None
            error = mask_personal_data(error)[:MAX_ERROR_CHARS]
            notification.attempts += 1
            notification.last_error = error
            notification.next_attempt_at = now + backoff(notification.attempts, retry_after)
            report.failed += 1
            report.errors.append(f"notification {notification.key}: {error}")
            if notification.attempts >= max_attempts:
                notification.status = "failed"
                report.gave_up += 1
            log.warning(
                "could not deliver notification %s to %s (attempt %d): %s",
                notification.key,
                sender.destination,
                notification.attempts,
                error,
            )
            return False
        notification.status = "delivered"
        notification.delivered_at = now
        notification.delivered_to = sender.destination[:100]
        notification.slack_ts = message_id[:40]
        notification.attempts += 1
        notification.last_error = None
        report.delivered += 1
        if sender.destination not in report.destinations:
            report.destinations.append(sender.destination)
        return True


def deliver_pending(
    session_factory: sessionmaker[Session],
    sender: Sender,
    now: datetime,
    max_attempts: int = 10,
) -> DeliveryReport:
    """Send every pending notification that is due at ``now`` through ``sender``."""
    if now.tzinfo is None:
        raise ValueError(f"naive datetime {now!r}: pass a timezone-aware now")
    report = DeliveryReport()
    with session_factory() as session:
        due = _due_ids(session, now)
    failures_in_a_row = 0
    for position, notification_id in enumerate(due):
        sent = _deliver_one(session_factory, notification_id, sender, now, max_attempts, report)
        if sent is None:
            continue
        failures_in_a_row = 0 if sent else failures_in_a_row + 1
        if failures_in_a_row >= FAILURES_BEFORE_PAUSE and position + 1 < len(due):
            report.errors.append(
                f"{sender.destination}: {failures_in_a_row} failures in a row, so the other "
                f"{len(due) - position - 1} notifications wait for the next run"
            )
            break
    with session_factory() as session:
        report.pending = session.execute(
            select(func.count()).select_from(Notification).where(Notification.status == "pending")
        ).scalar_one()
    return report
