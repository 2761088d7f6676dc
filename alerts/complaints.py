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

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from alerts.complaint_opening import (
    OPENED_KIND,
    SYSTEM_ACTOR,
    announce_complaint,
    insert_complaint,
    record_grouped,
)
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
    post_reach,
    post_time,
    reopen_on_activity,
)
from alerts.reach_growth import check_reach
from alerts.rota import on_duty_at
from alerts.triage import is_complaint
from storage.models import (
    Complaint,
    ComplaintPost,
    Post,
    SentimentScore,
)

__all__ = ["OPENED_KIND", "SYSTEM_ACTOR", "PostTriage", "open_complaints", "triage_posts"]


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
        if reopen_on_activity(session, complaint, SYSTEM_ACTOR, now, reason, rota):
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
        complaint = insert_complaint(
            session, post, score, reach, thresholds, deadlines, responder, now
        )
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
        announce_complaint(
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
        record_grouped(
            session, complaint, row, post, rota, now, channel, notify=complaint.id not in opened_ids
        )
    session.flush()
    return result


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
