"""Generate a large, realistic-looking history for trying out and benchmarking analysts'
queries: ``python -m storage.history_generate --url sqlite:///big.db --posts 1000000
--complaints 50000``.

Shapes that real complaint streams have: a daily cycle (quiet at 3-6 h, peaks at lunch and
in the evening), busier weekends, a promotion week with three times the volume and more
logistics complaints, one afternoon spike of angry posts (with a ``spike`` complaint), six
sources on different platforms, regions and languages (a third unknown), the category
shares of the brief, about 15 % repeat complaints, faster handling for P1 and some
deadlines missed. Seeded: the same arguments give the same rows.
"""

from __future__ import annotations

import argparse
import time as clock
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, insert, select, text

from storage.db import make_engine, upgrade
from storage.history import rollup
from storage.models import Complaint, Post, SentimentScore

SOURCES = (  # (source, platform, share of posts)
    ("weibo", "weibo", 0.30),
    ("reddit", "reddit", 0.18),
    ("mastodon", "mastodon", 0.12),
    ("bluesky", "bluesky", 0.10),
    ("app-reviews", "appstore", 0.12),
    ("google-alerts", "feed", 0.18),
)
REGIONS = (  # (region, language, share)
    ("CN", "zh", 0.30),
    ("GB", "en", 0.14),
    ("US", "en", 0.16),
    ("DE", "de", 0.06),
    (None, "en", 0.34),
)
CATEGORIES = (  # shares among negative posts (the brief: logistics 32 %, quality 27 % …)
    ("logistics", 0.32),
    ("product_quality", 0.27),
    ("after_sales", 0.21),
    ("service_attitude", 0.07),
    ("communication", 0.04),
    ("promises_not_kept", 0.04),
    ("privacy", 0.02),
    ("pricing", 0.02),
    ("other", 0.01),
)
# Relative volume per hour of the day (UTC): night trough, lunch and evening peaks.
HOURLY = np.array(
    [4, 3, 2, 1.5, 1, 1, 1.5, 3, 5, 6, 6, 7, 10, 10, 7, 6, 6, 7, 8, 9, 10, 10, 8, 6], dtype=float
)
WEEKDAY = np.array([1.0, 0.95, 0.95, 1.0, 1.1, 1.3, 1.25])
PROMOTION_DAYS = (0.82, 0.84)  # where in the period the promotion week lies (fractions)
PROMOTION_VOLUME = 3.0
SPIKE_AT = 0.6  # fraction of the period: a four-hour burst of negative posts
TEXTS = {
    "en": "Larkspur order {n}: {what}",
    "zh": "云雀家居订单{n}：{what}",
    "de": "Larkspur Bestellung {n}: {what}",
}
WHAT = {
    None: "love the new lamp",
    "logistics": "parcel late again",
    "product_quality": "colour not as in the photos",
    "after_sales": "refund still not paid after 72 hours",
    "service_attitude": "the agent was cold and scripted",
    "communication": "contradictory answers",
    "promises_not_kept": "7-day return refused",
    "privacy": "my address was leaked",
    "pricing": "hidden conditions on the promotion",
    "other": "not happy",
}
# Seconds to acknowledge / respond / resolve, per priority (uproar's default deadlines).
DEADLINES = {
    "P1": (900, 3600, 86400),
    "P2": (3600, 4 * 3600, 3 * 86400),
    "P3": (4 * 3600, 86400, 7 * 86400),
}
MODEL = "generated-v1"
BATCH = 20_000
NEGATIVE = 0.6
REPEAT_WINDOW = timedelta(days=30)
TRIGGER = "trg_sentiment_scores_newest"
ROLLUP_TRIGGER = "trg_posts_sentiment_daily"


@dataclass(frozen=True)
class Generated:
    posts: int
    complaints: int
    start: datetime
    end: datetime
    seconds: float


def _choice(rng: np.random.Generator, table: tuple[tuple[Any, ...], ...], size: int) -> np.ndarray:
    shares = np.array([row[-1] for row in table], dtype=float)
    return rng.choice(len(table), size=size, p=shares / shares.sum())


def _post_times(rng: np.random.Generator, count: int, start: datetime, days: int) -> np.ndarray:
    """Seconds after ``start``: days weighted by weekday and the promotion, hours by HOURLY."""
    day_weight = np.array([WEEKDAY[(start + timedelta(days=d)).weekday()] for d in range(days)])
    first, last = (int(days * f) for f in PROMOTION_DAYS)
    day_weight[first : last + 1] *= PROMOTION_VOLUME
    day = rng.choice(days, size=count, p=day_weight / day_weight.sum())
    hour = rng.choice(24, size=count, p=HOURLY / HOURLY.sum())
    second = rng.integers(0, 3600, size=count)
    times = day * 86400 + hour * 3600 + second
    spike = int(days * SPIKE_AT) * 86400 + 13 * 3600
    burst = rng.random(count) < 0.004  # ~0.4 % of posts land in a 4-hour burst
    times[burst] = spike + rng.integers(0, 4 * 3600, size=int(burst.sum()))
    return np.sort(times)


def _negativity(rng: np.random.Generator, times: np.ndarray, days: int) -> np.ndarray:
    """About a fifth negative, more during the promotion and nearly all in the spike."""
    base = rng.beta(1.6, 2.6, size=len(times))
    first, last = (int(days * f) * 86400 for f in PROMOTION_DAYS)
    promo = (times >= first) & (times < last + 86400)
    base[promo] = np.minimum(1, base[promo] * 1.25)
    spike = int(days * SPIKE_AT) * 86400 + 13 * 3600
    in_spike = (times >= spike) & (times < spike + 4 * 3600)
    base[in_spike] = rng.uniform(0.7, 0.99, size=int(in_spike.sum()))
    return np.round(base, 4)


def generate(
    engine: Engine,
    posts: int = 1_000_000,
    complaints: int = 50_000,
    days: int = 365,
    end: datetime | None = None,
    seed: int = 6,
    watch: str = "larkspur",
) -> Generated:
    """Append ``posts`` posts (each scored once) and ``complaints`` complaints ending at
    ``end`` (default: now), spread over ``days`` days."""
    started = clock.perf_counter()
    rng = np.random.default_rng(seed)
    end = (end or datetime.now(UTC)).replace(microsecond=0)
    start = (end - timedelta(days=days)).replace(hour=0, minute=0, second=0)
    upgrade(engine)
    with engine.connect() as connection:
        first_post = (
            int(connection.execute(select(func.coalesce(func.max(Post.id), 0))).scalar_one()) + 1
        )
        first_score = (
            int(
                connection.execute(
                    select(func.coalesce(func.max(SentimentScore.id), 0))
                ).scalar_one()
            )
            + 1
        )
        first_complaint = (
            int(connection.execute(select(func.coalesce(func.max(Complaint.id), 0))).scalar_one())
            + 1
        )
    offsets = _post_times(rng, posts, start, days)
    columns = _Columns(
        offsets=offsets,
        negativity=_negativity(rng, offsets, days),
        source=_choice(rng, SOURCES, posts),
        region=_choice(rng, REGIONS, posts),
        category=_choice(rng, CATEGORIES, posts),
        followers=np.minimum(rng.lognormal(5.0, 1.8, size=posts).astype(np.int64), 5_000_000),
        likes=rng.poisson(3, size=posts),
        reposts=rng.poisson(0.6, size=posts),
        authors=rng.integers(0, max(posts // 2, 1), size=posts),
    )
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        if postgres:  # the rows already carry the newest score; the rollup is added below
            connection.execute(text(f"ALTER TABLE sentiment_scores DISABLE TRIGGER {TRIGGER}"))
            connection.execute(text(f"ALTER TABLE posts DISABLE TRIGGER {ROLLUP_TRIGGER}"))
        for offset in range(0, posts, BATCH):
            rows = range(offset, min(offset + BATCH, posts))
            post_rows = [
                _post_row(columns, i, start, first_post, first_score, seed, watch) for i in rows
            ]
            connection.execute(insert(Post), post_rows)
            connection.execute(insert(SentimentScore), [_score_row(row) for row in post_rows])
        if postgres:
            connection.execute(text(f"ALTER TABLE sentiment_scores ENABLE TRIGGER {TRIGGER}"))
            connection.execute(text(f"ALTER TABLE posts ENABLE TRIGGER {ROLLUP_TRIGGER}"))
            rollup.add_posts(connection, first_post)
        complaint_rows = _complaints(
            rng, columns, complaints, first_post, first_complaint, start, end, days, watch
        )
        for offset in range(0, len(complaint_rows), BATCH):
            connection.execute(insert(Complaint), complaint_rows[offset : offset + BATCH])
        if postgres:
            for table in ("posts", "sentiment_scores", "complaints"):
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    _analyse(engine)
    return Generated(posts, len(complaint_rows), start, end, clock.perf_counter() - started)


@dataclass(frozen=True)
class _Columns:
    """The generated values, one array per column (a million rows fit easily)."""

    offsets: np.ndarray
    negativity: np.ndarray
    source: np.ndarray
    region: np.ndarray
    category: np.ndarray
    followers: np.ndarray
    likes: np.ndarray
    reposts: np.ndarray
    authors: np.ndarray

    def category_of(self, i: int) -> str | None:
        return CATEGORIES[self.category[i]][0] if self.negativity[i] >= NEGATIVE else None


def _post_row(
    c: _Columns, i: int, start: datetime, first_post: int, first_score: int, seed: int, watch: str
) -> dict[str, Any]:
    when = start + timedelta(seconds=int(c.offsets[i]))
    region, language, _ = REGIONS[c.region[i]]
    post_id = first_post + i
    return {
        "id": post_id,
        "source": SOURCES[c.source[i]][0],
        "platform": SOURCES[c.source[i]][1],
        "external_id": f"gen-{seed}-{post_id}",
        "url": f"https://example.invalid/{post_id}",
        "author": f"user{c.authors[i]}",
        "author_followers": int(c.followers[i]),
        "text": TEXTS[language].format(n=post_id, what=WHAT[c.category_of(i)]),
        "language": language,
        "published_at": when,
        "fetched_at": when + timedelta(minutes=5),
        "likes": int(c.likes[i]),
        "reposts": int(c.reposts[i]),
        "replies": 0,
        "watch": watch,
        "region": region,
        "content_hash": f"{post_id:064x}",
        "amplifications": 0,
        "amplifier_followers": 0,
        "newest_score_id": first_score + i,
        "negativity": float(c.negativity[i]),
        "_category": c.category_of(i),
    }


def _score_row(post: dict[str, Any]) -> dict[str, Any]:
    negative = post["negativity"]
    return {
        "id": post["newest_score_id"],
        "post_id": post["id"],
        "model_version": MODEL,
        "negative": negative,
        "neutral": round((1 - negative) * 0.6, 4),
        "positive": round((1 - negative) * 0.4, 4),
        "label": "negative" if negative >= 0.5 else "neutral",
        "category": post.pop("_category"),
        "scored_at": post["published_at"] + timedelta(minutes=6),
    }


def _complaints(
    rng: np.random.Generator,
    c: _Columns,
    wanted: int,
    first_post: int,
    first_id: int,
    start: datetime,
    end: datetime,
    days: int,
    watch: str,
) -> list[dict[str, Any]]:
    """Complaints for the most followed negative posts; handling times by priority."""
    negative = np.flatnonzero(c.negativity >= NEGATIVE)
    if len(negative) > wanted:
        negative = negative[np.argsort(-c.followers[negative], kind="stable")[:wanted]]
    rows: list[dict[str, Any]] = []
    last_by_author: dict[int, tuple[int, datetime]] = {}
    # The most followed tenth of complainants are P1 (the brief: influence drives priority).
    p1_followers = float(np.quantile(c.followers[negative], 0.9)) if len(negative) else 0.0
    spike_at = start + timedelta(days=int(days * SPIKE_AT), hours=13)
    spiked = False
    for index, i in enumerate(np.sort(negative)):
        complaint_id = first_id + index
        posted = start + timedelta(seconds=int(c.offsets[i]))
        opened = posted + timedelta(minutes=int(rng.integers(1, 20)))
        followers = int(c.followers[i])
        priority = "P1" if followers > p1_followers else ("P2" if rng.random() < 0.35 else "P3")
        limits = DEADLINES[priority]
        speed = 0.5 if priority == "P1" else 1.0
        moments = [
            opened + timedelta(seconds=float(rng.lognormal(np.log(limit * 0.6 * speed), 0.7)))
            for limit in limits
        ]
        moments[1] = max(moments[1], moments[0])
        moments[2] = max(moments[2], moments[1])
        reached = [moment if moment < end else None for moment in moments]
        met = [
            None if moment is None else (moment - opened).total_seconds() <= limit
            for moment, limit in zip(reached, limits, strict=True)
        ]
        is_spike = not spiked and abs((opened - spike_at).total_seconds()) < 3600
        spiked = spiked or is_spike
        author = int(c.authors[i])
        earlier = last_by_author.get(author)
        repeat_of = None
        if earlier is not None and opened - earlier[1] <= REPEAT_WINDOW:
            repeat_of = earlier[0]
        elif rows and rng.random() < 0.12:  # the same customer under another handle
            repeat_of = rows[int(rng.integers(max(0, len(rows) - 500), len(rows)))]["id"]
        status = "open"
        for moment, name in zip(reached, ("claimed", "responded", "resolved"), strict=True):
            if moment is not None:
                status = name
        rows.append(
            {
                "id": complaint_id,
                "post_id": first_post + int(i),
                "kind": "spike" if is_spike else "post",
                "repeat_of_id": None if is_spike else repeat_of,
                "watch": watch,
                "status": status,
                "priority": priority,
                "category": c.category_of(int(i)),
                "reach": followers + 50 * int(c.reposts[i]) + 2 * int(c.likes[i]),
                "negativity": float(c.negativity[i]),
                "owner": "responder" if reached[0] else None,
                "opened_at": opened,
                "ack_due_at": opened + timedelta(seconds=limits[0]),
                "response_due_at": opened + timedelta(seconds=limits[1]),
                "resolution_due_at": opened + timedelta(seconds=limits[2]),
                "claimed_at": reached[0],
                "responded_at": reached[1],
                "resolved_at": reached[2],
                "paused_seconds": 0,
                "ack_met": met[0],
                "response_met": met[1],
                "resolution_met": met[2],
                "updated_at": opened,
            }
        )
        last_by_author[author] = (complaint_id, opened)
    return rows


def _analyse(engine: Engine) -> None:
    """Fresh planner statistics (and PostgreSQL's visibility map, for index-only scans)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in ("posts", "sentiment_scores", "complaints"):
                connection.execute(text(f"VACUUM ANALYZE {table}"))
    else:
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="database URL (sqlite:///… or postgresql://…)")
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--complaints", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--watch", default="larkspur")
    args = parser.parse_args(argv)
    engine = make_engine(args.url)
    try:
        made = generate(
            engine, args.posts, args.complaints, args.days, seed=args.seed, watch=args.watch
        )
    finally:
        engine.dispose()
    print(
        f"{made.posts:,} posts and {made.complaints:,} complaints from {made.start:%Y-%m-%d} "
        f"to {made.end:%Y-%m-%d} in {made.seconds:.1f} s"
    )


if __name__ == "__main__":
    main()
