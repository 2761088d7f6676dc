"""Writing a new complaint and announcing it: the row with its ``original`` group post,
then (once the run's grouping is done) its priority from the whole group, its "opened"
audit event, its alert, and for a repeat its "repeat" event; and the ``grouped`` event of
a post that joins an existing complaint. In the caller's transaction; nothing commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alerts.complaint_events import SYSTEM_ACTOR, record_event, slack_mention
from alerts.config import DeadlineSettings, RotaSettings, ThresholdSettings, TriageSettings
from alerts.grouping import group_posts, group_reach, post_reach
from alerts.priority import assess_priority
from alerts.slack import complaint_message
from alerts.triage import Deadlines, deadlines_for, priority_for
from storage.models import (
    Complaint,
    ComplaintEvent,
    ComplaintPost,
    Notification,
    Post,
    SentimentScore,
)
from storage.privacy import mask_personal_data

OPENED_KIND = "complaint_opened"


def annotate_payload(
    payload: dict[str, Any], complaint: Complaint, grouped: list[str], repeat_of: Complaint | None
) -> dict[str, Any]:
    """Add grouping and repeat information to a rendered alert (a context block, and
    ``grouped_posts`` / ``repeat_of_id`` keys for the delivery layer)."""
    notes = []
    if grouped:
        kinds = ", ".join(sorted(set(grouped)))
        notes.append(f"{len(grouped)} more post(s) grouped into this complaint ({kinds})")
    if repeat_of is not None:
        notes.append(
            f"Repeat: the same author's complaint #{repeat_of.id} was opened "
            f"{repeat_of.opened_at:%Y-%m-%d}"
        )
        payload["text"] = f"Repeat complaint. {payload['text']}"
    payload["grouped_posts"] = len(grouped)
    payload["repeat_of_id"] = complaint.repeat_of_id
    if notes:
        payload.setdefault("blocks", []).append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(notes)}]}
        )
    return payload


def new_complaint(
    *,
    post_id: int,
    kind: str,
    watch: str | None,
    priority: str,
    category: str | None,
    reach: int,
    negativity: float,
    responder: Any,
    now: datetime,
    due: Deadlines,
) -> Complaint:
    """An open complaint (post or spike) opened ``now``, not yet added to the session."""
    return Complaint(
        post_id=post_id,
        kind=kind,
        watch=watch,
        status="open",
        priority=priority,
        category=category,
        reach=reach,
        negativity=negativity,
        on_duty=responder.name if responder else None,
        opened_at=now,
        ack_due_at=due.ack,
        response_due_at=due.response,
        resolution_due_at=due.resolution,
        reach_checked_at=now,
        updated_at=now,
    )


def insert_complaint(
    session: Session,
    post: Post,
    score: SentimentScore,
    reach: int,
    thresholds: ThresholdSettings,
    deadlines: DeadlineSettings,
    responder: Any,
    now: datetime,
) -> Complaint | None:
    """The new complaint with its ``original`` group row, or None on a lost race. Its
    priority and deadlines are provisional until :func:`announce_complaint` knows the group."""
    priority = priority_for(reach, score.negative, post.author_followers, thresholds)
    complaint = new_complaint(
        post_id=post.id,
        kind="post",
        watch=post.watch,
        priority=priority,
        category=score.category,
        reach=reach,
        negativity=score.negative,
        responder=responder,
        now=now,
        due=deadlines_for(priority, now, deadlines, score.category),
    )
    try:
        with session.begin_nested():
            session.add(complaint)
            session.flush()
            session.add(
                ComplaintPost(
                    complaint_id=complaint.id, post_id=post.id, relation="original", added_at=now
                )
            )
            session.flush()
    except IntegrityError:
        return None
    complaint.post = post
    return complaint


def announce_complaint(
    session: Session,
    complaint: Complaint,
    score: SentimentScore,
    repeat_of: dict[int, Complaint],
    thresholds: ThresholdSettings,
    triage: TriageSettings,
    deadlines: DeadlineSettings,
    responder: Any,
    rota: RotaSettings,
    now: datetime,
    channel: str,
) -> None:
    """Settle a new complaint's group reach and priority, then write its "opened"
    event, its alert and (for a repeat) its "repeat" event."""
    posts = group_posts(session, complaint)
    post = complaint.post
    complaint.reach = group_reach(session, complaint)
    complaint.reach_notified = complaint.reach
    assessed = assess_priority(
        negativity=score.negative,
        reach=complaint.reach,
        growth_per_hour=0.0,
        followers=post.author_followers,
        category=score.category,
        repeat=complaint.repeat_of_id is not None,
        thresholds=thresholds,
        settings=triage,
    )
    due = deadlines_for(assessed.priority, now, deadlines, score.category)
    complaint.priority = assessed.priority
    complaint.ack_due_at = due.ack
    complaint.response_due_at = due.response
    complaint.resolution_due_at = due.resolution
    earlier = repeat_of.get(complaint.id)
    session.add(
        ComplaintEvent(
            complaint_id=complaint.id,
            actor=SYSTEM_ACTOR,
            action="opened",
            at=now,
            detail={
                "reach": complaint.reach,
                "priority": complaint.priority,
                "priority_score": assessed.score,
                "priority_reasons": list(assessed.reasons),
                "on_duty": complaint.on_duty,
                "negativity": round(score.negative, 4),
                "model_version": score.model_version,
                "grouped_posts": len(posts) - 1,
                "repeat_of_id": complaint.repeat_of_id,
            },
        )
    )
    relations = session.execute(
        select(ComplaintPost.relation).where(
            ComplaintPost.complaint_id == complaint.id, ComplaintPost.relation != "original"
        )
    ).scalars()
    payload = annotate_payload(
        complaint_message(complaint, post, responder), complaint, list(relations), earlier
    )
    session.add(
        Notification(
            key=f"complaint:{complaint.id}:opened",
            complaint_id=complaint.id,
            kind=OPENED_KIND,
            channel=channel,
            payload=payload,
            status="pending",
            attempts=0,
            created_at=now,
        )
    )
    session.flush()
    if earlier is not None:
        author = mask_personal_data(post.author or "the author")
        record_event(
            session,
            complaint,
            "repeat",
            SYSTEM_ACTOR,
            now,
            {"repeat_of_id": earlier.id, "platform": post.platform},
            f"Complaint #{complaint.id} is a repeat: {author} on {post.platform} complained "
            f"before in #{earlier.id} ({earlier.opened_at:%Y-%m-%d}, {earlier.status})",
            mention=slack_mention(rota, complaint),
            channel=channel,
        )


def record_grouped(
    session: Session,
    complaint: Complaint,
    row: ComplaintPost,
    post: Post,
    rota: RotaSettings,
    now: datetime,
    channel: str,
    *,
    notify: bool,
) -> None:
    added = post_reach(post)
    author = mask_personal_data(post.author or "unknown author")
    record_event(
        session,
        complaint,
        "grouped",
        SYSTEM_ACTOR,
        now,
        {
            "post_id": post.id,
            "relation": row.relation,
            "similarity": row.similarity,
            "platform": post.platform,
            "source": post.source,
            "reach_added": added,
            "reach": complaint.reach,
        },
        f"Complaint #{complaint.id}: a {row.relation.replace('_', '-')} by {author} on "
        f"{post.platform} attached (+~{added:,} people, reach now ~{complaint.reach:,})",
        mention=slack_mention(rota, complaint) if complaint.status != "dismissed" else None,
        channel=channel,
        notify=notify,
    )
