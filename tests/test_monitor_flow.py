"""End to end: the real monitor flow against the local sample source and a local
Slack-compatible server, with the real slack-sdk client, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from alerts.local_slack import LocalSlackServer
from flows.demo import DEMO_SLACK_TOKEN_ENV, write_demo_config
from flows.sample_server import SampleServer
from storage.db import open_database
from storage.models import Complaint, ComplaintEvent, Notification, Post, SentimentScore

pytestmark = pytest.mark.slow


@dataclass
class DemoSetup:
    """The demo's local sample source and Slack-compatible server, and a config for them."""

    sample: SampleServer
    slack: LocalSlackServer
    folder: Path
    monkeypatch: pytest.MonkeyPatch

    def config_for(self, database_url: str) -> str:
        self.monkeypatch.setenv(DEMO_SLACK_TOKEN_ENV, "xoxb-test")
        self.monkeypatch.setenv("UPROAR_DATABASE_URL", database_url)
        return str(write_demo_config(self.folder, self.sample.base_url, self.slack.base_url))

    def posted(self) -> list[dict[str, object]]:
        return [call.body for call in self.slack.calls if call.method == "chat.postMessage"]


@pytest.fixture
def demo(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[DemoSetup]:
    with SampleServer() as sample, LocalSlackServer(channels=("larkspur-alerts",)) as slack:
        yield DemoSetup(sample, slack, tmp_path, monkeypatch)


def test_monitor_end_to_end_and_second_run_adds_nothing(demo: DemoSetup, database_url: str) -> None:
    from flows.monitor import monitor

    config_path = demo.config_for(database_url)

    first = monitor(config_path)

    assert all(not result.errors for result in first.crawls), [r.errors for r in first.crawls]
    assert first.new_posts >= 50
    assert sum(result.skipped for result in first.crawls) >= 1  # posts about other shops
    _, factory = open_database(database_url)
    with factory() as session:
        posts = session.scalar(select(func.count()).select_from(Post))
        scores = session.scalar(select(func.count()).select_from(SentimentScore))
        complaints = session.execute(select(Complaint)).scalars().all()
        assert posts == first.new_posts
        assert scores == posts
        assert len(complaints) == len(first.opened) >= 3
        for complaint in complaints:
            assert complaint.reach >= 500
            assert complaint.negativity >= 0.5  # the demo config's [thresholds] negativity
            assert complaint.on_duty is not None
            assert complaint.ack_due_at > complaint.opened_at
        # the demo's Jude Okafor complains twice within days: the second is a repeat
        repeats = [c for c in complaints if c.repeat_of_id is not None]
        assert len(repeats) == 1
        actions = session.execute(select(ComplaintEvent.action)).scalars().all()
        assert sorted(set(actions)) == ["opened", "repeat"]
        assert actions.count("opened") == len(complaints)
        assert actions.count("repeat") == len(repeats)
        delivered = session.execute(select(Notification)).scalars().all()
        assert {n.status for n in delivered} == {"delivered"}
        assert all(n.slack_ts for n in delivered)
        alerts = len(complaints) + len(repeats)
        assert len(delivered) == alerts

    posted = demo.posted()
    assert len(posted) == alerts
    assert first.delivery is not None and first.delivery.delivered == alerts

    second = monitor(config_path)

    assert second.new_posts == 0
    first_new = {result.source: result.new for result in first.crawls}
    for result in second.crawls:
        if result.source in ("larkspur-mentions", "larkspur-reviews"):
            assert result.known == first_new[result.source]  # a feed is re-read whole
        else:  # platforms read only what is past their cursor (and the overlap window)
            assert result.known <= first_new[result.source]
    assert second.opened == []
    assert second.nothing_new
    assert len(demo.posted()) == alerts
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Post)) == posts
        assert session.scalar(select(func.count()).select_from(Complaint)) == len(complaints)


def test_slack_outage_keeps_alerts_pending_until_the_next_run(
    demo: DemoSetup, sqlite_url: str
) -> None:
    from flows.monitor import monitor

    config_path = demo.config_for(sqlite_url)
    demo.slack.fail_next(1000, status=500)

    first = monitor(config_path)

    assert first.opened
    assert first.delivery is not None and first.delivery.delivered == 0
    _, factory = open_database(sqlite_url)
    with factory() as session:
        pending = session.execute(select(Notification)).scalars().all()
        assert {n.status for n in pending} == {"pending"}
        tried = [n for n in pending if n.attempts]
        assert tried and all("500" in (n.last_error or "") for n in tried)
        assert len(tried) < len(pending)  # the outbox paused instead of trying every row

    demo.slack.recover()
    # The next run comes after the outbox's backoff has passed.
    second = monitor(config_path, now=datetime.now(UTC) + timedelta(hours=2))

    with factory() as session:  # each alert, and the repeat's thread reply
        queued = session.scalar(select(func.count()).select_from(Notification))
    assert queued == len(first.opened) + 1
    assert second.delivery is not None and second.delivery.delivered == queued
    delivered_texts = [str(body.get("text")) for body in demo.posted()]
    assert len(set(delivered_texts)) == queued
    with factory() as session:
        statuses = {n.status for n in session.execute(select(Notification)).scalars()}
        assert statuses == {"delivered"}


def test_a_broken_source_is_recorded_and_the_others_still_run(
    demo: DemoSetup, sqlite_url: str
) -> None:
    from flows.monitor import monitor
    from storage.models import CrawlState

    config_path = Path(demo.config_for(sqlite_url))
    config_path.write_text(
        config_path.read_text(encoding="utf-8")
        + f'\n[[sources]]\ntype = "feed"\nname = "gone"\nurl = "{demo.sample.base_url}/gone.xml"\n',
        encoding="utf-8",
    )

    summary = monitor(str(config_path))

    by_source = {result.source: result for result in summary.crawls}
    assert by_source["gone"].errors and "404" in by_source["gone"].errors[0]
    assert by_source["larkspur-mentions"].new >= 40
    assert summary.opened
    _, factory = open_database(sqlite_url)
    with factory() as session:
        state = session.execute(select(CrawlState).where(CrawlState.source == "gone")).scalar_one()
        assert state.last_error and "404" in state.last_error
        assert state.consecutive_failures == 1


def test_a_run_that_crashed_after_crawling_is_completed_by_the_next_run(
    demo: DemoSetup, sqlite_url: str
) -> None:
    """Posts stored before a crash are scored, triaged and alerted on by the next run."""
    from crawlers.runner import run_crawl
    from flows.config import load_config
    from flows.monitor import monitor

    config_path = demo.config_for(sqlite_url)
    config = load_config(config_path)
    for source in config.sources:  # the crawl step of a run that then died
        assert run_crawl(source, config.watches, config.crawl, sqlite_url).ok

    summary = monitor(config_path)

    assert summary.new_posts == 0
    assert summary.scoring is not None and summary.scoring.scored >= 50
    assert len(summary.opened) >= 3
    _, factory = open_database(sqlite_url)
    with factory() as session:  # each alert, and the repeat's thread reply
        queued = session.scalar(select(func.count()).select_from(Notification))
    assert queued == len(summary.opened) + 1
    assert len(demo.posted()) == queued
