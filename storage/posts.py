"""Writing posts idempotently and finding the ones that still need work."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.db import dialect_insert
from storage.models import Post, SentimentScore

ENGAGEMENT_FIELDS = ("author_followers", "likes", "reposts", "replies", "views")


@dataclass
class NewPost:
    """A normalised post: what every spider yields and storage writes.

    Mutable because crawl pipelines annotate it (``watch``) on its way to storage.
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


def content_hash(title: str | None, text: str) -> str:
    """A stable fingerprint of what a post says, for spotting copies across sources."""
    normalised = " ".join(f"{title or ''} {text}".lower().split())
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def save_post(session: Session, post: NewPost, fetched_at: datetime) -> bool:
    """Insert ``post`` unless (source, external_id) is already stored.

    Returns True when the post is new. A known post keeps its text but its engagement
    counters only ever grow, so reach stays current without rewriting history.
    """
    values = asdict(post) | {
        "fetched_at": fetched_at,
        "content_hash": content_hash(post.title, post.text),
    }
    insert = dialect_insert(session)
    statement = (
        insert(Post)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["source", "external_id"])
        .returning(Post.id)
    )
    inserted = session.execute(statement).scalar_one_or_none()
    if inserted is not None:
        return True
    existing = session.execute(
        select(Post).where(Post.source == post.source, Post.external_id == post.external_id)
    ).scalar_one()
    for field in ENGAGEMENT_FIELDS:
        fresh = getattr(post, field)
        if fresh is not None and (getattr(existing, field) or 0) < fresh:
            setattr(existing, field, fresh)
    return False


def posts_without_score(session: Session, model_version: str, limit: int = 1000) -> list[Post]:
    """Stored posts that ``model_version`` has not scored yet, oldest first."""
    scored = select(SentimentScore.post_id).where(SentimentScore.model_version == model_version)
    query = select(Post).where(Post.id.not_in(scored)).order_by(Post.id).limit(limit)
    return list(session.execute(query).scalars())
