"""Grouping, repeats, reach growth and reopening on activity, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from alerts.config import GroupingSettings, RepeatSettings, RotaSettings
from alerts.triage_run import TriageReport, TriageRunSettings, run_triage
from storage.db import session_scope
from storage.models import (
    Complaint,
    ComplaintEvent,
    ComplaintPost,
    Notification,
    Post,
    SentimentScore,
)
from storage.posts import NewAmplification, NewPost, save_amplifications, save_post

NOW = datetime(2026, 11, 21, 12, 30, tzinfo=UTC)
ROTA = RotaSettings.model_validate(
    {
        "responders": [{"name": "ana", "slack_id": "U01ANA"}],
        "shifts": [{"responder": "ana", "start": "00:00", "end": "00:00"}],
    }
)
SETTINGS = TriageRunSettings(rota=ROTA)
STORY = (
    "Larkspur lost my parcel again and support says that is the rule. Order LK-20931 is "
    "three weeks late and nobody answers the chat. Never again."
)
_ids = count(1)


def add_post(
    session: Session,
    text: str,
    *,
    negative: float = 0.9,
    followers: int = 1_000,
    platform: str = "mastodon",
    author: str | None = None,
    published_at: datetime | None = None,
    fetched_at: datetime | None = None,
    watch: str = "larkspur",
    url: str | None = None,
    external_id: str | None = None,
    category: str | None = "logistics",
) -> Post:
    number = next(_ids)
    external = external_id or f"{platform}-{number}"
    save_post(
        session,
        NewPost(
            source=f"{platform}-source",
            platform=platform,
            external_id=external,
            text=text,
            url=url or f"https://{platform}.example/p/{number}",
            author=author or f"author-{number}",
            author_followers=followers,
            published_at=published_at or NOW - timedelta(hours=1),
            watch=watch,
        ),
        fetched_at=fetched_at or NOW - timedelta(minutes=10),
    )
    post = session.execute(
        select(Post).where(Post.source == f"{platform}-source", Post.external_id == external)
    ).scalar_one()
    rest = (1 - negative) / 2
    session.add(
        SentimentScore(
            post_id=post.id,
            model_version="m@1",
            negative=negative,
            neutral=rest,
            positive=rest,
            label="negative" if negative >= 0.5 else "neutral",
            category=category,
            scored_at=NOW - timedelta(minutes=5),
        )
    )
    session.flush()
    return post


def triage(
    factory: sessionmaker[Session], now: datetime = NOW, settings: TriageRunSettings = SETTINGS
) -> TriageReport:
    with session_scope(factory) as session:
        return run_triage(session, settings, now)


def count_of(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def members(session: Session, complaint_id: int) -> list[tuple[int, str]]:
    rows = session.execute(
        select(ComplaintPost.post_id, ComplaintPost.relation)
        .where(ComplaintPost.complaint_id == complaint_id)
        .order_by(ComplaintPost.id)
    )
    return [(post_id, relation) for post_id, relation in rows.tuples()]


def test_copies_across_platforms_join_the_complaint_and_add_their_reach(session_factory) -> None:
    with session_scope(session_factory) as session:
        original = add_post(session, STORY, followers=20_000).id
    (opened,) = triage(session_factory).opened
    assert opened.post_id == original and opened.reach == 20_000

    with session_scope(session_factory) as session:
        copy = add_post(
            session, "RT @angry: " + STORY.upper() + " https://t.example/x", platform="bluesky"
        ).id
        reworded = add_post(
            session,
            "Larkspur lost my parcel again, support says it is the rule. Order LK-20931 is "
            "three weeks late and nobody answers the chat!",
            platform="reddit",
            followers=3_000,
        ).id
        quote = add_post(
            session,
            f"This is so Larkspur. https://mastodon.example/p/{original - 0}",
            platform="weibo",
            followers=700,
            negative=0.7,
        ).id
        session.execute(select(Post)).all()
        quoted_url = session.get_one(Post, original).url
        session.get_one(Post, quote).text = f"This is so Larkspur {quoted_url}"
    report = triage(session_factory, NOW + timedelta(minutes=30))

    assert report.opened == []
    assert len(report.posts.grouped) == 3
    with session_scope(session_factory) as session:
        assert count_of(session, Complaint) == 1
        complaint = session.get_one(Complaint, opened.id)
        by_post = dict(members(session, complaint.id))
        assert by_post == {
            original: "original",
            copy: "near_duplicate",
            reworded: "near_duplicate",
            quote: "quote",
        }
        assert complaint.reach == 20_000 + 1_000 + 3_000 + 700
        assert complaint.reach_checked_at == NOW + timedelta(minutes=30)
        # 4700 people in 30 minutes, smoothed: a positive rate below the raw 9400/h
        assert complaint.reach_growth_per_hour is not None
        assert 0 < complaint.reach_growth_per_hour <= 9_400
        notes = (
            session.execute(select(Notification).where(Notification.kind == "complaint_event"))
            .scalars()
            .all()
        )
        assert len(notes) == 3
        assert {n.payload["event"] for n in notes} == {"grouped"}
        assert all(n.key.startswith(f"complaint:{complaint.id}:grouped:") for n in notes)
        assert all(n.payload["mention"] == "U01ANA" for n in notes)
        assert {n.payload["detail"]["relation"] for n in notes} == {"near_duplicate", "quote"}

    again = triage(session_factory, NOW + timedelta(minutes=30))
    assert again.opened == [] and again.posts.grouped == []
    with session_scope(session_factory) as session:
        assert count_of(session, Notification) == 4  # the alert and three thread replies


def test_a_calm_copy_attaches_but_a_calm_post_opens_nothing(session_factory) -> None:
    with session_scope(session_factory) as session:
        add_post(session, STORY, followers=20_000)
    (opened,) = triage(session_factory).opened
    with session_scope(session_factory) as session:  # the model misread the copy's tone
        copy = add_post(session, STORY + " lol", platform="reddit", negative=0.3).id
        add_post(session, "Larkspur's new linen range looks lovely", negative=0.1, followers=90_000)
    report = triage(session_factory, NOW + timedelta(minutes=5))
    assert report.opened == []
    with session_scope(session_factory) as session:
        assert dict(members(session, opened.id))[copy] == "near_duplicate"


def test_an_identical_copy_and_a_recorded_repost_are_reposts(session_factory) -> None:
    with session_scope(session_factory) as session:
        original = add_post(session, STORY, followers=20_000, external_id="orig-1")
        save_amplifications(
            session,
            [
                NewAmplification(
                    source=original.source,
                    original_external_id="orig-1",
                    external_id="boost-77",
                    amplifier="booster",
                    amplifier_followers=5_000,
                )
            ],
            fetched_at=NOW,
        )
    (opened,) = triage(session_factory).opened
    assert opened.reach == 25_000  # the boost's audience counts on the original
    with session_scope(session_factory) as session:
        # another source stored the boost as a post of its own, with a comment
        boost = add_post(
            session, "so true", platform="mastodon2", external_id="boost-77", followers=5_000
        ).id
        twin = add_post(session, STORY, platform="feed", followers=100).id
    triage(session_factory, NOW + timedelta(minutes=5))
    with session_scope(session_factory) as session:
        assert dict(members(session, opened.id)) == {
            original.id: "original",
            boost: "repost",
            twin: "repost",
        }


def test_grouping_is_per_watch_and_windowed(session_factory) -> None:
    with session_scope(session_factory) as session:
        original = add_post(session, STORY, followers=20_000).id
        other_watch = add_post(session, STORY + " (again)", watch="other", followers=900).id
    assert sorted(c.post_id for c in triage(session_factory).opened) == [original, other_watch]
    later = NOW + timedelta(days=4)
    with session_scope(session_factory) as session:
        much_later = add_post(
            session,
            STORY,
            platform="reddit",
            followers=900,
            published_at=later - timedelta(hours=1),
            fetched_at=later - timedelta(minutes=5),
        ).id
    (opened,) = triage(session_factory, later).opened  # 4 days on: a new story
    assert opened.post_id == much_later


def test_a_small_copy_posted_before_the_viral_one_joins_it_in_the_same_run(
    session_factory,
) -> None:
    with session_scope(session_factory) as session:
        early = add_post(session, STORY, followers=20, published_at=NOW - timedelta(hours=3)).id
        viral = add_post(session, STORY + " Shame.", followers=50_000, platform="bluesky").id
    report = triage(session_factory)
    (complaint,) = report.opened
    assert complaint.post_id == viral
    with session_scope(session_factory) as session:
        assert dict(members(session, complaint.id)) == {viral: "original", early: "near_duplicate"}
        stored = session.get_one(Complaint, complaint.id)
        assert stored.reach == 50_020
        alert = session.execute(
            select(Notification).where(Notification.kind == "complaint_opened")
        ).scalar_one()
        assert alert.payload["grouped_posts"] == 1
        assert "grouped" in str(alert.payload["blocks"][-1])
        # one complaint opened this run: its copies are in the alert, not in thread replies
        assert count_of(session, Notification) == 1
        actions = session.execute(select(ComplaintEvent.action)).scalars().all()
        assert sorted(actions) == ["grouped", "opened"]


def test_old_posts_are_not_rescanned(session_factory) -> None:
    with session_scope(session_factory) as session:
        add_post(session, STORY, fetched_at=NOW - timedelta(days=4), followers=20_000)
    assert triage(session_factory).opened == []
    wide = TriageRunSettings(rota=ROTA, grouping=GroupingSettings(rescan_window="5d"))
    assert len(triage(session_factory, settings=wide).opened) == 1


def test_the_same_author_again_within_30_days_is_a_repeat(session_factory) -> None:
    with session_scope(session_factory) as session:
        first = add_post(session, STORY, author="jude", followers=2_000).id
    (earlier,) = triage(session_factory).opened
    assert earlier.post_id == first and earlier.repeat_of_id is None

    later = NOW + timedelta(days=6)
    with session_scope(session_factory) as session:  # a different problem, a small audience
        add_post(
            session,
            "Day 6. Still no refund from Larkspur for the returned lamp, the chat keeps "
            "closing my ticket without a reply.",
            author="jude",
            followers=100,
            published_at=later - timedelta(hours=1),
            fetched_at=later - timedelta(minutes=5),
        )
        add_post(  # same name on another platform: another person
            session,
            "Larkspur sofa arrived scratched, photos attached, waiting for an answer.",
            author="jude",
            platform="reddit",
            followers=100,
            published_at=later - timedelta(hours=1),
            fetched_at=later - timedelta(minutes=5),
        )
    (repeat,) = triage(session_factory, later).opened
    assert repeat.repeat_of_id == earlier.id
    with session_scope(session_factory) as session:
        note = (
            session.execute(
                select(Notification)
                .where(Notification.complaint_id == repeat.id)
                .order_by(Notification.id)
            )
            .scalars()
            .all()
        )
        assert [n.kind for n in note] == ["complaint_opened", "complaint_event"]
        assert note[0].payload["repeat_of_id"] == earlier.id
        assert note[0].payload["text"].startswith("Repeat complaint.")
        assert note[1].payload["event"] == "repeat"
        assert note[1].payload["detail"]["repeat_of_id"] == earlier.id
        repeats = session.scalar(
            select(func.count()).select_from(Complaint).where(Complaint.repeat_of_id.is_not(None))
        )
        assert repeats == 1  # the repeat rate is derivable from repeat_of_id

    much_later = NOW + timedelta(days=40)
    with session_scope(session_factory) as session:
        add_post(
            session,
            "Larkspur again: the replacement lamp is broken too, box crushed in transit.",
            author="jude",
            followers=2_000,
            published_at=much_later - timedelta(hours=1),
            fetched_at=much_later - timedelta(minutes=5),
        )
    (fresh,) = triage(session_factory, much_later).opened
    assert fresh.repeat_of_id is None  # 34 days after the repeat: a new story


def test_a_repeat_can_be_required_to_reach_the_threshold(session_factory) -> None:
    with session_scope(session_factory) as session:
        add_post(session, STORY, author="jude", followers=2_000)
    triage(session_factory)
    with session_scope(session_factory) as session:
        add_post(session, "Larkspur refund still missing, day nine.", author="jude", followers=10)
    strict = TriageRunSettings(rota=ROTA, repeats=RepeatSettings(needs_reach=True))
    assert triage(session_factory, NOW + timedelta(minutes=5), strict).opened == []
    assert len(triage(session_factory, NOW + timedelta(minutes=10)).opened) == 1


def test_reach_growth_is_stored_and_announced_once_per_factor(session_factory) -> None:
    with session_scope(session_factory) as session:
        post = add_post(session, STORY, followers=1_000, external_id="grow-1")
        source = post.source
    (complaint,) = triage(session_factory).opened

    def boost(n: int, followers: int) -> None:
        with session_scope(session_factory) as session:
            save_amplifications(
                session,
                [
                    NewAmplification(source, "grow-1", f"b{n}-{i}", f"fan{n}-{i}", followers)
                    for i in range(5)
                ],
                fetched_at=NOW,
            )

    boost(1, 100)  # +500: 1.5x, not yet 2x
    assert triage(session_factory, NOW + timedelta(hours=1)).reach_grew == []
    boost(2, 200)  # +1000: 2500 >= 2 x 1000
    grew = triage(session_factory, NOW + timedelta(hours=2)).reach_grew
    assert [c.id for c in grew] == [complaint.id]
    assert triage(session_factory, NOW + timedelta(hours=2)).reach_grew == []  # same minute
    assert triage(session_factory, NOW + timedelta(hours=3)).reach_grew == []  # base is 2500
    with session_scope(session_factory) as session:
        stored = session.get_one(Complaint, complaint.id)
        assert stored.reach == 2_500 and stored.reach_notified == 2_500
        assert stored.reach_checked_at == NOW + timedelta(hours=3)
        assert stored.reach_growth_per_hour is not None and stored.reach_growth_per_hour > 0
        (note,) = session.execute(
            select(Notification).where(
                Notification.kind == "complaint_event",
                Notification.payload["event"].as_string() == "reach_grew",
            )
        ).scalars()
        assert note.payload["detail"]["reach_before"] == 1_000
        assert note.payload["detail"]["reach"] == 2_500
        assert note.payload["mention"] == "U01ANA"


def test_resolved_and_dismissed_complaints_do_not_grow(session_factory) -> None:
    with session_scope(session_factory) as session:
        add_post(session, STORY, followers=1_000)
    (complaint,) = triage(session_factory).opened
    with session_scope(session_factory) as session:
        session.get_one(Complaint, complaint.id).status = "dismissed"
        add_post(session, STORY + " Same here.", platform="reddit", followers=5_000)
    report = triage(session_factory, NOW + timedelta(minutes=5))
    assert report.opened == [] and len(report.posts.grouped) == 1  # still one story
    with session_scope(session_factory) as session:
        stored = session.get_one(Complaint, complaint.id)
        assert stored.status == "dismissed"
        note = session.execute(
            select(Notification).where(Notification.kind == "complaint_event")
        ).scalar_one()
        assert note.payload["mention"] is None  # nobody is paged for a dismissed story


def test_new_activity_reopens_a_resolved_complaint(session_factory) -> None:
    pytest.importorskip("alerts.lifecycle", reason="the response desk's lifecycle is not merged")
    with session_scope(session_factory) as session:
        add_post(session, STORY, followers=1_000)
    (complaint,) = triage(session_factory).opened
    with session_scope(session_factory) as session:
        from alerts import lifecycle

        lifecycle.claim(session, complaint.id, "ana", NOW + timedelta(minutes=1))
        lifecycle.resolve(session, complaint.id, "ana", NOW + timedelta(minutes=2))
    with session_scope(session_factory) as session:
        add_post(session, STORY + " Still nothing.", platform="reddit", followers=5_000)
    report = triage(session_factory, NOW + timedelta(minutes=10))
    assert [c.id for c in report.posts.reopened] == [complaint.id]
    with session_scope(session_factory) as session:
        stored = session.get_one(Complaint, complaint.id)
        assert stored.status not in ("resolved", "dismissed")
        assert stored.reach == 6_000
        actions = (
            session.execute(
                select(ComplaintEvent.action).where(ComplaintEvent.complaint_id == complaint.id)
            )
            .scalars()
            .all()
        )
        assert "reopened" in actions and "grouped" in actions


def test_fast_reach_growth_raises_priority_once_and_tightens_deadlines(session_factory) -> None:
    with session_scope(session_factory) as session:
        post = add_post(session, STORY, negative=0.7, followers=600, external_id="rise-1")
        source = post.source
    (complaint,) = triage(session_factory).opened
    assert complaint.priority == "P3"
    with session_scope(session_factory) as session:
        save_amplifications(
            session,
            [NewAmplification(source, "rise-1", f"r{i}", f"fan-{i}", 300) for i in range(10)],
            fetched_at=NOW + timedelta(minutes=50),
        )
    later = NOW + timedelta(hours=1)
    report = triage(session_factory, later)  # +3000 people in an hour: >= 2000/h
    assert [c.id for c in report.raised] == [complaint.id]
    with session_scope(session_factory) as session:
        stored = session.get_one(Complaint, complaint.id)
        assert stored.priority == "P1"
        # each undecided deadline: the earlier of the P3 one and P1's counted from the raise
        assert stored.ack_due_at == later + timedelta(minutes=15)
        assert stored.response_due_at == later + timedelta(hours=1)
        assert stored.resolution_due_at == later + timedelta(hours=24)
        (event,) = session.execute(
            select(ComplaintEvent).where(ComplaintEvent.action == "priority_raised")
        ).scalars()
        assert event.actor == "uproar"
        assert event.detail["priority_before"] == "P3" and event.detail["priority"] == "P1"
        assert "reach growing >= 2000/h" in event.detail["priority_reasons"]
        note = session.execute(
            select(Notification).where(
                Notification.kind == "complaint_event",
                Notification.payload["event"].as_string() == "priority_raised",
            )
        ).scalar_one()
        assert note.payload["mention"] == "U01ANA"
        assert "raised from P3 to P1" in note.payload["text"]
    assert triage(session_factory, later).raised == []  # the same minute again
    # growth slows: the formula alone would say P2 or P3 now, but nobody is demoted
    assert triage(session_factory, NOW + timedelta(hours=3)).raised == []
    with session_scope(session_factory) as session:
        assert session.get_one(Complaint, complaint.id).priority == "P1"


def test_a_raise_keeps_deadlines_already_decided(session_factory) -> None:
    from alerts import lifecycle

    with session_scope(session_factory) as session:
        post = add_post(session, STORY, negative=0.7, followers=600, external_id="rise-2")
        source = post.source
    (complaint,) = triage(session_factory).opened
    with session_scope(session_factory) as session:
        lifecycle.claim(session, complaint.id, "ana", NOW + timedelta(minutes=5))
        save_amplifications(
            session,
            [NewAmplification(source, "rise-2", f"q{i}", f"fan-{i}", 1_000) for i in range(5)],
            fetched_at=NOW + timedelta(minutes=20),
        )
    report = triage(session_factory, NOW + timedelta(minutes=30))  # +5000 in half an hour
    assert [c.id for c in report.raised] == [complaint.id]
    with session_scope(session_factory) as session:
        stored = session.get_one(Complaint, complaint.id)
        assert stored.priority == "P1" and stored.status == "claimed"
        assert stored.ack_met is True
        assert stored.ack_due_at == NOW + timedelta(hours=8)  # met: stays as it was
        assert stored.response_due_at == NOW + timedelta(minutes=30, hours=1)


def test_closed_complaints_are_not_re_judged(session_factory) -> None:
    with session_scope(session_factory) as session:
        post = add_post(session, STORY, negative=0.7, followers=600, external_id="rise-3")
        source = post.source
    (complaint,) = triage(session_factory).opened
    with session_scope(session_factory) as session:
        session.get_one(Complaint, complaint.id).status = "resolved"
        save_amplifications(
            session,
            [NewAmplification(source, "rise-3", f"s{i}", f"fan-{i}", 1_000) for i in range(5)],
            fetched_at=NOW + timedelta(minutes=20),
        )
    assert triage(session_factory, NOW + timedelta(minutes=30)).raised == []
    with session_scope(session_factory) as session:
        assert session.get_one(Complaint, complaint.id).priority == "P3"


def test_reopening_on_new_activity_mentions_the_owner(session_factory) -> None:
    from alerts import lifecycle

    with session_scope(session_factory) as session:
        add_post(session, STORY, followers=1_000)
    (complaint,) = triage(session_factory).opened
    with session_scope(session_factory) as session:
        lifecycle.claim(session, complaint.id, "ana", NOW + timedelta(minutes=1))
        lifecycle.resolve(session, complaint.id, "ana", NOW + timedelta(minutes=2))
        add_post(session, STORY + " Still nothing.", platform="reddit", followers=900)
    triage(session_factory, NOW + timedelta(minutes=10))
    with session_scope(session_factory) as session:
        note = session.execute(
            select(Notification).where(
                Notification.kind == "complaint_event",
                Notification.payload["event"].as_string() == "reopened",
            )
        ).scalar_one()
        assert note.payload["mention"] == "U01ANA"
