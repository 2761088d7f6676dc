"""The monitor flow groups copies of a story into its complaint instead of opening
another: a word-for-word cross-post on Reddit and a reworded Mastodon copy of the demo's
viral post attach to its complaint, raise its reach and reply in its thread."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from alerts.local_slack import LocalSlackServer
from flows.demo import DEMO_SLACK_TOKEN_ENV, write_demo_config
from flows.sample_server import SampleServer
from storage.db import open_database
from storage.models import Complaint, ComplaintEvent, ComplaintPost, Notification, Post

# Three monitor runs (each crawls six sources in subprocesses) on a shared machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

TITLE = "Three weeks and still no throw from Larkspur"
TEXT = (
    "Ordered the chunky knit throw from Larkspur on 1 November. Checkout said “3–5 working "
    "days”. It is now the 21st, tracking hasn’t moved since the 4th and order #LK-20931 just "
    "says “in transit”. Two chats, zero answers. Anyone else waiting on Larkspur this month?"
)
REWORDED = (
    "<p>Ordered the chunky knit throw from #larkspur on 1 November too. Checkout said 3-5 "
    "working days. It is now the 21st, tracking hasn't moved since the 4th and my order "
    "just says in transit. Two chats, zero answers. Anyone else waiting on Larkspur?</p>"
)


def copies_site(root: Path) -> Path:
    """A Reddit listing with a word-for-word cross-post and a Mastodon hashtag timeline
    with a reworded copy, both from other people, a few hours after the original."""
    listing = root / "r" / "larkspur" / "new.json"
    listing.parent.mkdir(parents=True)
    cross_post = {
        "kind": "t3",
        "data": {
            "name": "t3_cp1",
            "id": "cp1",
            "title": TITLE,
            "selftext": TEXT,
            "author": "throw_watcher",
            "created_utc": 1795265000.0,  # 2026-11-21 ~15:23 UTC
            "score": 90,
            "num_comments": 12,
            "permalink": "/r/larkspur/comments/cp1/post/",
            "subreddit": "larkspur",
            "subreddit_subscribers": 5300,
            "url": "http://sample.invalid/r/larkspur/comments/cp1/post/",
        },
    }
    listing.write_text(json.dumps({"kind": "Listing", "data": {"children": [cross_post]}}))
    timeline = root / "api" / "v1" / "timelines" / "tag" / "larkspur"
    timeline.parent.mkdir(parents=True)
    status = {
        "id": "113600000000000001",
        "uri": "http://copies.invalid/users/knit_fan/statuses/113600000000000001",
        "url": "http://copies.invalid/@knit_fan/113600000000000001",
        "created_at": "2026-11-21T18:00:00.000Z",
        "content": REWORDED,
        "language": "en",
        "spoiler_text": "",
        "visibility": "public",
        "replies_count": 3,
        "reblogs_count": 4,
        "favourites_count": 10,
        "reblog": None,
        "account": {
            "id": "77",
            "username": "knit_fan",
            "acct": "knit_fan@copies.invalid",
            "display_name": "Knit Fan",
            "followers_count": 3000,
            "url": "http://copies.invalid/@knit_fan",
        },
    }
    timeline.write_text(json.dumps([status], ensure_ascii=False))
    return root


def test_a_repost_and_a_near_duplicate_from_other_platforms_join_one_complaint(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    from flows.monitor import monitor

    site = copies_site(tmp_path / "copies")
    with (
        SampleServer() as sample,
        SampleServer(root=site) as copies,
        LocalSlackServer(channels=("larkspur-alerts",)) as slack,
    ):
        monkeypatch.setenv(DEMO_SLACK_TOKEN_ENV, "xoxb-test")
        monkeypatch.setenv("UPROAR_DATABASE_URL", database_url)
        config_path = write_demo_config(tmp_path, sample.base_url, slack.base_url)

        first = monitor(str(config_path))

        _, factory = open_database(database_url)
        with factory() as session:
            original = session.execute(
                select(Complaint)
                .join(Post, Post.id == Complaint.post_id)
                .where(Post.title == TITLE)
            ).scalar_one()
            reach_before = original.reach
            complaints_before = session.scalar(select(func.count()).select_from(Complaint))
        assert complaints_before == len(first.opened)
        posted_before = len([c for c in slack.calls if c.method == "chat.postMessage"])

        config_path.write_text(
            config_path.read_text(encoding="utf-8")
            + "\n".join(
                [
                    "",
                    "[[sources]]",
                    'type = "reddit"',
                    'name = "copies-reddit"',
                    f'base_url = "{copies.base_url}"',
                    'subreddits = ["larkspur"]',
                    "search = false",
                    "first_run_days = 36500",
                    "",
                    "[[sources]]",
                    'type = "mastodon"',
                    'name = "copies-mastodon"',
                    f'instances = ["{copies.base_url}"]',
                    'hashtags = ["larkspur"]',
                    "search = false",
                    "first_run_days = 36500",
                    "",
                ]
            ),
            encoding="utf-8",
        )
        second = monitor(str(config_path))

        assert second.opened == []  # the copies opened nothing
        assert second.grouped == 2
        with factory() as session:
            assert session.scalar(select(func.count()).select_from(Complaint)) == complaints_before
            complaint = session.get_one(Complaint, original.id)
            members = session.execute(
                select(ComplaintPost.relation, Post.source, Post.platform)
                .join(Post, Post.id == ComplaintPost.post_id)
                .where(ComplaintPost.complaint_id == complaint.id)
                .order_by(ComplaintPost.id)
            ).all()
            assert [tuple(m) for m in members] == [
                ("original", "larkspur-mentions", "feed"),
                ("repost", "copies-reddit", "reddit"),
                ("near_duplicate", "copies-mastodon", "mastodon"),
            ]
            copies_reach = 0
            for source in ("copies-reddit", "copies-mastodon"):
                post = session.execute(select(Post).where(Post.source == source)).scalar_one()
                from alerts.grouping import post_reach

                copies_reach += post_reach(post)
            assert copies_reach > 0
            assert complaint.reach == reach_before + copies_reach
            assert complaint.reach_checked_at is not None
            grouped = (
                session.execute(
                    select(ComplaintEvent).where(
                        ComplaintEvent.complaint_id == complaint.id,
                        ComplaintEvent.action == "grouped",
                    )
                )
                .scalars()
                .all()
            )
            assert len(grouped) == 2
            notes = (
                session.execute(
                    select(Notification).where(
                        Notification.complaint_id == complaint.id,
                        Notification.kind == "complaint_event",
                    )
                )
                .scalars()
                .all()
            )
            assert len(notes) == 2 and {n.status for n in notes} == {"delivered"}
            assert {n.payload["event"] for n in notes} == {"grouped"}
            assert all(
                n.payload["detail"]["relation"] in ("repost", "near_duplicate") for n in notes
            )
        posted = [c for c in slack.calls if c.method == "chat.postMessage"]
        assert len(posted) == posted_before + 2  # two thread replies, no new alert

        third = monitor(str(config_path))  # nothing new: nothing attaches twice
        assert third.opened == [] and third.grouped == 0
        assert len([c for c in slack.calls if c.method == "chat.postMessage"]) == len(posted)
