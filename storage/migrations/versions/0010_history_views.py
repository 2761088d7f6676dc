"""history: each post's newest score kept on the post by triggers, an index for history
queries, and the stable SQL views analysts' BI tools read (v_mentions, v_complaints,
v_sentiment_daily), the same columns and rows on SQLite and PostgreSQL

Revision ID: 0010
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The views' "negative" flag uses the default thresholds.negativity; BI tools that use
# another threshold compare `negativity` themselves.
NEGATIVE_THRESHOLD = 0.6

VIEWS = ("v_sentiment_daily", "v_complaints", "v_mentions")

# The newest score of a post: latest scored_at, then highest id (a rescore wins a tie).
_NEWEST = (
    "SELECT s.{column} FROM sentiment_scores s WHERE s.post_id = posts.id "
    "ORDER BY s.scored_at DESC, s.id DESC LIMIT 1"
)
_REFRESH = (
    f"UPDATE posts SET newest_score_id = ({_NEWEST.format(column='id')}), "
    f"negativity = ({_NEWEST.format(column='negative')}) WHERE posts.id = {{post_id}}"
)

_SQLITE_TRIGGERS = (
    "CREATE TRIGGER trg_sentiment_scores_newest_insert AFTER INSERT ON sentiment_scores "
    f"BEGIN {_REFRESH.format(post_id='NEW.post_id')}; END",
    "CREATE TRIGGER trg_sentiment_scores_newest_update AFTER UPDATE ON sentiment_scores "
    f"BEGIN {_REFRESH.format(post_id='NEW.post_id')}; "
    f"{_REFRESH.format(post_id='OLD.post_id')}; END",
    "CREATE TRIGGER trg_sentiment_scores_newest_delete AFTER DELETE ON sentiment_scores "
    f"BEGIN {_REFRESH.format(post_id='OLD.post_id')}; END",
)
_SQLITE_TRIGGER_NAMES = ("insert", "update", "delete")

_POSTGRES_FUNCTION = f"""
CREATE FUNCTION uproar_newest_score() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        {_REFRESH.format(post_id="NEW.post_id")};
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        {_REFRESH.format(post_id="OLD.post_id")};
    END IF;
    RETURN NULL;
END
$$
"""
_POSTGRES_TRIGGER = (
    "CREATE TRIGGER trg_sentiment_scores_newest AFTER INSERT OR UPDATE OR DELETE "
    "ON sentiment_scores FOR EACH ROW EXECUTE FUNCTION uproar_newest_score()"
)


def _day(column: str, dialect: str) -> str:
    """'YYYY-MM-DD' of a UTC timestamp, as text on both databases."""
    if dialect == "postgresql":
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    return f"substr({column}, 1, 10)"


def _seconds(later: str, earlier: str, dialect: str) -> str:
    """Whole seconds between two timestamps (difference of their floored Unix times)."""
    if dialect == "postgresql":
        return (
            f"CAST(floor(EXTRACT(EPOCH FROM {later})) - floor(EXTRACT(EPOCH FROM {earlier}))"
            " AS BIGINT)"
        )
    return (
        f"(CAST(strftime('%s', {later}) AS INTEGER) - CAST(strftime('%s', {earlier}) AS INTEGER))"
    )


def _v_mentions() -> str:
    return f"""
CREATE VIEW v_mentions AS
SELECT p.id AS post_id, p.watch, p.source, p.platform, p.language, p.region,
       p.author, p.author_followers, p.url, p.title, p.text,
       COALESCE(p.published_at, p.fetched_at) AS posted_at, p.published_at, p.fetched_at,
       p.likes, p.reposts, p.replies, p.views, p.amplifications, p.amplifier_followers,
       s.model_version, s.negative AS negativity, s.label, s.category, s.scored_at,
       CASE WHEN s.id IS NULL THEN NULL
            WHEN s.negative >= {NEGATIVE_THRESHOLD} THEN 1 ELSE 0 END AS is_negative
FROM posts p LEFT JOIN sentiment_scores s ON s.id = p.newest_score_id
"""


def _v_complaints(dialect: str) -> str:
    return f"""
CREATE VIEW v_complaints AS
SELECT c.id AS complaint_id, c.kind, c.status, c.priority, c.category, c.watch,
       c.reach, c.negativity, c.owner, c.on_duty, c.repeat_of_id,
       CASE WHEN c.repeat_of_id IS NULL THEN 0 ELSE 1 END AS is_repeat,
       c.opened_at, c.claimed_at, c.responded_at, c.resolved_at, c.dismissed_at,
       c.ack_due_at, c.response_due_at, c.resolution_due_at,
       c.ack_met, c.response_met, c.resolution_met, c.paused_seconds,
       {_seconds("c.claimed_at", "c.opened_at", dialect)} AS seconds_to_claim,
       {_seconds("c.responded_at", "c.opened_at", dialect)} AS seconds_to_response,
       {_seconds("c.resolved_at", "c.opened_at", dialect)} AS seconds_to_resolution,
       p.id AS post_id, p.source, p.platform, p.language, p.region, p.author, p.url
FROM complaints c JOIN posts p ON p.id = c.post_id
"""


def _v_sentiment_daily(dialect: str) -> str:
    day = _day("COALESCE(published_at, fetched_at)", dialect)
    return f"""
CREATE VIEW v_sentiment_daily AS
SELECT {day} AS day, watch, source,
       COUNT(*) AS mentions,
       COUNT(negativity) AS scored,
       SUM(CASE WHEN negativity >= {NEGATIVE_THRESHOLD} THEN 1 ELSE 0 END) AS negatives,
       CAST(SUM(CASE WHEN negativity >= {NEGATIVE_THRESHOLD} THEN 1 ELSE 0 END) AS FLOAT)
           / NULLIF(COUNT(negativity), 0) AS negative_share,
       AVG(negativity) AS mean_negativity
FROM posts
GROUP BY {day}, watch, source
"""


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("newest_score_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("negativity", sa.Float(), nullable=True))
        batch.create_index(
            "ix_posts_history", ["published_at", "source", "negativity", "watch"], unique=False
        )
    op.execute(_REFRESH.format(post_id="posts.id"))
    if dialect == "postgresql":
        op.execute(_POSTGRES_FUNCTION)
        op.execute(_POSTGRES_TRIGGER)
    else:
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)
    op.execute(_v_mentions())
    op.execute(_v_complaints(dialect))
    op.execute(_v_sentiment_daily(dialect))


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for view in VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {view}")
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS trg_sentiment_scores_newest ON sentiment_scores")
        op.execute("DROP FUNCTION IF EXISTS uproar_newest_score()")
    else:
        for name in _SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS trg_sentiment_scores_newest_{name}")
    with op.batch_alter_table("posts") as batch:
        batch.drop_index("ix_posts_history")
        batch.drop_column("negativity")
        batch.drop_column("newest_score_id")
