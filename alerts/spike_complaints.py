"""Opening one ``spike`` complaint when a watch gets far more negative posts in an hour
than usual (the test is :func:`alerts.spikes.spike_test`).

Each run tests the current hour and the ones before it (``SpikeSettings.hours_checked``)
for every watch, overall and per complaint category. The first time an hour spikes, a
complaint of kind ``spike`` opens: its post is the most-reached negative post of the hour
that is in no complaint yet, the others attach with relation ``spike`` (only those of
the category when a category spiked), reach is their sum, and a :class:`Spike` row
records the test. The unique (watch, hour) of ``spikes`` means an hour never opens
twice: a later run attaches the hour's new posts to the same complaint (one ``grouped``
event per run) and reopens it if it was resolved. Nothing here commits.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alerts.complaint_events import SYSTEM_ACTOR, record_event, slack_mention
from alerts.complaint_opening import new_complaint
from alerts.config import (
    DEFAULT_CHANNEL,
    DeadlineSettings,
    RotaSettings,
    SpikeSettings,
    ThresholdSettings,
)
from alerts.grouping import attach, post_reach, reopen_on_activity
from alerts.rota import on_duty_at
from alerts.slack import complaint_message, slack_time
from alerts.spikes import (
    HOUR,
    SpikeVerdict,
    baseline_hours,
    hours_to_check,
    spike_priority,
    spike_test,
)
from alerts.triage import deadlines_for
from storage.models import (
    Complaint,
    ComplaintEvent,
    ComplaintPost,
    Notification,
    Post,
    SentimentScore,
    Spike,
)

ALL_CATEGORIES = None


@dataclass
class SpikeReport:
    opened: list[Complaint] = field(default_factory=list)
    extended: list[Complaint] = field(default_factory=list)
    reopened: list[Complaint] = field(default_factory=list)


@dataclass(frozen=True)
class NegativePost:
    post_id: int
    watch: str
    hour: datetime
    category: str | None
    negative: float


def _negative_posts(
    session: Session, hours: list[datetime], threshold: float
) -> list[NegativePost]:
    """Posts of a watch made in one of ``hours`` whose newest score is negative enough."""
    made = func.coalesce(Post.published_at, Post.fetched_at)
    in_hours = or_(*(and_(made >= hour, made < hour + HOUR) for hour in hours))
    rows = session.execute(
        select(Post.id, Post.watch, made, SentimentScore.negative, SentimentScore.category)
        .join(SentimentScore, SentimentScore.post_id == Post.id)
        .where(in_hours, Post.watch.is_not(None))
        .order_by(Post.id, SentimentScore.scored_at.desc(), SentimentScore.id.desc())
    ).tuples()
    newest: dict[int, NegativePost] = {}
    for post_id, watch, at, negative, category in rows:
        if post_id in newest or watch is None:
            continue
        start = at.replace(minute=0, second=0, microsecond=0)
        newest[post_id] = NegativePost(post_id, watch, start, category, negative)
    return [post for post in newest.values() if post.negative >= threshold]


def _taken(session: Session, post_ids: list[int]) -> set[int]:
    """Which of ``post_ids`` already belong to a complaint."""
    if not post_ids:
        return set()
    own = select(Complaint.post_id).where(Complaint.post_id.in_(post_ids))
    grouped = select(ComplaintPost.post_id).where(ComplaintPost.post_id.in_(post_ids))
    return set(session.execute(own).scalars()) | set(session.execute(grouped).scalars())


def _strongest(verdicts: dict[str | None, SpikeVerdict]) -> tuple[str | None, SpikeVerdict] | None:
    """The spiking verdict with the smallest p-value (the whole watch wins a tie)."""
    spiking = [(key, v) for key, v in verdicts.items() if v.is_spike]
    if not spiking:
        return None
    return min(spiking, key=lambda item: (item[1].p_value, item[0] is not None, item[0] or ""))


def detect_spikes(
    session: Session,
    settings: SpikeSettings,
    thresholds: ThresholdSettings,
    deadlines: DeadlineSettings,
    rota: RotaSettings,
    now: datetime,
    *,
    channel: str = DEFAULT_CHANNEL,
) -> SpikeReport:
    """Open or extend spike complaints for the hours checked at ``now`` (module docstring)."""
    report = SpikeReport()
    if not settings.enabled:
        return report
    checked = hours_to_check(now, settings)
    all_hours = sorted({h for hour in checked for h in [hour, *baseline_hours(hour, settings)]})
    posts = _negative_posts(session, all_hours, thresholds.negativity)
    counts: Counter[tuple[str, str | None, datetime]] = Counter()
    of_hour: dict[tuple[str, datetime], list[NegativePost]] = defaultdict(list)
    for post in posts:
        counts[(post.watch, ALL_CATEGORIES, post.hour)] += 1
        if post.category:
            counts[(post.watch, post.category, post.hour)] += 1
        of_hour[(post.watch, post.hour)].append(post)
    for watch, hour in sorted(key for key in of_hour if key[1] in checked):
        hour_posts = of_hour[(watch, hour)]
        existing = session.execute(
            select(Spike).where(Spike.watch == watch, Spike.hour_start == hour)
        ).scalar_one_or_none()
        if existing is not None:
            _extend(session, existing, hour_posts, rota, now, channel, report)
            continue
        categories = {ALL_CATEGORIES} | {p.category for p in hour_posts if p.category}
        verdicts = {
            category: spike_test(
                counts[(watch, category, hour)],
                [counts[(watch, category, b)] for b in baseline_hours(hour, settings)],
                settings,
            )
            for category in categories
        }
        strongest = _strongest(verdicts)
        if strongest is None:
            continue
        category, verdict = strongest
        members = [p for p in hour_posts if category is None or p.category == category]
        complaint = _open(
            session,
            watch,
            hour,
            category,
            verdict,
            members,
            settings,
            deadlines,
            rota,
            now,
            channel,
        )
        if complaint is not None:
            report.opened.append(complaint)
    session.flush()
    return report


def _open(
    session: Session,
    watch: str,
    hour: datetime,
    category: str | None,
    verdict: SpikeVerdict,
    members: list[NegativePost],
    settings: SpikeSettings,
    deadlines: DeadlineSettings,
    rota: RotaSettings,
    now: datetime,
    channel: str,
) -> Complaint | None:
    taken = _taken(session, [m.post_id for m in members])
    free = [m for m in members if m.post_id not in taken]
    if not free:
        return None  # every post of the hour is already someone's complaint
    stored = {
        p.id: p
        for p in session.execute(
            select(Post).where(Post.id.in_([m.post_id for m in free]))
        ).scalars()
    }
    top = max(free, key=lambda m: (post_reach(stored[m.post_id]), -m.post_id))
    priority = spike_priority(verdict, settings)
    responder = on_duty_at(rota, now)
    common = Counter(m.category for m in members if m.category).most_common(1)
    complaint = new_complaint(
        post_id=top.post_id,
        kind="spike",
        watch=watch,
        priority=priority,
        category=category or (common[0][0] if common else None),
        reach=sum(post_reach(stored[m.post_id]) for m in free),
        negativity=sum(m.negative for m in members) / len(members),
        responder=responder,
        now=now,
        due=deadlines_for(priority, now, deadlines),
    )
    try:
        with session.begin_nested():
            session.add(complaint)
            session.flush()
            session.add(
                Spike(
                    watch=watch,
                    hour_start=hour,
                    category=category,
                    count=verdict.count,
                    expected=verdict.expected,
                    p_value=verdict.p_value,
                    complaint_id=complaint.id,
                    detected_at=now,
                )
            )
            session.flush()
    except IntegrityError:
        return None  # a concurrent run opened this spike (or took its top post)
    complaint.reach_notified = complaint.reach
    for member in sorted(free, key=lambda m: m.post_id):
        relation = "original" if member is top else "spike"
        attach(session, complaint.id, stored[member.post_id], relation, None, now)
    detail = {
        "reach": complaint.reach,
        "priority": priority,
        "on_duty": complaint.on_duty,
        "hour_start": hour.isoformat(),
        "category": category,
        "count": verdict.count,
        "expected": round(verdict.expected, 3),
        "p_value": verdict.p_value,
        "posts": len(free),
    }
    session.add(
        ComplaintEvent(
            complaint_id=complaint.id, actor=SYSTEM_ACTOR, action="opened", at=now, detail=detail
        )
    )
    payload = complaint_message(complaint, stored[top.post_id], responder)
    what = f"{category} complaints" if category else "negative posts"
    summary = (
        f"Spike: {verdict.count} {what} about {watch} in the hour from "
        f"{slack_time(hour)} (usually ~{verdict.expected:.1f}); the most-reached one below"
    )
    payload["blocks"].insert(1, {"type": "section", "text": {"type": "mrkdwn", "text": summary}})
    payload["text"] = f"Spike: {verdict.count} {what} about {watch} in one hour. {payload['text']}"
    payload["spike"] = {
        "hour_start": hour.isoformat(),
        "count": verdict.count,
        "category": category,
    }
    session.add(
        Notification(
            key=f"complaint:{complaint.id}:opened",
            complaint_id=complaint.id,
            kind="complaint_opened",
            channel=channel,
            payload=payload,
            status="pending",
            attempts=0,
            created_at=now,
        )
    )
    return complaint


def _extend(
    session: Session,
    spike: Spike,
    hour_posts: list[NegativePost],
    rota: RotaSettings,
    now: datetime,
    channel: str,
    report: SpikeReport,
) -> None:
    """Attach the hour's new posts to an existing spike's complaint."""
    members = [p for p in hour_posts if spike.category is None or p.category == spike.category]
    spike.count = max(spike.count, len(members))
    taken = _taken(session, [m.post_id for m in members])
    free = [m for m in members if m.post_id not in taken]
    if not free:
        return
    complaint = session.get_one(Complaint, spike.complaint_id)
    added = []
    for member in sorted(free, key=lambda m: m.post_id):
        post = session.get_one(Post, member.post_id)
        if attach(session, complaint.id, post, "spike", None, now) is not None:
            added.append(post)
    if not added:
        return
    gained = sum(post_reach(post) for post in added)
    reach = complaint.reach + gained  # stored by the reach check that follows (growth)
    record_event(
        session,
        complaint,
        "grouped",
        SYSTEM_ACTOR,
        now,
        {
            "post_ids": [post.id for post in added],
            "relation": "spike",
            "count": spike.count,
            "reach_added": gained,
            "reach": reach,
        },
        f"Spike #{complaint.id}: {len(added)} more negative post(s) in the same hour "
        f"({spike.count} in all, +~{gained:,} people, reach now ~{reach:,})",
        mention=slack_mention(rota, complaint),
        channel=channel,
    )
    report.extended.append(complaint)
    reason = f"new activity: {len(added)} more post(s) in the spike hour"
    if reopen_on_activity(session, complaint, SYSTEM_ACTOR, now, reason, rota):
        report.reopened.append(complaint)
