"""Spike complaints on SQLite and PostgreSQL: one per watch and hour, idempotent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from alerts.config import DeadlineSettings, SpikeSettings, ThresholdSettings
from alerts.spike_complaints import SpikeReport, detect_spikes
from alerts.triage_run import TriageRunSettings, run_triage
from storage.db import session_scope
from storage.models import Complaint, ComplaintPost, Notification, Spike
from tests.test_grouping import ROTA, add_post

HOUR = datetime(2026, 11, 21, 14, 0, tzinfo=UTC)
NOW = HOUR + timedelta(minutes=40)
WORDS = [
    "parcel",
    "refund",
    "lamp",
    "sofa",
    "duvet",
    "vase",
    "table",
    "chair",
    "rug",
    "towel",
    "mirror",
    "shelf",
    "curtain",
    "blanket",
    "pillow",
    "kettle",
    "mug",
    "plate",
    "bowl",
    "glass",
    "candle",
    "frame",
    "basket",
    "clock",
    "drawer",
    "desk",
    "bench",
    "stool",
    "cushion",
    "throw",
]


def complaint_text(i: int) -> str:
    a, b, c = (
        WORDS[i % len(WORDS)],
        WORDS[(i * 7 + 3) % len(WORDS)],
        WORDS[(i * 11 + 5) % len(WORDS)],
    )
    return f"Larkspur {a} problem #{i}: the {b} is {c}-{i} and nobody answers ({i * 13})"


def add_hour(
    session: Session,
    hour: datetime,
    n: int,
    *,
    start: int = 0,
    category: str = "logistics",
    followers: int = 100,
) -> list[int]:
    return [
        add_post(
            session,
            complaint_text(start + i),
            followers=followers + i,
            published_at=hour + timedelta(minutes=1 + i % 50),
            fetched_at=hour + timedelta(minutes=2 + i % 50),
            category=category,
            platform="weibo" if i % 2 else "mastodon",
        ).id
        for i in range(n)
    ]


def detect(factory: sessionmaker[Session], now: datetime = NOW, **spike: object) -> SpikeReport:
    with session_scope(factory) as session:
        return detect_spikes(
            session,
            SpikeSettings.model_validate(spike),
            ThresholdSettings(),
            DeadlineSettings(),
            ROTA,
            now,
        )


def count_of(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_spike_opens_one_complaint_and_a_rerun_adds_to_it(session_factory) -> None:
    with session_scope(session_factory) as session:
        add_hour(session, HOUR - timedelta(days=7), 1, start=100)
        add_hour(session, HOUR - timedelta(days=14), 1, start=200)
        add_hour(session, HOUR - timedelta(days=1), 9, start=300)  # another hour of the week
        posts = add_hour(session, HOUR, 8)
        add_post(session, "Larkspur is fine", negative=0.1, published_at=HOUR)  # not negative

    (complaint,) = detect(session_factory).opened
    with session_scope(session_factory) as session:
        stored = session.get_one(Complaint, complaint.id)
        assert (stored.kind, stored.status, stored.priority) == ("spike", "open", "P2")
        assert stored.post_id == posts[-1]  # the most-reached post
        assert stored.category == "logistics"
        assert stored.reach == sum(100 + i for i in range(8))
        rows = session.execute(
            select(ComplaintPost.post_id, ComplaintPost.relation).where(
                ComplaintPost.complaint_id == complaint.id
            )
        ).tuples()
        relations = {post_id: relation for post_id, relation in rows}
        assert relations == {p: ("original" if p == posts[-1] else "spike") for p in posts}
        spike = session.execute(select(Spike)).scalar_one()
        assert (spike.watch, spike.hour_start, spike.count) == ("larkspur", HOUR, 8)
        assert spike.expected == 1.0 and spike.p_value < 0.001
        alert = session.execute(select(Notification)).scalar_one()
        assert alert.key == f"complaint:{complaint.id}:opened"
        assert alert.payload["text"].startswith("Spike: 8 negative posts about larkspur")
        assert alert.payload["spike"]["count"] == 8

    assert detect(session_factory).opened == []  # the same hour never opens twice
    with session_scope(session_factory) as session:
        more = add_hour(session, HOUR, 3, start=50)
    report = detect(session_factory, NOW + timedelta(minutes=10))
    assert report.opened == [] and [c.id for c in report.extended] == [complaint.id]
    with session_scope(session_factory) as session:
        assert count_of(session, Complaint) == 1
        attached = session.execute(
            select(ComplaintPost.post_id).where(ComplaintPost.relation == "spike")
        ).scalars()
        assert set(more) <= set(attached)
        assert session.execute(select(Spike.count)).scalar_one() == 11
        note = session.execute(
            select(Notification).where(Notification.kind == "complaint_event")
        ).scalar_one()
        assert note.payload["event"] == "grouped"
        assert note.payload["detail"]["post_ids"] == sorted(more)
    # the hour is over and checked once more: nothing new, nothing sent
    assert detect(session_factory, HOUR + timedelta(hours=1, minutes=5)).extended == []


def test_a_usual_busy_hour_is_no_spike_and_a_large_one_is_p1(session_factory) -> None:
    with session_scope(session_factory) as session:
        add_hour(session, HOUR - timedelta(days=7), 7, start=100)
        add_hour(session, HOUR - timedelta(days=14), 9, start=200)
        add_hour(session, HOUR, 10)
    assert detect(session_factory).opened == []  # 10 against a usual 8
    with session_scope(session_factory) as session:
        add_hour(session, HOUR, 40, start=500)
    (complaint,) = detect(session_factory).opened
    assert complaint.priority == "P1"  # 50 posts, more than 5 x 8


def test_one_category_can_spike_on_its_own(session_factory) -> None:
    with session_scope(session_factory) as session:
        add_hour(session, HOUR - timedelta(days=7), 10, start=100)
        add_hour(session, HOUR - timedelta(days=14), 10, start=200)
        add_hour(session, HOUR, 9, start=300)
        leak = add_hour(session, HOUR, 6, start=400, category="privacy")
    (complaint,) = detect(session_factory).opened
    with session_scope(session_factory) as session:
        assert session.get_one(Complaint, complaint.id).category == "privacy"
        members = session.execute(
            select(ComplaintPost.post_id).where(ComplaintPost.complaint_id == complaint.id)
        ).scalars()
        assert sorted(members) == sorted(leak)
        assert session.execute(select(Spike.category)).scalar_one() == "privacy"


def test_spikes_can_be_switched_off(session_factory) -> None:
    with session_scope(session_factory) as session:
        add_hour(session, HOUR, 30)
    assert detect(session_factory, enabled=False).opened == []


def test_in_a_triage_run_a_viral_post_keeps_its_own_complaint(session_factory) -> None:
    with session_scope(session_factory) as session:
        add_hour(session, HOUR, 7)
        viral = add_post(
            session,
            "Larkspur warehouse fire? My order page says destroyed, support silent.",
            followers=90_000,
            published_at=HOUR + timedelta(minutes=5),
            fetched_at=HOUR + timedelta(minutes=6),
        ).id
    with session_scope(session_factory) as session:
        report = run_triage(session, TriageRunSettings(rota=ROTA), NOW)
        assert [c.post_id for c in report.posts.opened] == [viral]
        (spike,) = report.spikes.opened
        assert spike.kind == "spike" and spike.post_id != viral
        assert session.get_one(Spike, 1).count == 8  # the viral post counts, but is not taken
        assert (
            session.scalar(
                select(func.count())
                .select_from(ComplaintPost)
                .where(ComplaintPost.complaint_id == spike.id)
            )
            == 7
        )
