"""Feeds: parsing the recorded fixtures directly, and real crawls (subprocess + Scrapy +
database) against a local replay server, including the ways a crawl goes wrong."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crawlers.config import CrawlSettings, FeedSource, WatchConfig
from crawlers.feeds import parse_date, parse_feed, to_count, unwrap_redirect
from crawlers.job import Cursors
from crawlers.runner import CrawlResult, load_cursors, run_crawl
from storage.db import database
from storage.models import CrawlState, Post
from tests.replay_server import ReplayServer, Route, serve

FAST = CrawlSettings(autothrottle=False, retries=0, timeout_seconds=5, process_timeout_seconds=60)
EVERYTHING = [WatchConfig(name="all", query="*")]
CONTENT_TYPES = {".xml": "application/rss+xml; charset=utf-8", ".json": "application/feed+json"}

# Written for these tests: uproar's own reach extension has no public recording.
REACH_RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:r="https://uproar.dev/ns/reach"
     xmlns:slash="http://purl.org/rss/1.0/modules/slash/">
<channel><title>Acme mentions</title><link>http://example.com/</link><language>en</language>
<item>
  <title>Acme lost my parcel</title><link>http://example.com/p/1</link><guid>p1</guid>
  <description>&lt;p&gt;Third week waiting, see &lt;a href="https://example.com/t/9"&gt;my
  ticket&lt;/a&gt;&lt;/p&gt;</description>
  <author>angry@example.com (Angry Customer)</author>
  <pubDate>Tue, 17 Oct 2017 12:17:00 +0200</pubDate>
  <r:followers>12,500</r:followers><r:likes>40</r:likes><r:reposts>7</r:reposts>
  <r:views>9001</r:views><r:region>CA-ON</r:region><slash:comments>3</slash:comments>
</item>
<item>
  <title>Nice weather today</title><link>http://example.com/p/2</link><guid>p2</guid>
  <description>Nothing about any brand.</description>
  <pubDate>not a date at all</pubDate>
  <r:likes>lots</r:likes>
</item>
</channel></rss>"""

REACH_JSON = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "t",
        "language": "en",
        "items": [
            {
                "id": 1,
                "url": "/p/1",
                "content_text": "Acme refund still not paid after 72 hours",
                "date_published": "2024-03-01T10:00:00-05:00",
                "authors": [{"name": "Kim"}],
                "_reach": {"followers": 2000, "likes": 5, "replies": 1, "region": "US"},
            },
            "not an item",
            {"id": "no-content"},
        ],
    }
).encode()


def feed_files(fixtures_dir: Path) -> list[Path]:
    return sorted((fixtures_dir / "feeds").iterdir())


# --- parsing the fixtures directly (fast) ----------------------------------------------


def test_every_fixture_feed_parses_into_sensible_items(fixtures_dir: Path) -> None:
    for path in feed_files(fixtures_dir):
        result = parse_feed(path.read_bytes(), f"http://127.0.0.1/{path.name}", "src")
        assert result.items, path.name
        assert result.errors == [], path.name
        ids = [item.external_id for item in result.items]
        assert len(set(ids)) == len(ids), path.name
        for item in result.items:
            assert item.title, (path.name, item)
            assert item.text
            assert item.url and item.url.startswith("http"), (path.name, item.url)
            assert item.published_at is not None, (path.name, item.title)
            assert item.published_at.tzinfo is not None
            assert item.published_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
            assert item.platform == "feed" and item.source == "src"
            assert "<p>" not in item.text and "&amp;" not in item.text


def test_rss_fields(fixtures_dir: Path) -> None:
    body = (fixtures_dir / "feeds" / "HuffPostCanada.xml").read_bytes()
    first = parse_feed(body, "http://h/feed", "huff").items[0]
    assert first.title == "Winnipeg High School Orders Custom Hijabs For Muslim Athletes"
    assert first.external_id == "23246627"
    assert first.author == "Canadian Press"
    assert first.published_at == datetime(2017, 10, 17, 22, 17, tzinfo=UTC)
    assert first.language == "en"
    assert first.text.startswith("About 50 female students")


def test_atom_prefers_full_content_and_resolves_relative_links(fixtures_dir: Path) -> None:
    body = (fixtures_dir / "feeds" / "SamRuby.xml").read_bytes()
    items = parse_feed(body, "http://intertwingly.example/blog/index.atom", "sam").items
    first = items[0]
    assert first.external_id == "tag:intertwingly.net,2004:3308"
    assert first.url == "http://intertwingly.example/blog/2013/01/30/Plex"
    # The content keeps its link targets as text.
    assert "(http://www.hanselman.com/blog/" in first.text
    assert len(first.text) > 200


def test_google_alerts_links_point_at_the_article_not_the_redirector(fixtures_dir: Path) -> None:
    body = (fixtures_dir / "feeds" / "google_alerts_atom.xml").read_bytes()
    items = parse_feed(body, "https://www.google.com/alerts/feeds/1/2", "alerts").items
    urls = [item.url for item in items]
    assert "https://investorplace.com/2019/07/slack-stock-truly-compelling/" in urls
    assert all(url and "google.com/url" not in url for url in urls)


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        (
            "https://www.google.com/url?rct=j&sa=t&url=https://a.example/x?y=1&ct=ga",
            "https://a.example/x?y=1",
        ),
        ("https://google.com/url?q=http://b.example/", "http://b.example/"),
        (
            "https://www.google.com/url?url=javascript:alert(1)",
            "https://www.google.com/url?url=javascript:alert(1)",
        ),
        (
            "https://news.example/url?url=https://c.example/",
            "https://news.example/url?url=https://c.example/",
        ),
    ],
)
def test_unwrap_redirect(link: str, expected: str) -> None:
    assert unwrap_redirect(link) == expected


def test_json_feed_fields(fixtures_dir: Path) -> None:
    body = (fixtures_dir / "feeds" / "json_feed.json").read_bytes()
    items = parse_feed(body, "http://h/feed.json", "json").items
    assert len(items) == 20
    first = items[0]
    assert first.external_id.startswith("http://inessential.com/2017/06/02/james_dempsey")
    assert first.title == "James Dempsey and the Breakpoints Benefit App Camp for Girls"
    assert first.author == "Brent Simmons"
    assert first.published_at is not None and first.published_at.tzinfo is not None
    assert first.language == "en"
    assert "(https://www.classy.org/events/-/e126329)" in first.text


def test_invalid_date_format_feed_does_not_crash(fixtures_dir: Path) -> None:
    body = (fixtures_dir / "feeds" / "InvalidDateFormat.xml").read_bytes()
    items = parse_feed(body, "http://h/feed", "bad-dates").items
    assert [item.url for item in items] == ["http://example.com/item0", "http://example.com/item1"]
    assert items[0].published_at == datetime(2017, 10, 16, 15, 10, tzinfo=UTC)
    assert items[1].published_at == datetime(2017, 10, 17, 12, 17, tzinfo=UTC)


def test_reach_namespace_and_slash_comments() -> None:
    result = parse_feed(REACH_RSS, "http://h/feed", "reach")
    loud, quiet = result.items
    assert (loud.author_followers, loud.likes, loud.reposts, loud.views) == (12500, 40, 7, 9001)
    assert loud.replies == 3
    assert loud.region == "CA-ON"
    assert loud.published_at == datetime(2017, 10, 17, 10, 17, tzinfo=UTC)
    assert "my ticket (https://example.com/t/9)" in loud.text
    assert quiet.published_at is None  # unparseable date: None, not a crash
    assert quiet.likes is None


def test_json_feed_reach_and_malformed_items_are_skipped_and_named() -> None:
    result = parse_feed(REACH_JSON, "http://h/feed.json", "jf", "application/json")
    [item] = result.items
    assert item.external_id == "1"
    assert item.url == "http://h/p/1"
    assert (item.author_followers, item.likes, item.replies, item.region) == (2000, 5, 1, "US")
    assert item.published_at == datetime(2024, 3, 1, 15, 0, tzinfo=UTC)
    assert item.author == "Kim"
    assert len(result.errors) == 2
    assert all("http://h/feed.json" in error for error in result.errors)
    assert "#1" in result.errors[0] and "#2" in result.errors[1]


@pytest.mark.parametrize(
    "body", [b"garbage \x00\x01 not a feed", b"<html><body>hello</body></html>", b"{nope"]
)
def test_garbage_is_an_error_not_an_exception(body: bytes) -> None:
    result = parse_feed(body, "http://h/feed", "src")
    assert result.items == []
    assert result.errors and "http://h/feed" in result.errors[0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1,200", 1200), (7, 7), ("3.0", 3), ("-1", None), ("lots", None), (None, None)],
)
def test_to_count(value: object, expected: int | None) -> None:
    assert to_count(value) == expected


def test_parse_date_is_utc_or_none() -> None:
    assert parse_date("2024-01-02T03:04:05+01:00") == datetime(2024, 1, 2, 2, 4, 5, tzinfo=UTC)
    assert parse_date("2024-01-02") == datetime(2024, 1, 2, tzinfo=UTC)
    assert parse_date("1518478934x") is None
    assert parse_date("") is None


# --- real crawls ------------------------------------------------------------------------


@pytest.fixture
def feed_server(fixtures_dir: Path) -> Iterator[ReplayServer]:
    routes = {
        f"/{path.name}": Route(
            headers={"Content-Type": CONTENT_TYPES[path.suffix]}, body=path.read_bytes()
        )
        for path in feed_files(fixtures_dir)
    }
    routes["/reach.xml"] = Route(headers={"Content-Type": "application/rss+xml"}, body=REACH_RSS)
    with serve(routes) as server:
        yield server


def source(server: ReplayServer, path: str, name: str | None = None, **extra: object) -> FeedSource:
    return FeedSource.model_validate(
        {"type": "feed", "name": name or path.strip("/"), "url": server.url(path)} | extra
    )


def stored_posts(database_url: str, source_name: str) -> list[Post]:
    with database(database_url) as factory, factory() as session:
        query = select(Post).where(Post.source == source_name).order_by(Post.id)
        return list(session.execute(query).scalars())


def stored_cursors(database_url: str, source_name: str) -> Cursors:
    """The cursors ``crawl_state`` holds for ``source_name``, per watch."""
    with database(database_url) as factory:
        return load_cursors(factory, source_name)


def crawl_state(database_url: str, source_name: str, watch: str = "*") -> CrawlState | None:
    """The source's crawl_state row for ``watch`` ("*": its health and shared cursors)."""
    with database(database_url) as factory, factory() as session:
        query = select(CrawlState).where(
            CrawlState.source == source_name, CrawlState.watch == watch
        )
        return session.execute(query).scalar_one_or_none()


def test_crawl_every_fixture_feed(
    feed_server: ReplayServer, fixtures_dir: Path, sqlite_url: str
) -> None:
    for path in feed_files(fixtures_dir):
        expected = parse_feed(path.read_bytes(), feed_server.url(f"/{path.name}"), "x").items
        result = run_crawl(source(feed_server, f"/{path.name}"), EVERYTHING, FAST, sqlite_url)
        assert result.ok, result.errors
        assert (result.fetched, result.new, result.known) == (len(expected), len(expected), 0)
        posts = stored_posts(sqlite_url, path.name)
        assert len(posts) == len(expected)
        assert {post.external_id for post in posts} == {item.external_id for item in expected}
        for post in posts:
            assert post.title and post.url and post.watch == "all"
            assert post.published_at is not None and post.published_at.tzinfo is not None
            assert post.fetched_at.tzinfo is not None
        state = crawl_state(sqlite_url, path.name)
        assert state is not None and state.watch == "*"
        assert state.last_success_at is not None and state.consecutive_failures == 0
        assert state.last_stats and state.last_stats["new"] == len(expected)
    # The crawler identified itself and asked robots.txt first.
    paths = [path for path, _ in feed_server.requests]
    assert paths[0] == "/robots.txt"
    assert all(h["User-Agent"].startswith("uproar/0.1") for _, h in feed_server.requests)


def test_second_run_stores_nothing_new_on_both_databases(
    feed_server: ReplayServer, database_url: str
) -> None:
    feed = source(feed_server, "/json_feed.json", name="jsonfeed")
    first = run_crawl(feed, EVERYTHING, FAST, database_url)
    second = run_crawl(feed, EVERYTHING, FAST, database_url)
    assert (first.new, first.known) == (20, 0)
    assert (second.new, second.known, second.fetched) == (0, 20, 20)
    assert len(stored_posts(database_url, "jsonfeed")) == 20
    state = crawl_state(database_url, "jsonfeed")
    assert state is not None and state.consecutive_failures == 0
    assert state.last_stats is not None and state.last_stats["known"] == 20


def test_watches_filter_and_reach_is_stored(feed_server: ReplayServer, sqlite_url: str) -> None:
    watches = [
        WatchConfig(name="acme-fr", query="acme", languages=["fr"]),
        WatchConfig(name="acme", query="acme -hiring"),
        WatchConfig(name="weather", query="weather"),
    ]
    feed = source(feed_server, "/reach.xml", name="reach", watches=["acme-fr", "acme"])
    result = run_crawl(feed, watches, FAST, sqlite_url)
    assert (result.fetched, result.new, result.skipped) == (2, 1, 1)
    [post] = stored_posts(sqlite_url, "reach")
    assert post.watch == "acme"
    assert post.author_followers == 12500 and post.replies == 3 and post.region == "CA-ON"


def test_assign_watch_keeps_every_item(feed_server: ReplayServer, sqlite_url: str) -> None:
    feed = source(feed_server, "/reach.xml", name="own", assign_watch="acme")
    result = run_crawl(feed, [WatchConfig(name="acme", query="nomatch")], FAST, sqlite_url)
    assert (result.new, result.skipped) == (2, 0)
    assert {post.watch for post in stored_posts(sqlite_url, "own")} == {"acme"}


def test_failures_are_recorded_and_stored_posts_survive(
    feed_server: ReplayServer, fixtures_dir: Path, sqlite_url: str
) -> None:
    feed = source(feed_server, "/flaky.xml", name="flaky")
    good = Route(
        headers={"Content-Type": "application/rss+xml"},
        body=(fixtures_dir / "feeds" / "HuffPostCanada.xml").read_bytes(),
    )
    feed_server.routes["/flaky.xml"] = good
    assert run_crawl(feed, EVERYTHING, FAST, sqlite_url).new == 2
    before = [(post.id, post.text) for post in stored_posts(sqlite_url, "flaky")]

    failures = [
        (Route(body=b"\x00garbage, not a feed"), "could not parse feed from"),
        (Route(status=500, body=b"oops"), f"HTTP 500 from {feed.url}"),
        (Route(body=good.body, delay_seconds=3), f"timeout fetching {feed.url}"),
        (Route(status=404), f"HTTP 404 from {feed.url}"),
    ]
    short = FAST.model_copy(update={"timeout_seconds": 0.5})
    for count, (route, message) in enumerate(failures, start=1):
        feed_server.routes["/flaky.xml"] = route
        result = run_crawl(feed, EVERYTHING, short, sqlite_url)
        assert not result.ok and result.new == 0
        assert any(message in error and "flaky" in error for error in result.errors), result
        state = crawl_state(sqlite_url, "flaky")
        assert state is not None and state.consecutive_failures == count
        assert state.last_error and message in state.last_error
        assert [(post.id, post.text) for post in stored_posts(sqlite_url, "flaky")] == before

    feed_server.routes["/flaky.xml"] = good
    assert run_crawl(feed, EVERYTHING, FAST, sqlite_url).ok
    state = crawl_state(sqlite_url, "flaky")
    assert state is not None and state.consecutive_failures == 0 and state.last_error is None


def test_connection_refused_and_robots_disallow(feed_server: ReplayServer, sqlite_url: str) -> None:
    refused = FeedSource(type="feed", name="gone", url="http://127.0.0.1:9/feed.xml")
    result = run_crawl(refused, EVERYTHING, FAST, sqlite_url)
    assert any(
        "gone: connection refused by http://127.0.0.1:9/feed.xml" in e for e in result.errors
    )

    feed_server.routes["/robots.txt"] = Route(body=b"User-agent: *\nDisallow: /\n")
    result = run_crawl(source(feed_server, "/reach.xml"), EVERYTHING, FAST, sqlite_url)
    assert any("robots.txt" in error for error in result.errors), result.errors


def test_a_crashing_or_hanging_child_is_a_recorded_failure(
    feed_server: ReplayServer, sqlite_url: str
) -> None:
    feed = source(feed_server, "/reach.xml", name="crashy")
    crash = (sys.executable, "-c", "import sys; sys.stderr.write('boom: segfault'); sys.exit(3)")
    result = run_crawl(feed, EVERYTHING, FAST, sqlite_url, command=crash)
    assert result == CrawlResult(source="crashy", errors=result.errors)
    assert "crashy: crawl process exited with code 3" in result.errors[0]
    assert "boom: segfault" in result.errors[0]

    hang = (sys.executable, "-c", "import time; time.sleep(30)")
    quick = FAST.model_copy(update={"process_timeout_seconds": 0.5})
    result = run_crawl(feed, EVERYTHING, quick, sqlite_url, command=hang)
    assert "crashy: crawl process killed after 0.5s" in result.errors[0]

    state = crawl_state(sqlite_url, "crashy")
    assert state is not None and state.consecutive_failures == 2
    assert state.last_success_at is None and state.last_run_at is not None


def test_disabled_source_is_not_crawled(feed_server: ReplayServer, sqlite_url: str) -> None:
    feed = source(feed_server, "/reach.xml", name="off", enabled=False)
    assert run_crawl(feed, EVERYTHING, FAST, sqlite_url) == CrawlResult(source="off")
    assert not feed_server.requests
    with database(sqlite_url) as factory, factory() as session:
        assert session.execute(select(func.count()).select_from(CrawlState)).scalar_one() == 0
