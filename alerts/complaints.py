"""Opening complaint records for scored posts that are negative and spreading.

Each new complaint is written together with its audit event and its outbox notification in
the caller's transaction, so either all three exist or none does; the outbox
(:mod:`alerts.outbox`) delivers the message later. Nothing here commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from alerts.config import (
    DEFAULT_CHANNEL,
    DeadlineSettings,
    RotaSettings,
    ThresholdSettings,
    TriageSettings,
)
from alerts.errors import ComplaintNotFound
from alerts.priority import assess_priority
from alerts.reach import estimated_reach
from alerts.rota import on_duty_at
from alerts.slack import complaint_message
from alerts.triage import deadlines_for, is_complaint
from storage.models import Complaint, ComplaintEvent, Notification, Post, SentimentScore

SYSTEM_ACTOR = "uproar"
OPENED_KIND = "complaint_opened"


def _candidates(
    session: Session, thresholds: ThresholdSettings, model_version: str | None
) -> list[tuple[Post, SentimentScore]]:
    """Posts without a complaint, each with its newest score (of ``model_version`` if
    given), kept when that score is negative enough.

    Pre-filtering on negativity in SQL keeps this cheap however many calm posts pile up;
    reach is re-estimated on every call because engagement counters keep growing.
    """
    negative_enough = select(SentimentScore.post_id).where(
        SentimentScore.negative >= thresholds.negativity
    )
    query = (
        select(Post, SentimentScore)
        .join(SentimentScore, SentimentScore.post_id == Post.id)
        .where(Post.id.not_in(select(Complaint.post_id)), Post.id.in_(negative_enough))
        .order_by(Post.id, SentimentScore.scored_at.desc(), SentimentScore.id.desc())
    )
    if model_version is not None:
        query = query.where(SentimentScore.model_version == model_version)
    newest: dict[int, tuple[Post, SentimentScore]] = {}
    for post, score in session.execute(query).tuples():
        newest.setdefault(post.id, (post, score))
    return [pair for pair in newest.values() if pair[1].negative >= thresholds.negativity]


def open_complaints(
    session: Session,
    thresholds: ThresholdSettings,
    deadlines: DeadlineSettings,
    rota: RotaSettings,
    now: datetime,
    model_version: str | None = None,
    *,
    channel: str = DEFAULT_CHANNEL,
    triage: TriageSettings | None = None,
) -> list[Complaint]:
    """Open a complaint (with audit event and outbox notification) for every scored post
    that :func:`alerts.triage.is_complaint` accepts and that has none yet.

    With ``model_version`` only that model's scores count; otherwise each post's newest
    score. Priority follows ``triage`` (:mod:`alerts.priority`; growth and repeat status
    are not known when a complaint opens, so they count as 0 / no); deadlines follow the
    priority and the category. The caller commits. A post never gets two complaints: the
    query skips posts that have one, and the unique ``complaints.post_id`` stops a
    concurrent run (that post is then skipped here, inside a savepoint, without undoing
    the others).
    """
    opened: list[Complaint] = []
    responder = on_duty_at(rota, now)
    for post, score in _candidates(session, thresholds, model_version):
        reach = estimated_reach(
            post.author_followers,
            post.reposts,
            post.replies,
            post.likes,
            post.views,
            amplifications=post.amplifications,
            amplifier_followers=post.amplifier_followers,
        )
        if not is_complaint(score.negative, reach, thresholds):
            continue
        assessed = assess_priority(
            negativity=score.negative,
            reach=reach,
            growth_per_hour=0.0,
            followers=post.author_followers,
            category=score.category,
            repeat=False,
            thresholds=thresholds,
            settings=triage or TriageSettings(),
        )
        priority = assessed.priority
        due = deadlines_for(priority, now, deadlines, score.category)
        complaint = Complaint(
            post_id=post.id,
            watch=post.watch,
            status="open",
            priority=priority,
            category=score.category,
            reach=reach,
            negativity=score.negative,
            on_duty=responder.name if responder else None,
            opened_at=now,
            ack_due_at=due.ack,
            response_due_at=due.response,
            resolution_due_at=due.resolution,
            updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(complaint)
                session.flush()
        except IntegrityError:
            continue  # another run opened this post's complaint first
        complaint.post = post
        session.add(
            ComplaintEvent(
                complaint_id=complaint.id,
                actor=SYSTEM_ACTOR,
                action="opened",
                at=now,
                detail={
                    "reach": reach,
                    "priority": priority,
                    "priority_score": assessed.score,
                    "priority_reasons": list(assessed.reasons),
                    "on_duty": complaint.on_duty,
                    "negativity": round(score.negative, 4),
                    "model_version": score.model_version,
                },
            )
        )
        session.add(
            Notification(
                key=f"complaint:{complaint.id}:opened",
                complaint_id=complaint.id,
                kind=OPENED_KIND,
                channel=channel,
                payload=complaint_message(complaint, post, responder),
                status="pending",
                attempts=0,
                created_at=now,
            )
        )
        opened.append(complaint)
    session.flush()
    return opened


def list_complaints(
    session: Session, status: str | None = None, priority: str | None = None
) -> list[Complaint]:
    """Complaints, newest first, optionally only those with ``status`` / ``priority``."""
    query = select(Complaint).order_by(Complaint.opened_at.desc(), Complaint.id.desc())
    if status is not None:
        query = query.where(Complaint.status == status)
    if priority is not None:
        query = query.where(Complaint.priority == priority)
    return list(session.execute(query).scalars())


def get_complaint(session: Session, complaint_id: int) -> Complaint:
    """One complaint with its post and audit trail; ComplaintNotFound when there is none."""
    query = (
        select(Complaint)
        .where(Complaint.id == complaint_id)
        .options(selectinload(Complaint.post), selectinload(Complaint.events))
    )
    complaint = session.execute(query).scalar_one_or_none()
    if complaint is None:
        raise ComplaintNotFound(complaint_id)
    return complaint
