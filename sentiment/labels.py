"""Human labels of stored posts: the corrections ``uproar sentiment retrain`` learns from.

A label says what a person decided a post is (negative / neutral / positive, and for a
negative post what the complaint is about). Labels are never overwritten: each one is a new
row, and the newest per post is the one that counts, so the history of who said what stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sentiment.categories import CATEGORY_IDS
from sentiment.config import SENTIMENTS
from sentiment.store import post_text
from storage.models import Complaint, Post, PostLabel


class LabelError(ValueError):
    """A label that cannot be stored: unknown post or complaint, or a value out of range."""


@dataclass(frozen=True)
class Correction:
    """The newest human label of one post, with the text the model reads."""

    post_id: int
    text: str
    sentiment: str
    category: str | None
    labeller: str
    created_at: datetime


def check_label(sentiment: str, category: str | None) -> None:
    """Refuse a sentiment or category uproar does not know, naming what is allowed."""
    if sentiment not in SENTIMENTS:
        raise LabelError(
            f"unknown sentiment {sentiment!r}; expected one of {', '.join(SENTIMENTS)}"
        )
    if category is None:
        return
    if category not in CATEGORY_IDS:
        raise LabelError(
            f"unknown category {category!r}; expected one of {', '.join(CATEGORY_IDS)}"
        )
    if sentiment != "negative":
        raise LabelError(
            f"a category describes a complaint: it goes with --sentiment negative, not {sentiment}"
        )


def post_of_complaint(session: Session, complaint_id: int) -> int:
    """The post a complaint was opened for."""
    post_id = session.execute(
        select(Complaint.post_id).where(Complaint.id == complaint_id)
    ).scalar_one_or_none()
    if post_id is None:
        raise LabelError(f"no complaint with id {complaint_id} (see uproar complaints list)")
    return post_id


def add_label(
    session: Session,
    post_id: int,
    sentiment: str,
    category: str | None,
    labeller: str,
    now: datetime,
) -> PostLabel:
    """Store one human label of ``post_id``; the caller commits."""
    check_label(sentiment, category)
    labeller = labeller.strip()
    if not labeller:
        raise LabelError("say who is labelling: --as NAME")
    if session.get(Post, post_id) is None:
        raise LabelError(f"no post with id {post_id} (a complaint id? use --complaint ID)")
    label = PostLabel(
        post_id=post_id,
        sentiment=sentiment,
        category=category,
        labeller=labeller,
        created_at=now,
    )
    session.add(label)
    session.flush()
    return label


def label_history(session: Session, post_id: int) -> list[PostLabel]:
    """Every label of one post, oldest first."""
    query = select(PostLabel).where(PostLabel.post_id == post_id)
    return list(session.execute(query.order_by(PostLabel.created_at, PostLabel.id)).scalars())


def corrections(session: Session) -> list[Correction]:
    """The newest label of every labelled post (ties on time: the later row), by post id."""
    ordered = (
        select(PostLabel, Post)
        .join(Post, Post.id == PostLabel.post_id)
        .order_by(PostLabel.post_id, PostLabel.created_at.desc(), PostLabel.id.desc())
    )
    chosen: dict[int, Correction] = {}
    for label, post in session.execute(ordered).tuples():
        if label.post_id not in chosen:
            chosen[label.post_id] = Correction(
                post_id=post.id,
                text=post_text(post),
                sentiment=label.sentiment,
                category=label.category,
                labeller=label.labeller,
                created_at=label.created_at,
            )
    return list(chosen.values())
