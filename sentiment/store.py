"""Scoring stored posts: the database edge of the sentiment package."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from sentiment.categorise import categories_for
from sentiment.score import Scorer
from storage.db import dialect_insert, session_scope
from storage.models import Post, SentimentScore
from storage.posts import posts_without_score


def post_text(post: Post) -> str:
    """What the model reads: the title (when there is one) and then the body."""
    title = (post.title or "").strip()
    text = (post.text or "").strip()
    return f"{title}\n{text}" if title and title not in text else text or title


def _insert_scores(session: Session, rows: list[dict[str, object]]) -> int:
    """Insert score rows, skipping any (post, model version) another scorer already wrote."""
    insert = dialect_insert(session)
    statement = (
        insert(SentimentScore)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["post_id", "model_version"])
        .returning(SentimentScore.id)
    )
    return len(session.execute(statement).scalars().all())


def score_unscored_posts(
    session_factory: sessionmaker[Session],
    model: Scorer,
    batch_size: int = 64,
    limit: int | None = None,
    since: datetime | None = None,
    watch: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Score every post that ``model.version`` has not scored yet; returns rows written.

    Works in batches of ``batch_size`` posts, one transaction each, so a crash loses at most
    one batch and a rerun carries on. Safe to run twice or side by side: a post already
    scored by this model version is skipped, never scored twice. ``since`` and ``watch``
    narrow it to recent posts (published, or else fetched, at or after ``since``) of one
    watch; ``progress`` is called with the number of posts done after each batch.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    written = 0
    seen = 0
    while limit is None or seen < limit:
        want = batch_size if limit is None else min(batch_size, limit - seen)
        with session_scope(session_factory) as session:
            posts = posts_without_score(
                session, model.version, limit=want, since=since, watch=watch
            )
            if not posts:
                break
            texts = [post_text(post) for post in posts]
            scores = model.score(texts, batch_size=batch_size)
            categories = categories_for(model, texts, scores)
            rows: list[dict[str, object]] = [
                {
                    "post_id": post.id,
                    "model_version": model.version,
                    "negative": score.negative,
                    "neutral": score.neutral,
                    "positive": score.positive,
                    "label": score.label,
                    "category": category,
                }
                for post, score, category in zip(posts, scores, categories, strict=True)
            ]
            written += _insert_scores(session, rows)
        seen += len(posts)
        if progress is not None:
            progress(len(posts))
        if len(posts) < want:
            break
    return written
