"""Opening complaints from scored posts, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import alerts.complaints as complaints_module
from alerts.complaints import list_complaints, open_complaints
from alerts.config import DeadlineSettings, RotaSettings, ThresholdSettings
from storage.db import session_scope
from storage.models import Complaint, ComplaintEvent, Notification, Post, SentimentScore
from storage.posts import NewPost, save_post

NOW = datetime(2024, 5, 17, 12, 0, tzinfo=UTC)
MODEL = "xlm-sentiment@1"
THRESHOLDS = ThresholdSettings()
DEADLINES = DeadlineSettings()
ROTA = RotaSettings.model_validate(
    {
        "responders": [
            {"name": "ana", "slack_id": "U01ANA", "timezone": "Europe/London"},
            {"name": "lead", "timezone": "UTC"},
        ],
        "shifts": [{"responder": "ana", "start": "08:00", "end": "20:00"}],
        "fallback": "lead",
    }
)


def add_post(
    session: Session,
    external_id: str,
    text: str,
    negative: float | None,
    *,
    followers: int | None = None,
    reposts: int | None = None,
    category: str | None = None,
    model: str = MODEL,
    author: str | None = None,
    fetched_at: datetime | None = None,
) -> int:
    save_post(
        session,
        NewPost(
            source="mastodon",
            platform="mastodon",
            external_id=external_id,
            text=text,
            url=f"https://mastodon.example/@someone/{external_id}",
            author=author or f"someone-{external_id}",
            author_followers=followers,
            reposts=reposts,
            watch="acme",
        ),
        fetched_at=fetched_at or NOW - timedelta(minutes=5),
    )
    post_id = session.execute(select(Post.id).where(Post.external_id == external_id)).scalar_one()
    if negative is not None:
        add_score(session, post_id, negative, model=model, category=category)
    return post_id


def add_score(
    session: Session,
    post_id: int,
    negative: float,
    *,
    model: str = MODEL,
    category: str | None = None,
    scored_at: datetime = NOW - timedelta(minutes=1),
) -> None:
    rest = (1 - negative) / 2
    session.add(
        SentimentScore(
            post_id=post_id,
            model_version=model,
            negative=negative,
            neutral=rest,
            positive=rest,
            label="negative" if negative >= 0.5 else "neutral",
            category=category,
            scored_at=scored_at,
        )
    )
    session.flush()


def open_now(factory: sessionmaker[Session], **kwargs) -> list[Complaint]:
    with session_scope(factory) as session:
        return open_complaints(session, THRESHOLDS, DEADLINES, ROTA, NOW, **kwargs)


def test_opens_exactly_the_negative_spreading_posts(session_factory) -> None:
    with session_scope(session_factory) as session:
        viral = add_post(
            session,
            "1",
            "Parcel lost, support useless",
            0.95,
            followers=20_000,
            category="logistics",
        )
        mid = add_post(session, "2", "Refund not paid after 72 hours", 0.8, followers=1_200)
        small = add_post(
            session, "3", "Wrong colour. Call me on 13800138000 or a@b.com", 0.7, followers=600
        )
        quiet = add_post(session, "4", "Terrible service", 0.9, followers=50)
        happy = add_post(session, "5", "Love it", 0.1, followers=90_000)
        add_post(session, "6", "not scored yet", None, followers=90_000)

    opened = open_now(session_factory)
    assert sorted(c.post_id for c in opened) == [viral, mid, small]

    with session_scope(session_factory) as session:
        by_post = {c.post_id: c for c in list_complaints(session)}
        assert set(by_post) == {viral, mid, small}
        assert {c.post_id: c.priority for c in by_post.values()} == {
            viral: "P1",
            mid: "P2",
            small: "P3",
        }
        first = by_post[viral]
        assert first.status == "open"
        assert first.reach == 20_000
        assert first.negativity == pytest.approx(0.95)
        assert first.category == "logistics"
        assert first.watch == "acme"
        assert first.on_duty == "ana"
        assert first.opened_at == NOW
        assert first.ack_due_at == NOW + timedelta(minutes=15)
        assert first.response_due_at == NOW + timedelta(hours=1)
        assert first.resolution_due_at == NOW + timedelta(hours=24)
        assert by_post[small].resolution_due_at == NOW + timedelta(days=7)

        events = list(session.execute(select(ComplaintEvent).order_by(ComplaintEvent.id)).scalars())
        assert len(events) == 3
        event = next(e for e in events if e.complaint_id == first.id)
        assert (event.actor, event.action, event.at) == ("uproar", "opened", NOW)
        assert event.detail is not None
        assert event.detail["reach"] == 20_000
        assert event.detail["priority"] == "P1"
        assert event.detail["on_duty"] == "ana"

        notes = list(session.execute(select(Notification).order_by(Notification.id)).scalars())
        assert len(notes) == 3
        assert {n.key for n in notes} == {f"complaint:{c.id}:opened" for c in by_post.values()}
        assert all(n.kind == "complaint_opened" and n.status == "pending" for n in notes)
        assert all(n.channel == "#uproar-alerts" and n.attempts == 0 for n in notes)
        small_note = next(n for n in notes if n.complaint_id == by_post[small].id)
        rendered = str(small_note.payload)
        assert "13800138000" not in rendered and "a@b.com" not in rendered
        assert "[phone]" in rendered and "[email]" in rendered
        assert "<@U01ANA>" in small_note.payload["text"]
        assert small_note.payload["blocks"][0]["type"] == "header"
        assert quiet not in by_post and happy not in by_post

    # A second run opens nothing new and writes nothing new.
    assert open_now(session_factory) == []
    with session_scope(session_factory) as session:
        assert session.execute(select(func.count()).select_from(Complaint)).scalar_one() == 3
        assert session.execute(select(func.count()).select_from(Notification)).scalar_one() == 3
        assert len(list_complaints(session, status="open")) == 3
        assert list_complaints(session, status="resolved") == []


def test_a_post_that_starts_spreading_is_opened_later(session_factory) -> None:
    with session_scope(session_factory) as session:
        post_id = add_post(session, "7", "Still no refund", 0.9, followers=50, reposts=0)
    assert open_now(session_factory) == []
    with session_scope(session_factory) as session:  # the crawler sees it again, reposted
        save_post(
            session,
            NewPost(
                source="mastodon",
                platform="mastodon",
                external_id="7",
                text="Still no refund",
                author_followers=50,
                reposts=40,
            ),
            fetched_at=NOW,
        )
    (complaint,) = open_now(session_factory)
    assert complaint.post_id == post_id
    assert complaint.reach == 50 + 40 * 50


def test_newest_score_counts_unless_a_model_is_named(session_factory) -> None:
    with session_scope(session_factory) as session:
        post_id = add_post(session, "8", "meh", 0.9, followers=5_000, model="old@1")
        add_score(session, post_id, 0.2, model="new@2", scored_at=NOW)
    assert open_now(session_factory) == []  # the newest verdict is calm
    assert open_now(session_factory, model_version="new@2") == []
    (complaint,) = open_now(session_factory, model_version="old@1")
    assert complaint.post_id == post_id


def test_fallback_is_on_duty_outside_shifts(session_factory) -> None:
    with session_scope(session_factory) as session:
        add_post(session, "9", "Broken on arrival", 0.9, followers=900)
    with session_scope(session_factory) as session:
        (complaint,) = open_complaints(session, THRESHOLDS, DEADLINES, ROTA, NOW.replace(hour=23))
        assert complaint.on_duty == "lead"
        note = session.execute(select(Notification)).scalar_one()
        assert "lead" in note.payload["text"]


def test_a_race_for_the_same_post_opens_one_complaint(session_factory, monkeypatch) -> None:
    """If another run opened the post's complaint between our query and our insert, the
    unique post_id stops the duplicate and the other complaints are still written."""
    with session_scope(session_factory) as session:
        first = add_post(session, "10", "Awful", 0.9, followers=900)
        second = add_post(session, "11", "Awful too", 0.9, followers=900)
    open_now(session_factory)
    with session_scope(session_factory) as session:
        third = add_post(session, "12", "Also awful", 0.9, followers=900)

    real = complaints_module._candidates

    def stale(session, thresholds, model_version, since=None):  # what a racing run saw
        fresh = real(session, thresholds, model_version, since)
        again = [
            (
                session.get(Post, pid),
                session.execute(
                    select(SentimentScore).where(SentimentScore.post_id == pid)
                ).scalar_one(),
            )
            for pid in (first, second)
        ]
        return again + fresh

    monkeypatch.setattr(complaints_module, "_candidates", stale)
    opened = open_now(session_factory)
    assert [c.post_id for c in opened] == [third]
    with session_scope(session_factory) as session:
        assert session.execute(select(func.count()).select_from(Complaint)).scalar_one() == 3
        assert session.execute(select(func.count()).select_from(Notification)).scalar_one() == 3


def test_priority_and_deadlines_follow_triage_and_category_settings(session_factory) -> None:
    """A privacy complaint at the thresholds is at least P2 (category floor) and gets the
    privacy deadlines; the reasons are kept in the opening event."""
    from alerts.config import TriageSettings

    deadlines = DeadlineSettings.model_validate(
        {"categories": {"privacy": {"P2": {"acknowledge": "10m"}}}}
    )
    with session_scope(session_factory) as session:
        leak = add_post(
            session, "20", "They leaked my address", 0.7, followers=600, category="privacy"
        )
        late = add_post(session, "21", "Late again", 0.7, followers=600, category="logistics")
    with session_scope(session_factory) as session:
        opened = open_complaints(session, THRESHOLDS, deadlines, ROTA, NOW, triage=TriageSettings())
        by_post = {c.post_id: c for c in opened}
        assert by_post[leak].priority == "P2"
        assert by_post[leak].ack_due_at == NOW + timedelta(minutes=10)
        assert by_post[leak].response_due_at == NOW + timedelta(hours=4)
        assert by_post[late].priority == "P3"
        assert by_post[late].ack_due_at == NOW + timedelta(hours=8)
        event = session.execute(
            select(ComplaintEvent).where(ComplaintEvent.complaint_id == by_post[leak].id)
        ).scalar_one()
        assert event.detail is not None
        assert "category privacy: at least P2" in event.detail["priority_reasons"]
    with session_scope(session_factory) as session:
        add_post(session, "22", "Leaked again", 0.7, followers=600, category="privacy")
    no_floor = TriageSettings(category_at_least={})
    with session_scope(session_factory) as session:
        (again,) = open_complaints(session, THRESHOLDS, deadlines, ROTA, NOW, triage=no_floor)
        assert again.priority == "P3"
