"""The database objects history relies on beyond tables: the triggers that keep each
post's newest score on the post and the ``sentiment_daily`` rollup current, and the SQL
views for BI tools. Same columns and rows on SQLite and PostgreSQL.

They are *repeatable*: migration 0010 creates them, and ``storage/migrations/env.py``
drops them before any later migration runs and creates them again afterwards, because
SQLite's table rebuilds (Alembic batch mode) fail while a view or trigger names the table.
A later migration therefore never has to think about them.
"""

from __future__ import annotations

from sqlalchemy import Connection, inspect

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


_ROLLUP_COLUMNS = "day, watch, source, mentions, scored, negatives, negativity_sum"
# Columns of posts whose change moves a post to another rollup row or changes its sums.
_ROLLUP_INPUTS = ("published_at", "fetched_at", "watch", "source", "negativity")


def _rollup_upsert(row: str, sign: str, dialect: str) -> str:
    """Add (sign '') or take away (sign '-') one post (NEW or OLD) in sentiment_daily."""
    day = _day(f"COALESCE({row}.published_at, {row}.fetched_at)", dialect)
    negative = f"CASE WHEN {row}.negativity >= {NEGATIVE_THRESHOLD} THEN 1 ELSE 0 END"
    scored = f"CASE WHEN {row}.negativity IS NULL THEN 0 ELSE 1 END"
    sums = ", ".join(
        f"{column} = sentiment_daily.{column} + excluded.{column}"
        for column in ("mentions", "scored", "negatives", "negativity_sum")
    )
    return (
        f"INSERT INTO sentiment_daily ({_ROLLUP_COLUMNS}) VALUES ({day}, "
        f"COALESCE({row}.watch, ''), {row}.source, {sign}1, {sign}({scored}), "
        f"{sign}({negative}), {sign}COALESCE({row}.negativity, 0)) "
        f"ON CONFLICT (day, watch, source) DO UPDATE SET {sums}"
    )


def _rollup_backfill(dialect: str) -> str:
    day = _day("COALESCE(published_at, fetched_at)", dialect)
    return (
        f"INSERT INTO sentiment_daily ({_ROLLUP_COLUMNS}) "
        f"SELECT {day}, COALESCE(watch, ''), source, COUNT(*), COUNT(negativity), "
        f"SUM(CASE WHEN negativity >= {NEGATIVE_THRESHOLD} THEN 1 ELSE 0 END), "
        f"COALESCE(SUM(negativity), 0) FROM posts "
        f"GROUP BY {day}, COALESCE(watch, ''), source"
    )


def _sqlite_rollup_triggers() -> tuple[str, ...]:
    changed = " OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in _ROLLUP_INPUTS)
    return (
        "CREATE TRIGGER trg_posts_sentiment_daily_insert AFTER INSERT ON posts "
        f"BEGIN {_rollup_upsert('NEW', '', 'sqlite')}; END",
        f"CREATE TRIGGER trg_posts_sentiment_daily_update AFTER UPDATE OF "
        f"{', '.join(_ROLLUP_INPUTS)} ON posts WHEN {changed} "
        f"BEGIN {_rollup_upsert('OLD', '-', 'sqlite')}; {_rollup_upsert('NEW', '', 'sqlite')}; END",
        "CREATE TRIGGER trg_posts_sentiment_daily_delete AFTER DELETE ON posts "
        f"BEGIN {_rollup_upsert('OLD', '-', 'sqlite')}; END",
    )


def _postgres_rollup() -> tuple[str, str]:
    function = f"""
CREATE FUNCTION uproar_sentiment_daily() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        {_rollup_upsert("OLD", "-", "postgresql")};
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        {_rollup_upsert("NEW", "", "postgresql")};
    END IF;
    RETURN NULL;
END
$$
"""
    trigger = (
        "CREATE TRIGGER trg_posts_sentiment_daily AFTER INSERT OR DELETE OR UPDATE OF "
        f"{', '.join(_ROLLUP_INPUTS)} ON posts FOR EACH ROW EXECUTE FUNCTION "
        "uproar_sentiment_daily()"
    )
    return function, trigger


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


def _v_sentiment_daily() -> str:
    return """
CREATE VIEW v_sentiment_daily AS
SELECT day, NULLIF(watch, '') AS watch, source, mentions, scored, negatives,
       CAST(negatives AS FLOAT) / NULLIF(scored, 0) AS negative_share,
       CASE WHEN scored > 0 THEN negativity_sum / scored END AS mean_negativity
FROM sentiment_daily
WHERE mentions > 0
"""


def _statements(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [
            _POSTGRES_FUNCTION,
            _POSTGRES_TRIGGER,
            *_postgres_rollup(),
            _v_mentions(),
            _v_complaints(dialect),
            _v_sentiment_daily(),
        ]
    return [
        *_SQLITE_TRIGGERS,
        *_sqlite_rollup_triggers(),
        _v_mentions(),
        _v_complaints(dialect),
        _v_sentiment_daily(),
    ]


def present(connection: Connection) -> bool:
    """Whether the schema has what the objects need (migration 0010 has run)."""
    inspector = inspect(connection)
    if "sentiment_daily" not in inspector.get_table_names():
        return False
    return "negativity" in {column["name"] for column in inspector.get_columns("posts")}


def backfill(connection: Connection) -> None:
    """Fill posts' newest score and the rollup from what is stored (once, in 0010)."""
    dialect = connection.dialect.name
    connection.exec_driver_sql(_REFRESH.format(post_id="posts.id"))
    connection.exec_driver_sql(_rollup_backfill(dialect))


def create_history_objects(connection: Connection) -> None:
    """Create the triggers and views (they must not exist: drop them first)."""
    for statement in _statements(connection.dialect.name):
        connection.exec_driver_sql(statement)


def drop_history_objects(connection: Connection) -> None:
    """Drop the triggers and views wherever they exist; a no-op before migration 0010."""
    for view in VIEWS:
        connection.exec_driver_sql(f"DROP VIEW IF EXISTS {view}")
    if connection.dialect.name == "postgresql":
        if _table_exists(connection, "sentiment_scores"):
            connection.exec_driver_sql(
                "DROP TRIGGER IF EXISTS trg_sentiment_scores_newest ON sentiment_scores"
            )
        if _table_exists(connection, "posts"):
            connection.exec_driver_sql("DROP TRIGGER IF EXISTS trg_posts_sentiment_daily ON posts")
        connection.exec_driver_sql("DROP FUNCTION IF EXISTS uproar_newest_score()")
        connection.exec_driver_sql("DROP FUNCTION IF EXISTS uproar_sentiment_daily()")
        return
    for name in _SQLITE_TRIGGER_NAMES:
        connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS trg_sentiment_scores_newest_{name}")
        connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS trg_posts_sentiment_daily_{name}")


def _table_exists(connection: Connection, name: str) -> bool:
    return name in inspect(connection).get_table_names()
