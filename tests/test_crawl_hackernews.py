"""Hacker News: the recorded Algolia answers (node-hacker-news-api, 2014) parsed directly, and
crawled for real (subprocess + Scrapy + database) from a local replay server."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from crawlers.config import CrawlSettings, HackerNewsSource, WatchConfig
from crawlers.hackernews import AlgoliaFormatError, parse_search, tags_filter
from crawlers.job import CrawlReport
from crawlers.runner import load_cursors, record_crawl_state, run_crawl
from storage.db import database
from tests.replay_server import ReplayServer, Route, serve
from tests.test_crawl_feeds import stored_posts

FAST = CrawlSettings(autothrottle=False, retries=0, timeout_seconds=5, process_timeout_seconds=60)
JSON = {"Content-Type": "application/json; charset=utf-8"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
API = "/api/v1"
SOURCE = "hn"
# A cursor as a previous run would have left it: the recordings are from June 2014.
CURSOR = 1_403_000_000
OVERLAP_SECONDS = 600  # the default overlap_minutes


def recorded_replies(fixtures_dir: Path) -> dict[str, dict[str, Any]]:
    """Recorded path -> Algolia answer (the fixture is a list of {url, reply})."""
    path = fixtures_dir / "hn_algolia" / "node-hacker-news-api_fixtures.json"
    return {entry["url"]: entry["reply"] for entry in json.loads(path.read_text("utf-8"))}


def reply(fixtures_dir: Path, query: str) -> dict[str, Any]:
    return copy.deepcopy(recorded_replies(fixtures_dir)[f"{API}/search_by_date?{query}"])


def search_path(term: str, since: int, page: int) -> str:
    """The exact path the spider asks for (the replay server matches it to the byte)."""
    return (
        f"{API}/search_by_date?query={term}&tags=%28story%2Ccomment%29"
        f"&numericFilters=created_at_i%3E{since}&hitsPerPage=100&page={page}"
    )


def json_route(body: Any) -> Route:
    return Route(headers=JSON, body=json.dumps(body).encode())


def seed_cursors(database_url: str, cursors: dict[str, dict[str, str]]) -> None:
    with database(database_url) as factory:
        record_crawl_state(factory, CrawlReport(source=SOURCE, cursors=cursors), datetime.now(UTC))


def hn_source(server: ReplayServer, **extra: Any) -> HackerNewsSource:
    config = {"type": "hackernews", "name": SOURCE, "base_url": server.url(API)}
    return HackerNewsSource.model_validate(config | extra)


def requested(server: ReplayServer) -> list[str]:
    return [path for path, _ in server.requests if path != "/robots.txt"]


# --- parsing the recordings directly (fast) ---------------------------------------------


def test_every_recorded_search_answer_parses(fixtures_dir: Path) -> None:
    answers = [r for url, r in recorded_replies(fixtures_dir).items() if "/search" in url]
    assert len(answers) == 24
    for answer in answers:
        result = parse_search(answer, "hn")
        assert result.page.errors == [] and result.page.deleted == []
        [post] = result.page.posts
        assert post.platform == "hackernews" and post.external_id.isdigit()
        assert post.url == f"https://news.ycombinator.com/item?id={post.external_id}"
        assert post.author and post.title  # a title-only story has no text
        assert post.published_at is not None and post.published_at.tzinfo is not None
        assert "&#x27;" not in post.text and "<p>" not in post.text
        assert result.pages == answer["nbPages"] and result.newest is not None


def test_comment_fields(fixtures_dir: Path) -> None:
    answer = reply(fixtures_dir, "hitsPerPage=1&tags=(comment)")
    result = parse_search(answer, "hn")
    [post] = result.page.posts
    assert post.external_id == "7919431" and post.author == "gohrt"
    # A comment has no title: the story it belongs to says what it is about.
    assert post.title == "Fibonacci Flim-Flam"
    assert post.text.startswith("A perennial HN favorite https://hn.algolia.com/?q=Fibonacci")
    assert "What's fascinating about this topic" in post.text  # &#x27; decoded
    assert (post.likes, post.replies) == (1, None)
    assert post.published_at == datetime(2014, 6, 20, 3, 39, 55, tzinfo=UTC)
    assert result.newest == 1403235595


def test_story_fields(fixtures_dir: Path) -> None:
    [link] = parse_search(reply(fixtures_dir, "hitsPerPage=1&tags=(story)"), "hn").page.posts
    assert link.title == "Judge says concerned about Apple, Google hiring settlement"
    assert link.text.startswith("http://in.reuters.com/article/2014/06/19/apple-google")
    assert (link.likes, link.replies, link.author) == (1, 0, "bradleyjg")
    [poll] = parse_search(reply(fixtures_dir, "hitsPerPage=1&tags=(poll)"), "hn").page.posts
    assert poll.text.startswith("According to this article, between 2 and 10% of the population")
    assert '"The Hum"' in poll.text and poll.replies == 1


def test_deleted_and_malformed_hits(fixtures_dir: Path) -> None:
    comment = reply(fixtures_dir, "hitsPerPage=1&tags=(comment)")["hits"][0]
    story = reply(fixtures_dir, "hitsPerPage=1&tags=(story)")["hits"][0]
    deleted_comment = comment | {"objectID": "1", "comment_text": None}
    deleted_story = story | {"objectID": "2", "title": None, "story_text": None, "url": None}
    no_id = {k: v for k, v in comment.items() if k != "objectID"}
    no_time = {k: v for k, v in story.items() if k not in ("created_at_i", "created_at")}
    iso_only = {k: v for k, v in story.items() if k != "created_at_i"} | {"objectID": "3"}
    hits = [deleted_comment, deleted_story, no_id, no_time, "junk", iso_only, comment]
    result = parse_search({"hits": hits, "nbPages": 1, "page": 0}, "hn")
    assert result.page.deleted == ["1", "2"]
    assert result.page.errors == [
        "hackernews: hit #2 has no objectID",
        "hackernews: item 7919424 has no created_at_i or created_at",
        "hackernews: hit #4 is str, not an object",
    ]
    assert [post.external_id for post in result.page.posts] == ["3", "7919431"]
    assert result.page.posts[0].published_at == datetime(2014, 6, 20, 3, 35, 46, tzinfo=UTC)
    assert (result.hits, result.pages, result.newest) == (7, 1, 1403235595)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"message": "invalid numericFilters", "status": 400}, "hits: invalid numericFilters"),
        ([], "expected an Algolia answer with hits"),
        ({"hits": None}, "expected an Algolia answer with hits"),
    ],
)
def test_an_answer_without_hits_is_a_format_error(body: Any, message: str) -> None:
    with pytest.raises(AlgoliaFormatError, match=message):
        parse_search(body, "hn")


def test_tags_filter() -> None:
    assert tags_filter(["story", "comment"]) == "(story,comment)"
    assert tags_filter(["comment"]) == "(comment)"


# --- real crawls ------------------------------------------------------------------------


@pytest.fixture
def apple_server(fixtures_dir: Path) -> Iterator[ReplayServer]:
    """Three pages for the "apple" search after CURSOR, each a recorded answer; the last
    says there are no more pages (nbPages 3, the recording has 849) and carries a
    deleted comment."""
    since = CURSOR - OVERLAP_SECONDS
    last = reply(fixtures_dir, "hitsPerPage=1&tags=(ask_hn)&page=2&query=apple")
    deleted = reply(fixtures_dir, "hitsPerPage=1&tags=(comment)&query=apple")["hits"][0]
    last["hits"].append(deleted | {"objectID": "7900000", "comment_text": None})
    last["nbPages"] = 3
    routes = {
        search_path("apple", since, 0): json_route(
            reply(fixtures_dir, "hitsPerPage=1&tags=(comment)&query=apple")
        ),
        search_path("apple", since, 1): json_route(
            reply(fixtures_dir, "hitsPerPage=1&tags=(story%2Cpoll)&query=apple")
        ),
        search_path("apple", since, 2): json_route(last),
    }
    with serve(routes) as server:
        yield server


def test_crawl_pages_and_a_second_run_asks_only_for_what_is_new(
    apple_server: ReplayServer, fixtures_dir: Path, database_url: str
) -> None:
    # Algolia matched the comment on "applauded": the watch query is what decides.
    query = "apple OR swag OR starbucks"
    watches = [WatchConfig(name="apple", query=query, search_terms=["apple"])]
    seed_cursors(database_url, {"apple": {"search:apple": str(CURSOR)}})
    first = run_crawl(hn_source(apple_server), watches, FAST, database_url)
    assert first.errors == []
    assert (first.fetched, first.new, first.deleted) == (3, 3, 1)
    since = CURSOR - OVERLAP_SECONDS
    assert requested(apple_server) == [search_path("apple", since, page) for page in range(3)]

    posts = {post.external_id: post for post in stored_posts(database_url, SOURCE)}
    assert set(posts) == {"7919418", "7919424", "7915384"}
    comment = posts["7919418"]
    assert comment.author == "fleitz" and comment.watch == "apple"
    assert comment.title == "Starbucks admits it's not contributing to scholarship fund"
    assert comment.text.startswith("Yeah the article seems stupid, while technically they aren't")
    assert comment.url == "https://news.ycombinator.com/item?id=7919418"
    assert comment.published_at == datetime.fromtimestamp(1403235154, tz=UTC)
    assert posts["7915384"].title == "Ask HN: How can I get Swag from Startups?"
    newest = 1403235346
    with database(database_url) as factory:
        assert load_cursors(factory, SOURCE) == {"apple": {"search:apple": str(newest)}}

    # The next run asks Algolia only for what came after the cursor (minus the overlap).
    story = reply(fixtures_dir, "hitsPerPage=1&tags=(story)&query=apple")["hits"]
    comments = reply(fixtures_dir, "hitsPerPage=1&tags=(comment)&query=apple")["hits"]
    recent = {"hits": [*story, *comments], "nbPages": 1, "page": 0}
    apple_server.routes[search_path("apple", newest - OVERLAP_SECONDS, 0)] = json_route(recent)
    apple_server.requests.clear()
    second = run_crawl(hn_source(apple_server), watches, FAST, database_url)
    assert second.errors == []
    assert (second.fetched, second.new, second.known) == (2, 0, 2)
    assert requested(apple_server) == [search_path("apple", newest - OVERLAP_SECONDS, 0)]
    assert len(stored_posts(database_url, SOURCE)) == 3


def test_error_pages_and_broken_hits_are_recorded_not_fatal(
    fixtures_dir: Path, sqlite_url: str
) -> None:
    terms = ["down", "html", "broken", "mixed", "fresh"]
    watches = [WatchConfig(name=term, query="*", search_terms=[term]) for term in terms]
    seed_cursors(sqlite_url, {t: {f"search:{t}": str(CURSOR)} for t in terms if t != "fresh"})
    since = CURSOR - OVERLAP_SECONDS
    good = reply(fixtures_dir, "hitsPerPage=1&tags=(comment)")["hits"][0]
    mixed = {"hits": [good, {"author": "x"}], "nbPages": 1, "page": 0}
    routes = {
        search_path("down", since, 0): Route(503, HTML, b"<html><body>503</body></html>"),
        search_path("html", since, 0): Route(200, HTML, b"<html><body>maintenance</body></html>"),
        search_path("broken", since, 0): Route(200, JSON, b'{"hits": [{"objectID": '),
        search_path("mixed", since, 0): json_route(mixed),
    }
    with serve(routes) as server:
        started = time.time()
        result = run_crawl(hn_source(server), watches, FAST, sqlite_url)
        finished = time.time()
        url = server.url
        fresh = [path for path in requested(server) if "query=fresh" in path]
    expected = [
        f"hn: HTTP 503 from {url(search_path('down', since, 0))}",
        f"hn: expected JSON from {url(search_path('html', since, 0))} (HTTP 200), got an HTML page",
        f"hn: expected JSON from {url(search_path('broken', since, 0))} (HTTP 200), "
        "got malformed JSON",
        "hn: hackernews: hit #1 has no objectID",
        "hn: HTTP 404 from",  # the fresh stream: no recording for "now"
    ]
    assert len(result.errors) == len(expected), result.errors
    for message in expected:
        assert any(error.startswith(message) for error in result.errors), (message, result)
    assert (result.fetched, result.new) == (1, 1)
    with database(sqlite_url) as factory:
        cursors = load_cursors(factory, SOURCE)
    # Streams that failed keep their old cursor; the one that was read moved on.
    assert cursors["mixed"] == {"search:mixed": str(good["created_at_i"])}
    for term in ("down", "html", "broken"):
        assert cursors[term] == {f"search:{term}": str(CURSOR)}
    assert "fresh" not in cursors
    # Without a cursor the first run reaches back first_run_days (7 by default).
    [path] = fresh
    [numeric] = parse_qs(urlsplit(path).query)["numericFilters"]
    week = 7 * 86_400
    assert started - week - 1 <= int(numeric.removeprefix("created_at_i>")) <= finished - week
