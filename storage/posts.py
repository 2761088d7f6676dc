"""Writing posts idempotently and finding the ones that still need work."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from storage.db import dialect_insert
from storage.models import Amplification, Post, SentimentScore
from storage.privacy import mask_personal_data

ENGAGEMENT_FIELDS = ("author_followers", "likes", "reposts", "replies", "views")


@dataclass
class NewPost:
    """A normalised post: what every spider yields and storage writes.

    Mutable because crawl pipelines annotate it (``watch``) on its way to storage. Its
    text and title are masked (phone, e-mail, ID and card numbers) the moment it is made,
    so personal data never reaches the database, an alert or a log.
    """

    source: str
    platform: str
    external_id: str
    text: str
    url: str | None = None
    author: str | None = None
    author_followers: int | None = None
    title: str | None = None
    language: str | None = None
    published_at: datetime | None = None
    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None
    views: int | None = None
    rating: float | None = None
    rating_scale: float | None = None
    watch: str | None = None
    region: str | None = None

    def __post_init__(self) -> None:
        self.text = mask_personal_data(self.text)
        if self.title:
            self.title = mask_personal_data(self.title)


@dataclass
class NewAmplification:
    """A repost / boost / retweet of a post from the same source, as a spider saw it.

    The original is stored once as a :class:`NewPost`; this records who carried it
    further and to how many followers.
    """

    source: str
    original_external_id: str
    external_id: str  # the repost's own id on the platform
    amplifier: str
    amplifier_followers: int | None = None
    amplified_at: datetime | None = None


def content_hash(title: str | None, text: str) -> str:
    """A stable fingerprint of what a post says, for spotting copies across sources."""
    normalised = " ".join(f"{title or ''} {text}".lower().split())
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def save_post(session: Session, post: NewPost, fetched_at: datetime) -> bool:
    """Insert ``post`` unless (source, external_id) is already stored; True when new.

    A known post keeps its text but its engagement counters only ever grow, so reach
    stays current without rewriting history.
    """
    return post.external_id in save_posts(session, [post], fetched_at)


def save_posts(session: Session, posts: Sequence[NewPost], fetched_at: datetime) -> set[str]:
    """Insert a batch of posts from one source in one statement; return the external ids
    that were new. Known posts keep their text; their engagement counters only grow."""
    if not posts:
        return set()
    unique: dict[tuple[str, str], NewPost] = {}
    for post in posts:  # a page may repeat a post: the last copy has the freshest counts
        unique[(post.source, post.external_id)] = post
    rows = [
        asdict(post)
        | {"fetched_at": fetched_at, "content_hash": content_hash(post.title, post.text)}
        for post in unique.values()
    ]
    insert = dialect_insert(session)
    statement = (
        insert(Post)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["source", "external_id"])
        .returning(Post.source, Post.external_id)
    )
    inserted = {(row.source, row.external_id) for row in session.execute(statement)}
    known = [post for key, post in unique.items() if key not in inserted]
    for source in {post.source for post in known}:
        by_id = {post.external_id: post for post in known if post.source == source}
        existing = session.execute(
            select(Post).where(Post.source == source, Post.external_id.in_(by_id))
        ).scalars()
        for stored in existing:
            _grow_counters(stored, by_id[stored.external_id])
    return {external_id for _, external_id in inserted}


def _grow_counters(stored: Post, fresh: NewPost) -> None:
    for field in ENGAGEMENT_FIELDS:
        value = getattr(fresh, field)
        if value is not None and (getattr(stored, field) or 0) < value:
            setattr(stored, field, value)


def save_amplifications(
    session: Session, amplifications: Sequence[NewAmplification], fetched_at: datetime
) -> int:
    """Record who amplified stored posts; return how many amplifications were new.

    Amplifications of posts that are not stored (outside every watch) are ignored. Each
    new one adds one to the post's ``amplifications`` and its author's followers to the
    post's ``amplifier_followers``.
    """
    new = 0
    for source in {amp.source for amp in amplifications}:
        of_source = [amp for amp in amplifications if amp.source == source]
        rows = session.execute(
            select(Post.external_id, Post.id).where(
                Post.source == source,
                Post.external_id.in_({amp.original_external_id for amp in of_source}),
            )
        ).tuples()
        post_ids = {external_id: post_id for external_id, post_id in rows}
        for amp in of_source:
            post_id = post_ids.get(amp.original_external_id)
            if post_id is None:
                continue
            insert = dialect_insert(session)
            inserted = session.execute(
                insert(Amplification)
                .values(
                    post_id=post_id,
                    external_id=amp.external_id,
                    amplifier=amp.amplifier,
                    amplifier_followers=amp.amplifier_followers,
                    amplified_at=amp.amplified_at,
                    fetched_at=fetched_at,
                )
                .on_conflict_do_nothing(index_elements=["post_id", "amplifier"])
                .returning(Amplification.id)
            ).scalar_one_or_none()
            if inserted is None:
                continue
            new += 1
            session.execute(
                update(Post)
                .where(Post.id == post_id)
                .values(
                    amplifications=Post.amplifications + 1,
                    amplifier_followers=Post.amplifier_followers + (amp.amplifier_followers or 0),
                )
            )
    return new


def _unscored(model_version: str, since: datetime | None, watch: str | None) -> Select[Any]:
    scored = select(SentimentScore.post_id).where(SentimentScore.model_version == model_version)
    query = select(Post).where(Post.id.not_in(scored))
    if since is not None:
        # A post's time is when it was published, or when we fetched it when the platform
        # gives no time.
        query = query.where(func.coalesce(Post.published_at, Post.fetched_at) >= since)
    if watch is not None:
        query = query.where(Post.watch == watch)
    return query


def posts_without_score(
    session: Session,
    model_version: str,
    limit: int = 1000,
    since: datetime | None = None,
    watch: str | None = None,
) -> list[Post]:
    """Stored posts that ``model_version`` has not scored yet, oldest first; optionally only
    those published (or, without a time, fetched) at or after ``since``, of one ``watch``."""
    query = _unscored(model_version, since, watch).order_by(Post.id).limit(limit)
    return list(session.execute(query).scalars())


def count_posts_without_score(
    session: Session, model_version: str, since: datetime | None = None, watch: str | None = None
) -> int:
    """How many posts :func:`posts_without_score` would return without a limit."""
    query = select(func.count()).select_from(_unscored(model_version, since, watch).subquery())
    return int(session.execute(query).scalar_one())
