"""The uproar schema: posts, sentiment scores, complaints, their audit trail, the
notification outbox and crawl state. One name per idea, the same as in the CLI and docs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import UTCDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class Post(Base):
    """One public post or review, stored once per (source, external_id)."""

    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_posts_source_external_id"),
        Index("ix_posts_published_at", "published_at"),
        Index("ix_posts_watch", "watch"),
        Index("ix_posts_content_hash", "content_hash"),
        Index("ix_posts_source_fetched_at", "source", "fetched_at"),
        # History queries (storage.history) read the day, source and newest negativity of
        # every post in a period from this index alone, without touching the table.
        Index("ix_posts_history", "published_at", "source", "negativity", "watch"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(100))
    platform: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(500))
    url: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(300))
    author_followers: Mapped[int | None] = mapped_column(BigInteger)
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    published_at: Mapped[datetime | None]
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    likes: Mapped[int | None] = mapped_column(BigInteger)
    reposts: Mapped[int | None] = mapped_column(BigInteger)
    replies: Mapped[int | None] = mapped_column(BigInteger)
    views: Mapped[int | None] = mapped_column(BigInteger)
    rating: Mapped[float | None] = mapped_column(Float)
    rating_scale: Mapped[float | None] = mapped_column(Float)
    watch: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))
    # Reposts / boosts / retweets we saw, and the followers of those who made them: the
    # audience they carried the post to (see :class:`Amplification`).
    amplifications: Mapped[int] = mapped_column(Integer, default=0)
    amplifier_followers: Mapped[int] = mapped_column(BigInteger, default=0)
    # The post's newest sentiment score (latest scored_at, then highest id) and its
    # negative probability, kept by database triggers on sentiment_scores (migration
    # 0010) so history queries need not look at every score. Not a foreign key: posts
    # and scores would point at each other.
    newest_score_id: Mapped[int | None] = mapped_column(Integer)
    negativity: Mapped[float | None] = mapped_column(Float)

    scores: Mapped[list[SentimentScore]] = relationship(back_populates="post")


class SentimentDaily(Base):
    """Posts per UTC day, watch and source with their newest scores summed: a rollup kept
    by database triggers on posts (migration 0010), so daily history reads a few rows per
    day instead of every post. ``watch`` is '' for posts without one; ``negatives`` counts
    negativity >= 0.6 (the default thresholds.negativity)."""

    __tablename__ = "sentiment_daily"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    watch: Mapped[str] = mapped_column(String(100), primary_key=True)
    source: Mapped[str] = mapped_column(String(100), primary_key=True)
    mentions: Mapped[int] = mapped_column(Integer)
    scored: Mapped[int] = mapped_column(Integer)
    negatives: Mapped[int] = mapped_column(Integer)
    negativity_sum: Mapped[float] = mapped_column(Float)


class Amplification(Base):
    """Someone reposted, boosted or retweeted a stored post: who, when, to how many.

    The original is stored once; each amplification adds its author's audience to the
    original's reach.
    """

    __tablename__ = "amplifications"
    __table_args__ = (
        UniqueConstraint("post_id", "amplifier", name="uq_amplifications_post_amplifier"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str] = mapped_column(String(500))
    amplifier: Mapped[str] = mapped_column(String(300))
    amplifier_followers: Mapped[int | None] = mapped_column(BigInteger)
    amplified_at: Mapped[datetime | None]
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuthorProfile(Base):
    """Follower counts looked up separately (Bluesky's getProfiles), kept for a while so
    each run does not ask again for every author."""

    __tablename__ = "author_profiles"
    __table_args__ = (
        UniqueConstraint("platform", "author", name="uq_author_profiles_platform_author"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(40))
    author: Mapped[str] = mapped_column(String(300))
    followers: Mapped[int | None] = mapped_column(BigInteger)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)


class SentimentScore(Base):
    """A model's verdict on a post; one row per (post, model version)."""

    __tablename__ = "sentiment_scores"
    __table_args__ = (
        UniqueConstraint("post_id", "model_version", name="uq_sentiment_scores_post_model"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    model_version: Mapped[str] = mapped_column(String(100))
    negative: Mapped[float] = mapped_column(Float)
    neutral: Mapped[float] = mapped_column(Float)
    positive: Mapped[float] = mapped_column(Float)
    label: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(40))
    scored_at: Mapped[datetime] = mapped_column(default=utcnow)

    post: Mapped[Post] = relationship(back_populates="scores")


class Complaint(Base):
    """A negative, spreading post that the response rota must claim, answer and close.

    ``status`` is one of ``open``, ``claimed``, ``responded``, ``waiting`` (on the customer:
    the resolution clock is paused since ``paused_at``; ``paused_seconds`` holds earlier
    pauses), ``resolved`` or ``dismissed`` ("not an issue"). ``kind`` is ``post`` (one post
    and what attaches to it) or ``spike`` (many people complaining at once). A repeat
    complaint (same author again within 30 days) points at the earlier one through
    ``repeat_of_id``. ``ack_met`` / ``response_met`` / ``resolution_met`` record whether each
    deadline was hit (None while undecided).
    """

    __tablename__ = "complaints"
    __table_args__ = (Index("ix_complaints_status", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="post", server_default="post")
    repeat_of_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    watch: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="open")
    priority: Mapped[str] = mapped_column(String(4))
    category: Mapped[str | None] = mapped_column(String(40))
    reach: Mapped[int] = mapped_column(BigInteger)
    negativity: Mapped[float] = mapped_column(Float)
    owner: Mapped[str | None] = mapped_column(String(100))
    on_duty: Mapped[str | None] = mapped_column(String(100))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    ack_due_at: Mapped[datetime]
    response_due_at: Mapped[datetime]
    resolution_due_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    responded_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    dismissed_at: Mapped[datetime | None]
    paused_at: Mapped[datetime | None]
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    ack_met: Mapped[bool | None] = mapped_column(Boolean)
    response_met: Mapped[bool | None] = mapped_column(Boolean)
    resolution_met: Mapped[bool | None] = mapped_column(Boolean)
    # Reach growth (alerts.grouping): when reach was last re-estimated, how fast it grows
    # (people per hour, smoothed), and the reach last announced ("opened" or "reach_grew"),
    # the base the next growth factor is measured from.
    reach_checked_at: Mapped[datetime | None]
    reach_growth_per_hour: Mapped[float | None] = mapped_column(Float)
    reach_notified: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    post: Mapped[Post] = relationship()
    events: Mapped[list[ComplaintEvent]] = relationship(
        back_populates="complaint", order_by="ComplaintEvent.id"
    )


class ComplaintPost(Base):
    """A post that belongs to a complaint: its ``original`` (the complaint's own post), or a
    ``repost``, ``quote`` or ``near_duplicate`` about the same story, or one of the posts of a
    ``spike``. A post belongs to at most one complaint; the complaint's reach is the sum
    over its posts."""

    __tablename__ = "complaint_posts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), index=True
    )
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), unique=True)
    relation: Mapped[str] = mapped_column(String(20))
    similarity: Mapped[float | None] = mapped_column(Float)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    post: Mapped[Post] = relationship()


class Spike(Base):
    """An hour in which a watch had far more negative posts than its baseline (the same
    hour of the week in the previous weeks). One per (watch, hour), so a re-run adds posts
    to the spike's complaint instead of opening another."""

    __tablename__ = "spikes"
    __table_args__ = (UniqueConstraint("watch", "hour_start", name="uq_spikes_watch_hour_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    watch: Mapped[str] = mapped_column(String(100))
    hour_start: Mapped[datetime]
    category: Mapped[str | None] = mapped_column(String(40))
    count: Mapped[int] = mapped_column(Integer)
    expected: Mapped[float] = mapped_column(Float)
    p_value: Mapped[float] = mapped_column(Float)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), unique=True)
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)


class ComplaintEvent(Base):
    """The audit trail: who did what to a complaint, and when."""

    __tablename__ = "complaint_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), index=True
    )
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    detail: Mapped[dict[str, Any] | None]

    complaint: Mapped[Complaint] = relationship(back_populates="events")


class Notification(Base):
    """The outbox: one row per message to deliver, so a message is sent once and only once.

    ``status``: ``pending`` -> ``sending`` (claimed by one delivery attempt, ``claim_token``
    and ``sending_at`` committed *before* the Slack call) -> ``delivered`` or back to
    ``pending`` (or ``failed`` after too many attempts). A row left ``sending`` by a crash
    is looked up in Slack (by its ``key`` in the message metadata) before it is sent again.
    ``slack_channel`` / ``slack_ts`` address the posted message: for ``complaint_opened``
    the parent whose thread holds the complaint's later events, and whose
    ``shown_status`` / ``shown_digest`` record what the message currently shows.
    """

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_status", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str | None] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    delivered_to: Mapped[str | None] = mapped_column(String(100))
    slack_ts: Mapped[str | None] = mapped_column(String(40))
    slack_channel: Mapped[str | None] = mapped_column(String(40))
    claim_token: Mapped[str | None] = mapped_column(String(40))
    sending_at: Mapped[datetime | None]
    shown_status: Mapped[str | None] = mapped_column(String(20))
    shown_digest: Mapped[str | None] = mapped_column(String(64))


class CrawlState(Base):
    """Per source and watch: where the last crawl stopped and how it went."""

    __tablename__ = "crawl_state"
    __table_args__ = (UniqueConstraint("source", "watch", name="uq_crawl_state_source_watch"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(100))
    watch: Mapped[str] = mapped_column(String(100), default="*")
    cursor: Mapped[str | None] = mapped_column(Text)
    last_run_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_stats: Mapped[dict[str, Any] | None]
    # Source health (crawlers.health): "ok", "partial", "down" or "silent"; whether a
    # "source broken" operations alert is out and not yet followed by "recovered".
    health: Mapped[str | None] = mapped_column(String(20))
    broken_alerted_at: Mapped[datetime | None]


class RotaChange(Base):
    """An override or a swap made from the CLI, with who made it: the effective rota is
    the configured one plus these (``alerts.rota_changes.load_rota``).

    ``kind`` ``override``: ``covering`` is on duty instead of ``responder`` (None: whoever
    is on shift, gaps too) from ``starts_at`` to ``ends_at``. ``kind`` ``swap``:
    ``covering`` takes ``responder``'s shift [``starts_at``, ``ends_at``) and ``responder``
    takes ``covering``'s shift [``other_starts_at``, ``other_ends_at``). A removed change
    keeps its row (``removed_at``, ``removed_by``) so the history stays.
    """

    __tablename__ = "rota_changes"
    __table_args__ = (Index("ix_rota_changes_removed_at_ends_at", "removed_at", "ends_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    responder: Mapped[str | None] = mapped_column(String(100))
    covering: Mapped[str] = mapped_column(String(100))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    other_starts_at: Mapped[datetime | None]
    other_ends_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_by: Mapped[str | None] = mapped_column(String(100))
    removed_at: Mapped[datetime | None]


class PostLabel(Base):
    """A person's verdict on a post: the correction the sentiment model learns from.

    Every label is kept (who said what, when); the newest per post is the one that counts.
    ``category`` is one of ``sentiment.categories.CATEGORY_IDS`` and only set for negative
    posts.
    """

    __tablename__ = "post_labels"
    __table_args__ = (Index("ix_post_labels_post_created", "post_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    sentiment: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(40))
    labeller: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    post: Mapped[Post] = relationship()


class SentimentModelVersion(Base):
    """A retrained sentiment model: its folder on disk, what it came from, how it measured.

    At most one row is ``active``; with none, ``[sentiment] model = "default"`` means the
    committed default model. ``metrics`` holds the validation scores before and after the
    retrain and the decision taken on them.
    """

    __tablename__ = "sentiment_models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(100), unique=True)
    folder: Mapped[str] = mapped_column(Text)
    parent_version: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    metrics: Mapped[dict[str, Any] | None]
