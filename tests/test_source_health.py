"""Source health: the pure rules (table-driven and property-based), the Slack messages, the
check against real crawl state on SQLite and PostgreSQL, the ``sources status`` command,
and one real end-to-end run of the monitor flow against a feed that answers 500."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from alerts.local_slack import LocalSlackServer
from alerts.ops import (
    BROKEN_KIND,
    RECOVERED_KIND,
    enqueue_source_alert,
    source_broken_message,
    source_recovered_message,
)
from alerts.outbox import deliver_pending
from alerts.slack import ConsoleSender, payload_as_text
from crawlers.config import CrawlSettings
from crawlers.health import (
    PostTime,
    RunState,
    SourceHealth,
    SourceHealthSettings,
    alert_transition,
    assess_health,
    describe_duration,
    usual_gap,
)
from crawlers.job import CrawlReport
from crawlers.runner import record_crawl_state
from flows import cli
from flows.cli import app
from flows.config import UproarConfig, load_config, parse_config
from flows.health import check_source_health
from storage.db import open_database, session_scope
from storage.models import CrawlState, Notification
from storage.posts import NewPost, save_post
from tests.replay_server import Route, serve

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
SETTINGS = SourceHealthSettings()
FEED_URL = "http://127.0.0.1:9/acme.xml"
ERROR_500 = f"acme-feed: HTTP 500 from {FEED_URL}"


# --- pure rules -----------------------------------------------------------------------------


def hourly(count: int, start: datetime = T0, step: timedelta = HOUR) -> list[PostTime]:
    """``count`` posts ``step`` apart, each fetched when it was published."""
    return [PostTime(start + step * i, start + step * i) for i in range(count)]


def state(
    last_run_at: datetime,
    failures: int = 0,
    error: str | None = None,
    last_success_at: datetime | None = None,
) -> RunState:
    return RunState(
        last_run_at=last_run_at,
        last_success_at=last_success_at if failures else (last_success_at or last_run_at),
        consecutive_failures=failures,
        last_error=error,
    )


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        ([], None),
        ([T0], None),
        ([T0, T0, T0], None),  # the same timestamp is not a gap
        ([T0, T0 + HOUR], HOUR),
        ([T0 + 2 * HOUR, T0, T0 + HOUR], HOUR),  # order does not matter
        ([T0, T0 + HOUR, T0 + 2 * HOUR, T0 + 12 * HOUR], HOUR),  # one long gap is not usual
        ([T0, T0, T0 + DAY, T0 + DAY, T0 + 2 * DAY], DAY),  # date-only reviews
        ([T0, T0 + timedelta(minutes=5), T0 + HOUR], timedelta(minutes=5)),  # median_low
    ],
)
def test_usual_gap(times: list[datetime], expected: timedelta | None) -> None:
    assert usual_gap(times) == expected


@given(
    st.integers(min_value=2, max_value=60),
    st.integers(min_value=1, max_value=10**7),
    st.randoms(use_true_random=False),
)
def test_usual_gap_of_a_regular_source_is_its_step(count: int, seconds: int, rnd) -> None:
    step = timedelta(seconds=seconds)
    times = [T0 + step * i for i in range(count)]
    rnd.shuffle(times)
    assert usual_gap(times) == step


@given(st.lists(st.integers(min_value=0, max_value=10**8), min_size=2, max_size=60))
def test_usual_gap_lies_between_the_smallest_and_largest_gap(offsets: list[int]) -> None:
    times = [T0 + timedelta(seconds=offset) for offset in offsets]
    ordered = sorted(set(times))
    gaps = [b - a for a, b in pairwise(ordered)]
    gap = usual_gap(times)
    if not gaps:
        assert gap is None
    else:
        assert gap is not None and min(gaps) <= gap <= max(gaps)


LAST_POST = T0 + 71 * HOUR  # hourly() of 72 posts ends here


@pytest.mark.parametrize(
    ("run", "posts", "status", "broken", "reason_bits"),
    [
        pytest.param(
            state(LAST_POST + timedelta(minutes=10)),
            hourly(72),
            "ok",
            False,
            ["ok:", "no new post for 10m", "usual gap 1h", "silent after 1d"],
            id="ok",
        ),
        pytest.param(
            state(LAST_POST + HOUR, failures=1, error=ERROR_500),
            hourly(72),
            "down",
            False,
            ["down: 1 failed run in a row (alert at 3)"],
            id="one-failure",
        ),
        pytest.param(
            state(LAST_POST + HOUR, failures=2, error=ERROR_500),
            hourly(72),
            "down",
            False,
            ["2 failed runs in a row (alert at 3)"],
            id="two-failures",
        ),
        pytest.param(
            state(LAST_POST + HOUR, failures=3, error=ERROR_500),
            hourly(72),
            "down",
            True,
            ["down: 3 failed runs in a row (alert at 3)"],
            id="three-failures-broken",
        ),
        pytest.param(
            state(LAST_POST + 2 * DAY, failures=1, error=ERROR_500),
            hourly(72),
            "down",
            True,
            ["1 failed run in a row", "no new post for 2d"],
            id="down-and-silent",
        ),
        pytest.param(
            state(LAST_POST + HOUR, error="acme-feed: 2 entries without a date"),
            hourly(72),
            "partial",
            False,
            ["partial:", "no new post for 1h"],
            id="partial-is-not-down",
        ),
        pytest.param(
            state(LAST_POST + 2 * DAY),
            hourly(72),
            "silent",
            True,
            ["silent: no new post for 2d (usual gap 1h, silent after 1d)"],
            id="silent-two-days",
        ),
        pytest.param(
            state(LAST_POST + 20 * HOUR),
            hourly(72),
            "ok",
            False,
            ["no new post for 20h"],
            id="quiet-night-under-min-silence",
        ),
        pytest.param(
            state(LAST_POST + 2 * DAY, error="acme-feed: one page failed"),
            hourly(72),
            "silent",
            True,
            ["silent:"],
            id="silent-beats-partial",
        ),
        pytest.param(
            state(T0 + 9 * DAY + 3 * DAY),
            hourly(10, step=DAY),
            "ok",
            False,
            ["no new post for 3d", "usual gap 1d", "silent after 5d"],
            id="slow-source-three-days",
        ),
        pytest.param(
            state(T0 + 9 * DAY + 6 * DAY),
            hourly(10, step=DAY),
            "silent",
            True,
            ["no new post for 6d"],
            id="slow-source-six-days",
        ),
        pytest.param(
            state(T0 + 30 * DAY),
            hourly(4),
            "ok",
            False,
            ["4 recent posts, 5 with distinct times needed"],
            id="too-few-posts-never-silent",
        ),
        pytest.param(
            state(T0 + 30 * DAY),
            [PostTime(T0, T0)] * 20,
            "ok",
            False,
            ["needed to judge silence"],
            id="no-gap-never-silent",
        ),
        pytest.param(
            state(T0 + HOUR),
            [],
            "ok",
            False,
            ["no posts stored yet"],
            id="no-posts",
        ),
        pytest.param(
            state(T0 + HOUR, failures=4, error=ERROR_500),
            [],
            "down",
            True,
            ["4 failed runs in a row", "no posts stored yet"],
            id="never-worked",
        ),
    ],
)
def test_assess_health(
    run: RunState, posts: list[PostTime], status: str, broken: bool, reason_bits: list[str]
) -> None:
    health = assess_health("acme-feed", run, posts, SETTINGS)
    assert (health.status, health.broken) == (status, broken), health.reason
    for bit in reason_bits:
        assert bit in health.reason
    assert "\n" not in health.reason
    assert health.consecutive_failures == run.consecutive_failures


def test_never_run() -> None:
    health = assess_health("acme-feed", None, hourly(10), SETTINGS)
    assert (health.status, health.broken, health.reason) == ("never-run", False, "never run")
    assert health.usual_gap is None and health.last_run_at is None


def test_a_disabled_source_is_never_broken() -> None:
    failing = assess_health(
        "acme-feed", state(T0, failures=9, error=ERROR_500), [], SETTINGS, enabled=False
    )
    silent = assess_health(
        "acme-feed", state(LAST_POST + 9 * DAY), hourly(72), SETTINGS, enabled=False
    )
    assert not failing.broken and not silent.broken
    assert failing.reason.startswith("disabled; down")
    assert silent.status == "ok" and not silent.enabled


def test_settings_change_the_thresholds() -> None:
    strict = SourceHealthSettings(failures_before_alert=1, silence_factor=2, min_silence_hours=3)
    assert assess_health("s", state(T0, failures=1, error="e"), [], strict).broken
    run = state(LAST_POST + 4 * HOUR)
    assert assess_health("s", run, hourly(72), strict).status == "silent"
    assert assess_health("s", run, hourly(72), SETTINGS).status == "ok"


def test_times_the_platform_gave_wrong_or_not_at_all() -> None:
    # A post "published" in the future counts at its fetch time; no date means fetch time.
    posts = [PostTime(T0 + 9 * DAY, T0), *[PostTime(None, T0 + HOUR * i) for i in range(1, 8)]]
    health = assess_health("s", state(T0 + 8 * HOUR), posts, SETTINGS)
    assert health.newest_post_at == T0 + 7 * HOUR
    assert health.usual_gap == HOUR
    assert health.last_new_post_at == T0 + 7 * HOUR
    assert health.silent_for == HOUR


def test_silence_is_measured_up_to_the_last_run_not_the_clock() -> None:
    # The scheduler stopped for a week: the sources are not to blame.
    health = assess_health("s", state(LAST_POST + HOUR), hourly(72), SETTINGS)
    assert health.silent_for == HOUR and health.status == "ok"


@given(
    failures=st.integers(min_value=0, max_value=8),
    partial=st.booleans(),
    count=st.integers(min_value=0, max_value=40),
    gap_minutes=st.integers(min_value=1, max_value=3 * 24 * 60),
    quiet_minutes=st.integers(min_value=0, max_value=30 * 24 * 60),
    threshold=st.integers(min_value=1, max_value=5),
)
def test_broken_means_failed_out_or_silent(
    failures: int, partial: bool, count: int, gap_minutes: int, quiet_minutes: int, threshold: int
) -> None:
    settings = SourceHealthSettings(failures_before_alert=threshold)
    gap = timedelta(minutes=gap_minutes)
    posts = hourly(count, step=gap)
    last = posts[-1].fetched_at if posts else T0
    error = ERROR_500 if failures else ("one page failed" if partial else None)
    run = state(last + timedelta(minutes=quiet_minutes), failures=failures, error=error)

    health = assess_health("s", run, posts, settings)

    silent = count >= 5 and timedelta(minutes=quiet_minutes) > max(gap * 5, timedelta(hours=24))
    assert health.broken == (failures >= threshold or silent)
    if failures:
        assert health.status == "down"
    elif silent:
        assert health.status == "silent"
    else:
        assert health.status == ("partial" if partial else "ok")


@pytest.mark.parametrize(
    ("broken", "alerted", "expected"),
    [(False, False, None), (True, False, "broken"), (True, True, None), (False, True, "recovered")],
)
def test_alert_transition(broken: bool, alerted: bool, expected: str | None) -> None:
    assert alert_transition(broken, alerted) == expected


@given(st.lists(st.booleans(), max_size=60))
def test_one_alert_per_episode(history: list[bool]) -> None:
    """Whatever the run history, alerts alternate broken / recovered, one per change."""
    alerted, sent = False, []
    for broken in history:
        transition = alert_transition(broken, alerted)
        if transition:
            sent.append(transition)
            alerted = transition == "broken"
    episodes = sum(1 for i, b in enumerate(history) if b and (i == 0 or not history[i - 1]))
    assert sent.count("broken") == episodes
    assert sent == ["broken", "recovered"] * (len(sent) // 2) + ["broken"] * (len(sent) % 2)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(seconds=45), "45s"),
        (timedelta(minutes=12, seconds=5), "12m"),
        (timedelta(hours=3), "3h"),
        (timedelta(hours=3, minutes=5), "3h 5m"),
        (timedelta(days=2), "2d"),
        (timedelta(days=2, hours=4, minutes=9), "2d 4h"),
        (timedelta(seconds=-5), "0s"),
    ],
)
def test_describe_duration(value: timedelta, text: str) -> None:
    assert describe_duration(value) == text


# --- messages -------------------------------------------------------------------------------


def test_broken_message_names_the_source_and_masks_the_error() -> None:
    error = (
        "acme-feed: HTTP 500 from https://acme.example/feed?mail=jane@example.com <!channel>\n"
        "acme-feed: second error"
    )
    health = assess_health("acme-feed", state(T0, failures=3, error=error), hourly(10), SETTINGS)

    message = source_broken_message(health, T0)

    dumped = json.dumps(message, ensure_ascii=False)
    assert message["text"].startswith("source broken: acme-feed — down: 3 failed runs in a row")
    assert "HTTP 500 from https://acme.example/feed" in message["text"]
    assert "jane@example.com" not in dumped
    assert "<!channel>" not in dumped and "&lt;!channel&gt;" in dumped
    assert message["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Source broken: acme-feed", "emoji": True},
    }
    readable = payload_as_text(message)
    assert "Failed runs in a row: 3" in readable
    assert "Usual gap between posts: 1h" in readable


def test_recovered_message_says_how_long_it_was_broken() -> None:
    run = RunState(
        last_run_at=T0 + 5 * HOUR,
        last_success_at=T0 + 5 * HOUR,
        broken_alerted_at=T0,
    )
    health = assess_health("acme-feed", run, hourly(10), SETTINGS)

    message = source_recovered_message(health, T0 + 5 * HOUR)

    assert message["text"].startswith(
        "source recovered: acme-feed works again (5h after the broken alert) — ok:"
    )
    assert message["blocks"][0]["text"]["text"] == "Source recovered: acme-feed"


# --- the check, on both databases -----------------------------------------------------------


def config_for(database_url: str, **slack: object) -> UproarConfig:
    return parse_config(
        {
            "database": {"url": database_url},
            "watches": [{"name": "acme", "query": "acme"}],
            "sources": [
                {"type": "feed", "name": "acme-feed", "url": FEED_URL},
                {"type": "feed", "name": "quiet", "url": "http://127.0.0.1:9/q.xml"},
                {
                    "type": "feed",
                    "name": "switched-off",
                    "url": "http://127.0.0.1:9/off.xml",
                    "enabled": False,
                },
            ],
            "slack": {"ops_channel": "#uproar-ops", **slack},
        }
    )


def crawl(
    factory: sessionmaker[Session],
    now: datetime,
    *,
    down: bool = False,
    partial: bool = False,
    fetched: int = 0,
    source: str = "acme-feed",
) -> None:
    """Record a run the way the runner does after a real crawl."""
    if down:
        report = CrawlReport(source=source, errors=[ERROR_500, f"{source}: and then some"])
    elif partial:
        report = CrawlReport(
            source=source, fetched=max(fetched, 1), errors=[f"{source}: entry 7 has no link"]
        )
    else:
        report = CrawlReport(source=source, fetched=fetched, known=fetched)
    record_crawl_state(factory, report, now)


def add_posts(factory: sessionmaker[Session], times: list[datetime], source: str = "acme-feed"):
    with session_scope(factory) as session:
        for moment in times:
            post = NewPost(
                source=source,
                platform="feed",
                external_id=f"{source}-{moment.isoformat()}",
                text="acme is fine",
                published_at=moment,
            )
            save_post(session, post, fetched_at=moment)


def notifications(factory: sessionmaker[Session]) -> list[Notification]:
    with session_scope(factory) as session:
        return list(session.execute(select(Notification).order_by(Notification.id)).scalars())


def row(factory: sessionmaker[Session], source: str = "acme-feed") -> CrawlState:
    with session_scope(factory) as session:
        return session.execute(
            select(CrawlState).where(CrawlState.source == source, CrawlState.watch == "*")
        ).scalar_one()


def by_source(healths: list[SourceHealth]) -> dict[str, SourceHealth]:
    return {health.source: health for health in healths}


def test_three_down_runs_raise_one_alert_and_a_success_one_recovery(
    session_factory: sessionmaker[Session], database_url: str
) -> None:
    config = config_for(database_url)
    add_posts(session_factory, [T0 + HOUR * i for i in range(24)])
    now = T0 + DAY
    for run in (1, 2):
        crawl(session_factory, now + run * HOUR, down=True)
        checked = by_source(check_source_health(session_factory, config, now + run * HOUR))
        assert checked["acme-feed"].status == "down" and not checked["acme-feed"].broken
        assert notifications(session_factory) == []

    crawl(session_factory, now + 3 * HOUR, down=True)
    checked = by_source(check_source_health(session_factory, config, now + 3 * HOUR))

    assert checked["acme-feed"].broken and checked["acme-feed"].alerted
    assert set(checked) == {"acme-feed", "quiet"}  # enabled sources only
    assert checked["quiet"].status == "never-run"
    [alert] = notifications(session_factory)
    assert (alert.key, alert.kind, alert.channel) == (
        "source:acme-feed:broken:1",
        BROKEN_KIND,
        "#uproar-ops",
    )
    assert alert.complaint_id is None and alert.status == "pending"
    assert alert.payload["text"].startswith("source broken: acme-feed")
    assert ERROR_500 in alert.payload["text"]
    state_row = row(session_factory)
    assert (state_row.health, state_row.broken_alerted_at) == ("down", now + 3 * HOUR)

    # A fourth failure, and the same check run twice: nothing more is sent.
    crawl(session_factory, now + 4 * HOUR, down=True)
    check_source_health(session_factory, config, now + 4 * HOUR)
    check_source_health(session_factory, config, now + 4 * HOUR)
    assert len(notifications(session_factory)) == 1

    add_posts(session_factory, [now + 5 * HOUR])
    crawl(session_factory, now + 5 * HOUR, fetched=1)
    checked = by_source(check_source_health(session_factory, config, now + 5 * HOUR))
    check_source_health(session_factory, config, now + 5 * HOUR)

    assert checked["acme-feed"].status == "ok" and not checked["acme-feed"].alerted
    _, recovered = notifications(session_factory)
    assert (recovered.key, recovered.kind, recovered.channel) == (
        "source:acme-feed:recovered:1",
        RECOVERED_KIND,
        "#uproar-ops",
    )
    assert "works again (2h after the broken alert)" in recovered.payload["text"]
    state_row = row(session_factory)
    assert (state_row.health, state_row.broken_alerted_at) == ("ok", None)

    # The next outage is a new episode with its own alert.
    for run in (6, 7, 8):
        crawl(session_factory, now + run * HOUR, down=True)
        check_source_health(session_factory, config, now + run * HOUR)
    assert [n.key for n in notifications(session_factory)] == [
        "source:acme-feed:broken:1",
        "source:acme-feed:recovered:1",
        "source:acme-feed:broken:2",
    ]

    # The alerts deliver through the outbox although no complaint is attached.
    stream = io.StringIO()
    report = deliver_pending(session_factory, ConsoleSender(stream), now + 9 * HOUR)
    assert (report.delivered, report.failed, report.pending) == (3, 0, 0)
    assert "Source broken: acme-feed" in stream.getvalue()
    assert "Source recovered: acme-feed" in stream.getvalue()


def test_partial_runs_never_count_as_down(
    session_factory: sessionmaker[Session], database_url: str
) -> None:
    config = config_for(database_url)
    add_posts(session_factory, [T0 + HOUR * i for i in range(24)])
    for run in range(1, 7):
        crawl(session_factory, T0 + DAY + run * HOUR, partial=True, fetched=5)
        [health, _] = check_source_health(session_factory, config, T0 + DAY + run * HOUR)
        assert (health.status, health.broken, health.consecutive_failures) == ("partial", False, 0)
    assert notifications(session_factory) == []
    assert row(session_factory).health == "partial"


def test_a_silent_source_is_broken_and_recovers_when_posts_come_back(
    session_factory: sessionmaker[Session], database_url: str
) -> None:
    config = config_for(database_url)
    posted = [T0 + HOUR * i for i in range(96)]  # every hour for four days
    add_posts(session_factory, posted)
    for moment in posted[::6]:
        crawl(session_factory, moment, fetched=1)
    assert check_source_health(session_factory, config, posted[-1])[0].status == "ok"

    quiet_until = posted[-1] + 2 * DAY
    crawl(session_factory, quiet_until, fetched=20)  # the feed answers, with nothing new
    [health, _] = check_source_health(session_factory, config, quiet_until)

    assert (health.status, health.broken) == ("silent", True)
    assert health.usual_gap == HOUR and health.silent_for == 2 * DAY
    [alert] = notifications(session_factory)
    assert alert.key == "source:acme-feed:broken:1"
    assert "no new post for 2d (usual gap 1h, silent after 1d)" in alert.payload["text"]
    assert row(session_factory).health == "silent"

    add_posts(session_factory, [quiet_until + HOUR])
    crawl(session_factory, quiet_until + HOUR, fetched=21)
    [health, _] = check_source_health(session_factory, config, quiet_until + HOUR)

    assert health.status == "ok"
    assert [n.kind for n in notifications(session_factory)] == [BROKEN_KIND, RECOVERED_KIND]


def test_ops_channel_defaults_to_the_alerts_channel(
    session_factory: sessionmaker[Session], database_url: str
) -> None:
    config = config_for(database_url, channel="#pr-alerts")
    config.slack.ops_channel = None
    for run in range(3):
        crawl(session_factory, T0 + run * HOUR, down=True)
    check_source_health(session_factory, config, T0 + 3 * HOUR)
    assert [n.channel for n in notifications(session_factory)] == ["#pr-alerts"]


def test_an_alert_already_enqueued_is_not_enqueued_twice(
    session_factory: sessionmaker[Session],
) -> None:
    """Two runs that read the same state build the same key; the unique key keeps one and
    the rest of the second run's transaction survives."""
    health = assess_health("acme-feed", state(T0, failures=3, error=ERROR_500), [], SETTINGS)
    with session_scope(session_factory) as session:
        session.add(
            Notification(key="source:acme-feed:broken:1", kind="other", channel="#x", payload={})
        )
    with session_scope(session_factory) as session:
        assert enqueue_source_alert(session, health, "broken", "#ops", T0) is None
        session.add(Notification(key="kept", kind="other", channel="#x", payload={}))
    assert [n.key for n in notifications(session_factory)] == ["source:acme-feed:broken:1", "kept"]


@pytest.mark.postgres
def test_concurrent_checks_send_one_alert(postgres_url: str) -> None:
    """Two monitoring passes checking at once: the locked crawl_state row lets one alert."""
    engine, factory = open_database(postgres_url)
    config = config_for(postgres_url)
    for run in range(3):
        crawl(factory, T0 + run * HOUR, down=True)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def check() -> None:
        try:
            barrier.wait()
            check_source_health(factory, config, T0 + 3 * HOUR)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=check) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    assert errors == []
    assert [n.key for n in notifications(factory)] == ["source:acme-feed:broken:1"]


# --- uproar sources status ------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def status_config(tmp_path: Path) -> Iterator[tuple[Path, sessionmaker[Session]]]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    path = tmp_path / "uproar.toml"
    path.write_text(
        f'[database]\nurl = "{url}"\n'
        '[[watches]]\nname = "acme"\nquery = "acme"\n'
        f'[[sources]]\ntype = "feed"\nname = "acme-feed"\nurl = "{FEED_URL}"\n'
        '[[sources]]\ntype = "reviews"\nname = "shop"\nurls = ["http://127.0.0.1:9/r"]\n'
        '[[sources]]\ntype = "feed"\nname = "brand-new"\nurl = "http://127.0.0.1:9/n.xml"\n'
        '[[sources]]\ntype = "feed"\nname = "off"\nurl = "http://127.0.0.1:9/o.xml"\n'
        "enabled = false\n",
        encoding="utf-8",
    )
    engine, factory = open_database(url)
    add_posts(factory, [T0 + HOUR * i for i in range(10)], source="shop")
    crawl(factory, T0 + 10 * HOUR, fetched=10, source="shop")
    for run in range(3):
        record_crawl_state(
            factory,
            CrawlReport(
                source="acme-feed",
                errors=[f"acme-feed: HTTP 500 from {FEED_URL}?who=jane@example.com\nmore"],
            ),
            T0 + run * HOUR,
        )
    check_source_health(factory, load_config(path), T0)
    yield path, factory
    engine.dispose()


def test_sources_status_table(
    status_config: tuple[Path, sessionmaker[Session]], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = status_config
    monkeypatch.setattr(cli.console, "width", 220)

    result = runner.invoke(app, ["sources", "status", "--config", str(path)])

    assert result.exit_code == 0, result.output
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if "│" in line}
    assert set(lines) == {"acme-feed", "shop", "brand-new", "off"}
    assert "down (alerted)" in lines["acme-feed"]
    assert "2026-03-02 11:00" in lines["acme-feed"]  # last run
    assert "│ 3 " in lines["acme-feed"] or " 3 │" in lines["acme-feed"]
    assert f"HTTP 500 from {FEED_URL}?who=" in lines["acme-feed"]
    assert "jane@example.com" not in result.output
    assert "more" not in lines["acme-feed"]  # first line of the error only
    assert "ok" in lines["shop"] and "reviews" in lines["shop"] and "1h" in lines["shop"]
    assert "2026-03-02 18:00" in lines["shop"]  # newest post
    assert lines["brand-new"].count("never run") == 2
    assert "│ no " in lines["off"]
    assert "! acme-feed: down: 3 failed runs in a row (alert at 3)" in result.output


def test_sources_status_json(status_config: tuple[Path, sessionmaker[Session]]) -> None:
    path, _ = status_config

    result = runner.invoke(app, ["sources", "status", "--config", str(path), "--json"])

    assert result.exit_code == 0, result.output
    rows = {entry["source"]: entry for entry in json.loads(result.output)}
    assert list(rows) == ["acme-feed", "shop", "brand-new", "off"]
    feed = rows["acme-feed"]
    assert (feed["health"], feed["broken"], feed["consecutive_failures"]) == ("down", True, 3)
    assert feed["type"] == "feed" and feed["enabled"] is True
    assert feed["broken_alerted_at"] == T0.isoformat()
    assert "jane@example.com" not in feed["last_error"]
    assert rows["shop"]["usual_gap_seconds"] == 3600
    assert rows["shop"]["newest_post_at"] == (T0 + 9 * HOUR).isoformat()
    assert rows["brand-new"]["health"] == "never-run" and rows["brand-new"]["last_run_at"] is None
    assert rows["off"]["enabled"] is False


def test_sources_status_without_sources(tmp_path: Path) -> None:
    path = tmp_path / "uproar.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "x.db"}"\n', encoding="utf-8")
    result = runner.invoke(app, ["sources", "status", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert "No sources configured" in result.output


# --- end to end: the monitor flow, a feed answering 500, a local Slack ----------------------


@pytest.mark.slow
def test_a_feed_failing_three_runs_alerts_ops_once_through_slack(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.monitor import monitor

    fast = CrawlSettings(autothrottle=False, retries=0, timeout_seconds=5)
    routes = {"/feed.xml": Route(status=500, body=b"upstream exploded")}
    with serve(routes) as feed, LocalSlackServer(channels=("uproar-ops",)) as slack:
        monkeypatch.setenv("UPROAR_TEST_SLACK_TOKEN", "xoxb-test")
        monkeypatch.delenv("UPROAR_DATABASE_URL", raising=False)
        path = tmp_path / "uproar.toml"
        path.write_text(
            f'[database]\nurl = "sqlite:///{tmp_path / "e2e.db"}"\n'
            '[[watches]]\nname = "acme"\nquery = "acme"\n'
            f'[[sources]]\ntype = "feed"\nname = "acme-feed"\nurl = "{feed.url("/feed.xml")}"\n'
            f"[crawl]\nautothrottle = false\nretries = {fast.retries}\n"
            f"timeout_seconds = {fast.timeout_seconds}\n"
            '[slack]\nenabled = true\nchannel = "#uproar-alerts"\nops_channel = "#uproar-ops"\n'
            f'token_env = "UPROAR_TEST_SLACK_TOKEN"\nbase_url = "{slack.base_url}"\n',
            encoding="utf-8",
        )
        summaries = [monitor(str(path)) for _ in range(3)]

        assert [s.crawls[0].errors != [] for s in summaries] == [True, True, True]
        assert [s.broken_sources != [] for s in summaries] == [False, False, True]
        [message] = slack.messages
        assert message["channel_name"] == "uproar-ops"
        assert message["text"].startswith("source broken: acme-feed — down: 3 failed runs")
        assert f"HTTP 500 from {feed.url('/feed.xml')}" in message["text"]
        assert summaries[2].delivery is not None and summaries[2].delivery.delivered == 1

        fourth = monitor(str(path))
        assert fourth.broken_sources and len(slack.messages) == 1
