"""A small, hand-built history with exact timestamps, so every measure has a known answer.

Posts (watch larkspur unless said; negative means newest negativity >= 0.6):

=====  ======  =====  ======  ====================  =========================  ========
post   source  lang   region  time (UTC)            scores (newest last)        negative
=====  ======  =====  ======  ====================  =========================  ========
p1     feed    en     GB      Mon 2026-11-02 09:15  0.9 (11-02), 0.2 (11-03)    no
p2     feed    en     GB      Mon 2026-11-02 12:30  0.8 logistics               yes
p3     reddit  en     -       Tue 2026-11-03 12:45  0.7 after_sales             yes
p4     reddit  zh     CN      Tue 2026-11-03 23:10  0.1 (no published_at)       no
p5     reddit  en     -       Mon 2026-11-09 08:00  unscored                    -
p6     feed    en     GB      Mon 2026-11-02 12:05  0.95 logistics, watch other yes
p7     feed    en     GB      Fri 2026-10-30 23:59  0.6 logistics (threshold)   yes
=====  ======  =====  ======  ====================  =========================  ========

Complaints: c1 (p2, P1, logistics, claim/response/resolve after 600/1800/7200 s, all
deadlines met), c2 (p3, P2, after_sales, repeat of c1, 1200/5400/-, ack and response
missed), c3 (p7, P1, logistics, opened Sat 10-31 00:30, claimed after 2400 s, ack missed),
c4 (p1, spike, P1, logistics, 300/1200/3600, resolution missed), c5 (p6, watch other).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from storage.models import Complaint, Post, SentimentScore


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _post(
    key: str,
    source: str,
    language: str,
    region: str | None,
    published: str | None,
    *,
    watch: str = "larkspur",
    fetched: str = "2026-11-10T00:00:00",
    followers: int | None = None,
    text: str | None = None,
) -> Post:
    return Post(
        source=source,
        platform=source,
        external_id=key,
        url=f"https://example.invalid/{key}",
        author=f"author-{key}",
        author_followers=followers,
        text=text or f"post {key}",
        language=language,
        region=region,
        published_at=at(published) if published else None,
        fetched_at=at(fetched),
        watch=watch,
        content_hash=key,
    )


def _score(post: Post, negative: float, scored: str, category: str | None = None) -> SentimentScore:
    return SentimentScore(
        post_id=post.id,
        model_version=f"m-{scored}",
        negative=negative,
        neutral=(1 - negative) / 2,
        positive=(1 - negative) / 2,
        label="negative" if negative >= 0.5 else "positive",
        category=category,
        scored_at=at(scored),
    )


def _complaint(
    post: Post,
    priority: str,
    category: str,
    opened: str,
    seconds: tuple[int | None, int | None, int | None],
    met: tuple[bool | None, bool | None, bool | None],
    *,
    kind: str = "post",
    repeat_of: Complaint | None = None,
    watch: str = "larkspur",
    reach: int = 1000,
) -> Complaint:
    opened_at = at(opened)

    def after(value: int | None) -> datetime | None:
        return None if value is None else opened_at + timedelta(seconds=value)

    return Complaint(
        post_id=post.id,
        kind=kind,
        repeat_of_id=repeat_of.id if repeat_of else None,
        watch=watch,
        status="open",
        priority=priority,
        category=category,
        reach=reach,
        negativity=0.8,
        opened_at=opened_at,
        ack_due_at=opened_at + timedelta(minutes=15),
        response_due_at=opened_at + timedelta(hours=1),
        resolution_due_at=opened_at + timedelta(hours=24),
        claimed_at=after(seconds[0]),
        responded_at=after(seconds[1]),
        resolved_at=after(seconds[2]),
        ack_met=met[0],
        response_met=met[1],
        resolution_met=met[2],
    )


def build_history(session: Session) -> dict[str, int]:
    """Write the history above; returns the ids by name (p1…p7, c1…c5)."""
    posts = {
        "p1": _post("p1", "feed", "en", "GB", "2026-11-02T09:15:00"),
        "p2": _post("p2", "feed", "en", "GB", "2026-11-02T12:30:00", followers=1000),
        "p3": _post(
            "p3",
            "reddit",
            "en",
            None,
            "2026-11-03T12:45:00",
            followers=5000,
            text="refund not paid, write to jo@example.com",
        ),
        "p4": _post("p4", "reddit", "zh", "CN", None, fetched="2026-11-03T23:10:00"),
        "p5": _post("p5", "reddit", "en", None, "2026-11-09T08:00:00"),
        "p6": _post("p6", "feed", "en", "GB", "2026-11-02T12:05:00", watch="other"),
        "p7": _post("p7", "feed", "en", "GB", "2026-10-30T23:59:59", followers=10),
    }
    session.add_all(posts.values())
    session.flush()
    p = posts
    # p1's newer score is written first: "newest" is by scored_at, not by insertion.
    session.add(_score(p["p1"], 0.2, "2026-11-03T10:00:00"))
    session.flush()
    session.add(_score(p["p1"], 0.9, "2026-11-02T10:00:00", "logistics"))
    session.add(_score(p["p2"], 0.8, "2026-11-02T13:00:00", "logistics"))
    session.add(_score(p["p3"], 0.7, "2026-11-03T13:00:00", "after_sales"))
    session.add(_score(p["p4"], 0.1, "2026-11-04T00:00:00"))
    session.add(_score(p["p6"], 0.95, "2026-11-02T13:00:00", "logistics"))
    session.add(_score(p["p7"], 0.6, "2026-10-31T00:10:00", "logistics"))
    session.flush()
    c1 = _complaint(
        p["p2"],
        "P1",
        "logistics",
        "2026-11-02T12:40:00",
        (600, 1800, 7200),
        (True, True, True),
        reach=5000,
    )
    session.add(c1)
    session.flush()
    c2 = _complaint(
        p["p3"],
        "P2",
        "after_sales",
        "2026-11-03T13:00:00",
        (1200, 5400, None),
        (False, False, None),
        repeat_of=c1,
        reach=1500,
    )
    c3 = _complaint(
        p["p7"],
        "P1",
        "logistics",
        "2026-10-31T00:30:00",
        (2400, None, None),
        (False, None, None),
        reach=800,
    )
    c4 = _complaint(
        p["p1"],
        "P1",
        "logistics",
        "2026-11-02T14:00:00",
        (300, 1200, 3600),
        (True, True, False),
        kind="spike",
    )
    c5 = _complaint(
        p["p6"],
        "P3",
        "logistics",
        "2026-11-02T12:10:00",
        (60, 120, 180),
        (True, True, True),
        watch="other",
    )
    session.add_all([c2, c3, c4, c5])
    session.flush()
    ids = {name: post.id for name, post in posts.items()}
    ids |= {"c1": c1.id, "c2": c2.id, "c3": c3.id, "c4": c4.id, "c5": c5.id}
    return ids
