"""App Store reviews: the pure parser on hand-written feeds (see tests/fixtures/README.md)
and real crawls (subprocess + Scrapy + database) against the local replay server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crawlers.appstore import (
    cursor_value,
    entries,
    label,
    parse_reviews,
    review_post,
    reviews_url,
)
from crawlers.config import AppStoreSource, WatchConfig
from crawlers.runner import run_crawl
from storage.models import Post
from tests.replay_server import ReplayServer, Route, serve
from tests.test_crawl_feeds import FAST, stored_cursors, stored_posts

FIXTURES = Path(__file__).parent / "fixtures" / "appstore"
APP = "1234567890"
BRAND = WatchConfig(name="brand", query="nothing matches this")  # assign_watch decides
COMPLAINTS = WatchConfig(name="complaints", query="crash OR crashes OR refund OR 闪退")
JSON = {"Content-Type": "text/javascript; charset=utf-8"}  # what Apple labels it


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_bytes())


def page_path(country: str, page: int) -> str:
    return f"/{country}/rss/customerreviews/page={page}/id={APP}/sortby=mostrecent/json"


def json_route(name: str) -> Route:
    return Route(headers=JSON, body=(FIXTURES / name).read_bytes())


def parse(name: str, country: str = "us", since: datetime | None = None) -> Any:
    return parse_reviews(fixture(name), "as", country, APP, where="U", since=since)


# --- the parser ------------------------------------------------------------------------------


def test_review_fields() -> None:
    page = parse("us_page1.json")
    assert page.errors == [] and not page.empty
    first, second, third = page.posts
    assert first.external_id == "11000000005"
    assert first.title == "Crashes every time I open the camera"
    assert first.text.startswith("Since 5.2.1 the app crashes whenever I try to scan")
    assert "<table" not in first.text  # the text variant, not the html one
    assert "tired.user@example.com" not in first.text  # masked
    assert (first.rating, first.rating_scale, first.likes) == (1.0, 5.0, 12)
    assert first.author == "tired_of_this_app"
    assert first.url == "https://itunes.apple.com/us/review?id=1234567890&type=Purple%20Software"
    assert first.published_at == datetime(2024, 5, 20, 16, 15, tzinfo=UTC)
    assert (first.region, first.language, first.platform) == ("US", "en", "appstore")
    assert (second.rating, second.likes, third.rating) == (2.0, 3, 5.0)
    assert page.updated == [post.published_at for post in page.posts]


def test_single_entry_missing_entry_and_app_metadata() -> None:
    single = parse("us_page2.json")
    assert [post.external_id for post in single.posts] == ["11000000002"]
    last = parse("us_page3.json")
    assert last.empty and last.posts == [] and last.errors == []
    chinese = parse("cn_page1.json", "cn")
    assert chinese.errors == []
    assert [post.external_id for post in chinese.posts] == ["11000000901", "11000000900"]
    unhappy = chinese.posts[0]
    assert (unhappy.title, unhappy.rating, unhappy.region, unhappy.language) == (
        "闪退严重",
        1.0,
        "CN",
        "zh",
    )
    assert unhappy.published_at == datetime(2024, 5, 20, 12, 30, tzinfo=UTC)
    assert entries({"entry": []}) == [] and entries({}) == []


def test_broken_entries_are_named_and_the_rest_kept() -> None:
    page = parse("fr_broken_entries.json", "fr")
    assert [post.external_id for post in page.posts] == ["11000000801", "11000000799"]
    unrated = page.posts[1]
    assert (unrated.rating, unrated.rating_scale) == (None, None)
    assert page.errors == [
        "appstore review without id.label (entry #2 in U)",
        "appstore review 11000000799 has no 1-5 im:rating.label (found None) (entry #3 in U)",
        "appstore review 11000000798 has neither content.label nor title.label (entry #4 in U)",
        "appstore entry #5 in U is not an object",
    ]
    assert parse_reviews({"feed": "x"}, "as", "fr", APP, where="U").errors == [
        "appstore: no feed object in the JSON from U"
    ]


def test_html_only_content_and_odd_values() -> None:
    entry = {
        "id": {"label": "7"},
        "im:rating": {"label": "6"},
        "content": [{"label": "<p>Broken &amp; slow</p>", "attributes": {"type": "html"}}],
    }
    post, problem = review_post(entry, "as", "gb", APP)
    assert post is not None and post.text == "Broken & slow" and post.title is None
    assert post.url == f"https://apps.apple.com/gb/app/id{APP}?see-all=reviews"
    assert problem == "review 7 has no 1-5 im:rating.label (found '6')"
    assert label({"label": "  "}) is None and label(5) == "5" and label({"x": 1}) is None


def test_first_run_window_and_urls() -> None:
    page = parse("us_page1.json", since=datetime(2024, 5, 19, tzinfo=UTC))
    assert [post.external_id for post in page.posts] == ["11000000005", "11000000004"]
    assert len(page.updated) == 3  # the old one still tells the spider to stop paging
    assert reviews_url("https://itunes.apple.com/", "cn", 3, APP) == (
        f"https://itunes.apple.com/cn/rss/customerreviews/page=3/id={APP}/sortby=mostrecent/json"
    )
    when = datetime(2024, 5, 20, 9, 15, tzinfo=UTC) + timedelta(hours=8)
    assert cursor_value(when) == "2024-05-20T17:15:00Z"


# --- real crawls ----------------------------------------------------------------------------


@pytest.fixture
def store_server() -> Iterator[ReplayServer]:
    routes = {
        page_path("us", 1): json_route("us_page1.json"),
        page_path("us", 2): json_route("us_page2.json"),
        page_path("us", 3): json_route("us_page3.json"),
        page_path("cn", 1): json_route("cn_page1.json"),
        page_path("cn", 2): json_route("cn_page2.json"),
    }
    with serve(routes) as server:
        yield server


def store_source(server: ReplayServer, **extra: object) -> AppStoreSource:
    settings = {"type": "appstore", "name": "appstore", "base_url": server.base_url, "app_id": APP}
    return AppStoreSource.model_validate(settings | {"first_run_days": 36500} | extra)


def requested(server: ReplayServer) -> list[str]:
    paths = [path for path, _ in server.requests if path != "/robots.txt"]
    server.requests.clear()
    return sorted(paths)


def by_id(database_url: str, source: str) -> dict[str, Post]:
    return {post.external_id: post for post in stored_posts(database_url, source)}


def test_assigned_reviews_then_a_second_run_stores_nothing_new(
    store_server: ReplayServer, database_url: str
) -> None:
    source = store_source(store_server, countries=["us", "cn"], assign_watch="brand")
    first = run_crawl(source, [BRAND], FAST, database_url)
    assert first.ok, first.errors
    assert (first.fetched, first.new, first.known, first.skipped) == (6, 6, 0, 0)
    pages = [("us", 1), ("us", 2), ("us", 3), ("cn", 1), ("cn", 2)]
    assert requested(store_server) == sorted(page_path(*page) for page in pages)
    posts = by_id(database_url, "appstore")
    assert set(posts) == {
        "11000000005",
        "11000000004",
        "11000000003",
        "11000000002",
        "11000000901",
        "11000000900",
    }
    assert {post.watch for post in posts.values()} == {"brand"}
    one_star = posts["11000000005"]
    assert (one_star.rating, one_star.rating_scale, one_star.likes) == (1.0, 5.0, 12)
    assert one_star.title == "Crashes every time I open the camera"
    assert one_star.published_at == datetime(2024, 5, 20, 16, 15, tzinfo=UTC)
    assert (one_star.region, one_star.language, one_star.author) == (
        "US",
        "en",
        "tired_of_this_app",
    )
    chinese = posts["11000000901"]
    assert (chinese.region, chinese.language, chinese.likes) == ("CN", "zh", 7)
    assert (
        chinese.text == "更新之后一打开就闪退，客服电话一直打不通，申请退款也不给处理，太失望了。"
    )
    assert posts["11000000002"].text.startswith("The app takes forever")  # single-entry page
    assert stored_cursors(database_url, "appstore") == {
        "*": {"reviews:us": "2024-05-20T16:15:00Z", "reviews:cn": "2024-05-20T12:30:00Z"}
    }

    second = run_crawl(source, [BRAND], FAST, database_url)
    assert second.ok, second.errors
    assert (second.new, second.known) == (0, 3 + 2)
    # Page 1 already reaches reviews at the cursor: no page 2 this time.
    assert requested(store_server) == sorted([page_path("us", 1), page_path("cn", 1)])
    assert len(by_id(database_url, "appstore")) == 6


def test_watch_queries_decide_without_assign_watch_and_never_past_page_ten(
    store_server: ReplayServer, sqlite_url: str
) -> None:
    start = datetime(2024, 5, 1, tzinfo=UTC)
    for page in range(1, 12):
        review = {
            "id": {"label": f"1200000{page:04d}"},
            "author": {"name": {"label": f"jp{page}"}},
            "updated": {"label": (start - timedelta(days=page)).isoformat()},
            "im:rating": {"label": "1"},
            "title": {"label": "アプリがクラッシュします"},
            "content": {"label": f"Crash report {page}: the app crashes on launch."},
        }
        body = json.dumps({"feed": {"entry": review}}).encode()
        store_server.routes[page_path("jp", page)] = Route(headers=JSON, body=body)
    source = store_source(store_server, countries=["us", "cn", "JP"])
    result = run_crawl(source, [BRAND, COMPLAINTS], FAST, sqlite_url)
    assert result.ok, result.errors
    paths = requested(store_server)
    assert page_path("jp", 10) in paths and page_path("jp", 11) not in paths
    posts = by_id(sqlite_url, "appstore")
    assert {"11000000005", "11000000004", "11000000901"} <= set(posts)  # crashes, refund, 闪退
    assert not {"11000000003", "11000000002", "11000000900"} & set(posts)
    assert (result.new, result.skipped) == (3 + 10, 3)
    assert {post.watch for post in posts.values()} == {"complaints"}


def test_failures_are_recorded_and_the_rest_is_stored(sqlite_url: str) -> None:
    html = b"<!DOCTYPE html><html><body><h1>Service Unavailable</h1></body></html>"
    routes = {
        page_path("gb", 1): Route(headers={"Content-Type": "text/html"}, body=html),
        page_path("xx", 1): Route(status=503, headers={"Content-Type": "text/html"}, body=html),
        page_path("de", 1): Route(headers=JSON, body=b'{"feed": {"entry": [{"id": '),
        page_path("it", 1): Route(headers=JSON, body=b'{"errorMessage": "not found"}'),
        page_path("fr", 1): json_route("fr_broken_entries.json"),
        page_path("fr", 2): Route(headers=JSON, body=b'{"feed": {"author": {}}}'),
    }
    with serve(routes) as server:
        source = store_source(server, countries=["gb", "xx", "de", "it", "fr"])
        result = run_crawl(source, [WatchConfig(name="all", query="*")], FAST, sqlite_url)
    messages = "\n".join(result.errors)
    assert len(result.errors) == 8, messages
    assert (result.fetched, result.new) == (2, 2)
    assert not result.down
    assert (
        f"expected JSON from {server.url(page_path('gb', 1))} (HTTP 200), got an HTML page"
        in messages
    )
    assert f"HTTP 503 from {server.url(page_path('xx', 1))}" in messages
    assert f"expected JSON from {server.url(page_path('de', 1))}" in messages
    assert "got malformed JSON" in messages
    assert f"expected a review feed from {server.url(page_path('it', 1))}" in messages
    assert "appstore review without id.label (entry #2 in" in messages
    assert "appstore review 11000000799 has no 1-5 im:rating.label" in messages
    assert "appstore entry #5 in" in messages
    assert all(error.startswith("appstore: ") for error in result.errors)
    posts = by_id(sqlite_url, "appstore")
    assert set(posts) == {"11000000801", "11000000799"}
    assert posts["11000000799"].rating is None  # kept without a rating
    # Only France finished cleanly, so only its cursor moved.
    assert stored_cursors(sqlite_url, "appstore") == {"*": {"reviews:fr": "2024-05-20T16:00:00Z"}}
