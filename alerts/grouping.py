"""Attaching posts to the complaint whose story they tell, so one story is one alert.

A new negative post attaches to an existing complaint of the same watch (instead of
opening another) when it is, in this order:

1. a **repost**: its external id is an amplification (boost, retweet) recorded for a
   complaint post, or its text is identical (same ``content_hash``) to one — a cross-post
   copied word for word, also from another platform;
2. a **quote**: its text links to a complaint post (its URL, or external id when that is
   a URI) — or a complaint post links to it;
3. a **near_duplicate**: its shingles (:mod:`alerts.similarity`) are at least
   ``GroupingSettings.near_duplicate_threshold`` similar to those of a complaint post
   published within ``GroupingSettings.window`` of it.

Only complaints of kind ``post`` take posts this way (spikes take the posts of their
hour, :mod:`alerts.spike_complaints`). A post belongs to at most one complaint: the
unique ``complaint_posts.post_id`` stops a concurrent run from attaching it twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alerts import lifecycle
from alerts.complaint_events import slack_mention
from alerts.config import GroupingSettings, RotaSettings
from alerts.reach import estimated_reach
from alerts.similarity import best_match, linked_urls, references, shingles, url_key
from storage.models import Amplification, Complaint, ComplaintPost, Post

RELATIONS = ("original", "repost", "quote", "near_duplicate", "spike")


def post_time(post: Post) -> datetime:
    """When a post was made: its published time, else when we first fetched it."""
    return post.published_at or post.fetched_at


def post_reach(post: Post) -> int:
    """:func:`alerts.reach.estimated_reach` of a stored post."""
    return estimated_reach(
        post.author_followers,
        post.reposts,
        post.replies,
        post.likes,
        post.views,
        amplifications=post.amplifications,
        amplifier_followers=post.amplifier_followers,
    )


@dataclass(frozen=True)
class Member:
    """A complaint post as the index compares it."""

    complaint_id: int
    post_id: int
    at: datetime
    shingles: frozenset[str]
    url: str | None
    external_id: str
    content_hash: str
    links: frozenset[str]


@dataclass(frozen=True)
class Match:
    """Which complaint a post belongs to, how, and (for near-duplicates) how similar."""

    complaint_id: int
    relation: str
    similarity: float | None


class GroupIndex:
    """The complaint posts of each watch, held in memory for one triage run."""

    def __init__(self, settings: GroupingSettings) -> None:
        self.settings = settings
        self.by_watch: dict[str | None, list[Member]] = defaultdict(list)
        self.reposts: dict[str, int] = {}  # amplification external id -> complaint id

    @classmethod
    def load(
        cls,
        session: Session,
        settings: GroupingSettings,
        since: datetime,
        external_ids: Iterable[str] = (),
    ) -> GroupIndex:
        """The posts of ``post`` complaints made since ``since``, and the amplifications
        of complaint posts whose external id is among ``external_ids``."""
        index = cls(settings)
        rows = session.execute(
            select(ComplaintPost.complaint_id, Post, Complaint.watch)
            .join(Post, Post.id == ComplaintPost.post_id)
            .join(Complaint, Complaint.id == ComplaintPost.complaint_id)
            .where(
                Complaint.kind == "post",
                func.coalesce(Post.published_at, Post.fetched_at) >= since,
            )
            .order_by(ComplaintPost.id)
        ).tuples()
        for complaint_id, post, watch in rows:
            index.add(complaint_id, post, watch)
        wanted = sorted(set(external_ids))
        for start in range(0, len(wanted), 500):
            links = session.execute(
                select(Amplification.external_id, ComplaintPost.complaint_id)
                .join(ComplaintPost, ComplaintPost.post_id == Amplification.post_id)
                .where(Amplification.external_id.in_(wanted[start : start + 500]))
            ).tuples()
            index.reposts.update({external_id: complaint_id for external_id, complaint_id in links})
        return index

    def add(self, complaint_id: int, post: Post, watch: str | None) -> None:
        self.by_watch[watch].append(
            Member(
                complaint_id=complaint_id,
                post_id=post.id,
                at=post_time(post),
                shingles=shingles(" ".join(filter(None, [post.title, post.text]))),
                url=post.url,
                external_id=post.external_id,
                content_hash=post.content_hash,
                links=frozenset(linked_urls(post.text)),
            )
        )

    def match(self, post: Post) -> Match | None:
        """The complaint ``post`` belongs to by the rules in the module docstring."""
        members = [m for m in self.by_watch.get(post.watch, []) if m.post_id != post.id]
        if post.external_id in self.reposts:
            return Match(self.reposts[post.external_id], "repost", 1.0)
        for member in members:
            if member.content_hash == post.content_hash:
                return Match(member.complaint_id, "repost", 1.0)
        own_url = url_key(post.url) if post.url else None
        links = linked_urls(post.text)
        for member in members:
            quoted = references(post.text, member.url, member.external_id, links)
            if quoted or (own_url is not None and own_url in member.links):
                return Match(member.complaint_id, "quote", None)
        at = post_time(post)
        window = self.settings.window
        near = [(i, m.shingles) for i, m in enumerate(members) if abs(m.at - at) <= window]
        found = best_match(
            shingles(" ".join(filter(None, [post.title, post.text]))),
            near,
            self.settings.near_duplicate_threshold,
            self.settings.min_shingles,
        )
        if found is None:
            return None
        position, similarity = found
        return Match(members[position].complaint_id, "near_duplicate", round(similarity, 4))


def attach(
    session: Session,
    complaint_id: int,
    post: Post,
    relation: str,
    similarity: float | None,
    now: datetime,
) -> ComplaintPost | None:
    """Record ``post`` as part of the complaint; None when it already belongs to one
    (a concurrent run got there first)."""
    if relation not in RELATIONS:
        raise ValueError(f"unknown relation {relation!r}: expected one of {RELATIONS}")
    row = ComplaintPost(
        complaint_id=complaint_id,
        post_id=post.id,
        relation=relation,
        similarity=similarity,
        added_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return row


def group_posts(session: Session, complaint: Complaint) -> list[Post]:
    """Every post of the complaint; its own post when none is recorded (complaints made
    before grouping existed, or written by other code)."""
    posts = list(
        session.execute(
            select(Post)
            .join(ComplaintPost, ComplaintPost.post_id == Post.id)
            .where(ComplaintPost.complaint_id == complaint.id)
            .order_by(ComplaintPost.id)
        ).scalars()
    )
    if not any(post.id == complaint.post_id for post in posts):
        posts.insert(0, session.get_one(Post, complaint.post_id))
    return posts


def group_reach(session: Session, complaint: Complaint) -> int:
    """The complaint's reach: the sum of its posts' estimated reach."""
    return sum(post_reach(post) for post in group_posts(session, complaint))


def reopen_on_activity(
    session: Session,
    complaint: Complaint,
    actor: str,
    now: datetime,
    reason: str,
    rota: RotaSettings,
) -> bool:
    """Reopen a resolved complaint through :func:`alerts.lifecycle.reopen` (the response
    desk's state machine), mentioning its owner or the responder on duty when it opened;
    False when it is not resolved."""
    if complaint.status != "resolved":
        return False
    lifecycle.reopen(
        session, complaint.id, actor, now, reason=reason, mention=slack_mention(rota, complaint)
    )
    return True
