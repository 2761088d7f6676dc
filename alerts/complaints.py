"""Opening complaint records for scored posts that are negative and spreading, and
attaching the posts that tell the same story to the complaint that already has it.

Each run takes the scored posts without a complaint first fetched within
``GroupingSettings.rescan_window``, oldest first. A post that belongs to an existing
complaint (:mod:`alerts.grouping`: repost, quote, near-duplicate) attaches to it whatever
its tone, adds its reach and sends a ``grouped`` event to that complaint's thread (a
resolved complaint is reopened). Otherwise a post that :func:`alerts.triage.is_complaint`
accepts opens a complaint; so does a negative post by an author who had a complaint within
``RepeatSettings.window`` — a *repeat*, linked through ``repeat_of_id``. Posts left over
are tried once more against the complaints opened in the same run.

Each new complaint is written together with its audit event and its outbox notification
in the caller's transaction, so either all exist or none does; the outbox
(:mod:`alerts.outbox`) delivers the message later. The alert is rendered after grouping,
so it shows the reach of the whole group. Nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from alerts.complaint_events import record_event, slack_mention
from alerts.config import (
    DEFAULT_CHANNEL,
    DeadlineSettings,
    GroupingSettings,
    ReachGrowthSettings,
    RepeatSettings,
    RotaSettings,
    ThresholdSettings,
    TriageSettings,
)
from alerts.errors import ComplaintNotFound
from alerts.grouping import (
    GroupIndex,
    attach,
    group_posts,
    group_reach,
    post_reach,
    post_time,
    reopen_on_activity,
)
from alerts.priority import assess_priority
from alerts.reach_growth import check_reach
from alerts.rota import on_duty_at
from alerts.slack import complaint_message
from alerts.triage import deadlines_for, is_complaint, priority_for
from storage.models import (
    Complaint,
    ComplaintEvent,
    ComplaintPost,
    Notification,
    Post,
    SentimentScore,
)
from storage.privacy import mask_personal_data

SYSTEM_ACTOR = "uproar"
OPENED_KIND = "complaint_opened"


@dataclass
class PostTriage:
    """What one pass over the candidate posts did."""

    opened: list[Complaint] = field(default_factory=list)
    grouped: list[tuple[Complaint, ComplaintPost, Post]] = field(default_factory=list)
    reopened: list[Complaint] = field(default_factory=list)
    reach_grew: list[Complaint] = field(default_factory=list)


def _candidates(
    session: Session,
    thresholds: ThresholdSettings,
    model_version: str | None,
    since: datetime | None = None,
) -> list[tuple[Post, SentimentScore]]:
    """Scored posts in no complaint (first fetched since ``since``), oldest first, each
    with its newest score (of ``model_version`` if given).

    Calm posts are kept too: a quote or a reworded copy of a complaint spreads the story
    whatever the model thinks of its tone, so it may attach; only negative ones open
    complaints. ``since`` (``GroupingSettings.rescan_window``) keeps the rescan bounded.
    """
    query = (
        select(Post, SentimentScore)
        .join(SentimentScore, SentimentScore.post_id == Post.id)
        .where(
            Post.id.not_in(select(Complaint.post_id)),
            Post.id.not_in(select(ComplaintPost.post_id)),
        )
        .order_by(Post.id, SentimentScore.scored_at.desc(), SentimentScore.id.desc())
    )
    if since is not None:
        query = query.where(Post.fetched_at >= since)
    if model_version is not None:
        query = query.where(SentimentScore.model_version == model_version)
    newest: dict[int, tuple[Post, SentimentScore]] = {}
    for post, score in session.execute(query).tuples():
        newest.setdefault(post.id, (post, score))
    return sorted(newest.values(), key=lambda pair: (post_time(pair[0]), pair[0].id))


def _recent_by_author(session: Session, since: datetime) -> dict[tuple[str, str], Complaint]:
    """The newest ``post`` complaint of each (platform, author) opened since ``since``."""
    rows = session.execute(
        select(Complaint, Post.platform, Post.author)
        .join(Post, Post.id == Complaint.post_id)
        .where(Complaint.opened_at >= since, Complaint.kind == "post", Post.author.is_not(None))
        .order_by(Complaint.opened_at, Complaint.id)
    ).tuples()
    return {(platform, author): complaint for complaint, platform, author in rows if author}


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


def open_complaints(
    session: Session,
    thresholds: ThresholdSettings,
    deadlines: DeadlineSettings,
    rota: RotaSettings,
    now: datetime,
    model_version: str | None = None,
    *,
    channel: str = DEFAULT_CHANNEL,
    grouping: GroupingSettings | None = None,
    repeats: RepeatSettings | None = None,
    reach_growth: ReachGrowthSettings | None = None,
    triage: TriageSettings | None = None,
) -> list[Complaint]:
    """The complaints :func:`triage_posts` opened (see the module docstring)."""
    return triage_posts(
        session,
        thresholds,
        deadlines,
        rota,
        now,
        model_version,
        channel=channel,
        grouping=grouping,
        repeats=repeats,
        reach_growth=reach_growth,
        triage=triage,
    ).opened


def triage_posts(
    session: Session,
    thresholds: ThresholdSettings,
    deadlines: DeadlineSettings,
    rota: RotaSettings,
    now: datetime,
    model_version: str | None = None,
    *,
    channel: str = DEFAULT_CHANNEL,
    grouping: GroupingSettings | None = None,
    repeats: RepeatSettings | None = None,
    reach_growth: ReachGrowthSettings | None = None,
    triage: TriageSettings | None = None,
) -> PostTriage:
    """Attach, open and link complaints for the candidate posts (module docstring).

    With ``model_version`` only that model's scores count; otherwise each post's newest
    score. The caller commits. A post never gets two complaints: the query skips posts
    that have one, and the unique ``complaints.post_id`` / ``complaint_posts.post_id``
    stop a concurrent run (that post is then skipped, inside a savepoint, without undoing
    the others). Priority follows ``triage`` (:mod:`alerts.priority`) with the reach of the
    whole group and the repeat status; growth is not known yet when a complaint opens.
    """
    grouping = grouping or GroupingSettings()
    repeats = repeats or RepeatSettings()
    reach_growth = reach_growth or ReachGrowthSettings()
    triage = triage or TriageSettings()
    result = PostTriage()
    responder = on_duty_at(rota, now)
    candidates = _candidates(session, thresholds, model_version, now - grouping.rescan_window)
    if not candidates:
        return result
    earliest = post_time(candidates[0][0])
    index = GroupIndex.load(
        session, grouping, earliest - grouping.window, (post.external_id for post, _ in candidates)
    )
    by_author = _recent_by_author(session, now - repeats.window)
    opened_scores: dict[int, SentimentScore] = {}
    repeat_of: dict[int, Complaint] = {}
    touched: dict[int, Complaint] = {}

    def try_attach(post: Post) -> bool:
        match = index.match(post)
        if match is None:
            return False
        complaint = session.get_one(Complaint, match.complaint_id)
        row = attach(session, complaint.id, post, match.relation, match.similarity, now)
        if row is None:
            return True  # another run attached it meanwhile
        index.add(complaint.id, post, complaint.watch)
        result.grouped.append((complaint, row, post))
        reason = f"new activity: post {post.id} grouped as {match.relation}"
        if reopen_on_activity(session, complaint, SYSTEM_ACTOR, now, reason):
            result.reopened.append(complaint)
        touched[complaint.id] = complaint
        return True

    leftovers: list[tuple[Post, SentimentScore]] = []
    for post, score in candidates:
        if try_attach(post):
            continue
        if score.negative < thresholds.negativity:
            leftovers.append((post, score))
            continue
        reach = post_reach(post)
        author_key = (post.platform, post.author) if post.author else None
        earlier = by_author.get(author_key) if author_key else None
        repeat_opens = earlier is not None and not repeats.needs_reach
        if not (is_complaint(score.negative, reach, thresholds) or repeat_opens):
            leftovers.append((post, score))
            continue
        complaint = _insert(session, post, score, reach, thresholds, deadlines, responder, now)
        if complaint is None:
            continue  # another run opened this post's complaint first
        if earlier is not None:
            complaint.repeat_of_id = earlier.id
            repeat_of[complaint.id] = earlier
        if author_key:
            by_author[author_key] = complaint
        index.add(complaint.id, post, complaint.watch)
        opened_scores[complaint.id] = score
        result.opened.append(complaint)
    for post, _score in leftovers:  # a small copy of a story that opened later in the run
        try_attach(post)
    session.flush()

    for complaint in result.opened:
        _announce(
            session,
            complaint,
            opened_scores[complaint.id],
            repeat_of,
            thresholds,
            triage,
            deadlines,
            responder,
            rota,
            now,
            channel,
        )
    opened_ids = {complaint.id for complaint in result.opened}
    for complaint in touched.values():
        if complaint.id not in opened_ids and check_reach(
            session, complaint, now, reach_growth, rota, channel=channel
        ):
            result.reach_grew.append(complaint)
    for complaint, row, post in result.grouped:
        _record_grouped(
            session, complaint, row, post, rota, now, channel, notify=complaint.id not in opened_ids
        )
    session.flush()
    return result


def _insert(
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
    priority and deadlines are provisional until :func:`_announce` knows the group."""
    priority = priority_for(reach, score.negative, post.author_followers, thresholds)
    due = deadlines_for(priority, now, deadlines, score.category)
    complaint = Complaint(
        post_id=post.id,
        kind="post",
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
        reach_checked_at=now,
        updated_at=now,
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


def _announce(
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


def _record_grouped(
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
