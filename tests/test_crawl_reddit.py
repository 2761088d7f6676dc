"""Reddit: the recorded listings (praw's Betamax cassettes) parsed directly, and crawled for
real (subprocess + Scrapy + database) from a local replay server, including what goes wrong."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crawlers.config import CrawlSettings, RedditSource, WatchConfig
from crawlers.query import phrase_for_search
from crawlers.reddit import RedditFormatError, parse_listing, unescape
from crawlers.runner import run_crawl
from crawlers.spiders.api import window_start
from storage.db import database
from storage.models import Amplification
from tests.recordings import Recorded, recorded_gets
from tests.replay_server import ReplayServer, Route, serve
from tests.test_crawl_feeds import crawl_state, stored_cursors, stored_posts

FAST = CrawlSettings(autothrottle=False, retries=0, timeout_seconds=5, process_timeout_seconds=60)
JSON = {"Content-Type": "application/json; charset=UTF-8"}
HTML = {"Content-Type": "text/html; charset=UTF-8"}
WATCHES = [WatchConfig(name="praw", query="praw"), WatchConfig(name="everything", query="*")]
CENTURY = 36_500  # first_run_days reaching back to the 2016 recordings

NEW = "/r/askreddit/new.json?raw_json=1&limit=100"
NEW_PAGE_2 = f"{NEW}&after=t3_48f6io"
SEARCH = "/search.json?q=praw&sort=new&raw_json=1&limit=100"

# Written for these tests, in the shape of Reddit's own pages (no recording has one).
REDDIT_503 = b"""<!doctype html><html><head><title>reddit.com: over capacity</title></head>
<body><h1>all of our servers are busy right now</h1>
<p>please try again in a minute</p></body></html>"""
BLOCKED_200 = b"<html><body><h1>whoa there, pardner!</h1></body></html>"


def cassette(fixtures_dir: Path, name: str, contains: str) -> Recorded:
    [found] = recorded_gets(fixtures_dir / "reddit" / f"{name}.json", contains)
    return found


def listing(children: list[Any], after: str | None = None) -> dict[str, Any]:
    return {"kind": "Listing", "data": {"children": children, "after": after, "before": None}}


def json_route(body: Any) -> Route:
    return Route(headers=JSON, body=json.dumps(body).encode())


def hot_things(fixtures_dir: Path) -> list[dict[str, Any]]:
    """Recent submissions (2026, every modern field) to build edge-case listings from."""
    data = cassette(fixtures_dir, "TestSubmission.test_hide_multiple_in_batches", "/hot").json()
    return [copy.deepcopy(child["data"]) for child in data["data"]["children"]]


def deleted_comment_and_its_submission(fixtures_dir: Path) -> list[Any]:
    name = "TestComment.test_refresh__deleted_comment"
    comment = cassette(fixtures_dir, name, "/api/info/").json()["data"]["children"]
    thread = cassette(fixtures_dir, name, "/comments/").json()[0]["data"]["children"]
    return [*comment, *thread]


# --- parsing the recordings directly (fast) ---------------------------------------------


@pytest.mark.parametrize(
    ("name", "contains", "posts", "deleted", "after"),
    [
        ("TestSubredditListings.test_new", "/new", 100, 0, "t3_48f6io"),
        ("TestSubreddit.test_search", "/search/", 6, 0, None),
        ("TestComment.test_refresh__deleted_comment", "/api/info/", 0, 1, None),
        ("TestComment.test_refresh__deleted_comment", "/comments/", 1, 0, None),
        ("TestSubmission.test_hide_multiple_in_batches", "/hot", 100, 0, "t3_1skbyfv"),
    ],
)
def test_every_recorded_listing_parses(
    fixtures_dir: Path, name: str, contains: str, posts: int, deleted: int, after: str | None
) -> None:
    result = parse_listing(cassette(fixtures_dir, name, contains).json(), "r", "http://r.test")
    page = result.page
    assert (len(page.posts), len(page.deleted), page.errors, result.after) == (
        posts,
        deleted,
        [],
        after,
    )
    assert len({post.external_id for post in page.posts}) == posts
    for post in page.posts:
        assert post.platform == "reddit" and post.external_id.startswith("t3_")
        assert post.url and post.url.startswith("http://r.test/r/")
        assert post.title and post.author
        assert post.published_at is not None and post.published_at.tzinfo is not None
        assert post.author_followers is None  # subreddit_subscribers is not the author's


def test_submission_fields(fixtures_dir: Path) -> None:
    data = cassette(fixtures_dir, "TestSubmission.test_hide_multiple_in_batches", "/hot").json()
    post = parse_listing(data, "r", "https://www.reddit.com/").page.posts[2]
    assert post.external_id == "t3_1sklidt"
    assert post.title == "How to stop a toddler from having a tantrum."
    assert post.author == "girlinanemptyroom"
    assert post.url == (
        "https://www.reddit.com/r/KidsAreFuckingStupid/comments/1sklidt/"
        "how_to_stop_a_toddler_from_having_a_tantrum/"
    )
    assert post.published_at == datetime.fromtimestamp(1776109086, tz=UTC)
    assert post.reposts == 3  # num_crossposts
    assert post.likes is not None and post.replies is not None
    # A link post without a body says what it is through its link.
    assert post.text.startswith("http")


def test_comments_deleted_removed_and_escaped_text(fixtures_dir: Path) -> None:
    [deleted, submission] = deleted_comment_and_its_submission(fixtures_dir)
    comment = copy.deepcopy(deleted)
    comment["data"] |= {
        "author": "kim",
        "body": "Acme &amp; co lost it &lt;again&gt;",
        "name": "t1_kept",
        "link_title": "testing define bot!",
    }
    gone_author = copy.deepcopy(submission)
    gone_author["data"] |= {"author": "[deleted]", "name": "t3_orphan"}
    removed = copy.deepcopy(submission)
    removed["data"] |= {"selftext": "[removed]", "name": "t3_removed"}
    removed_comment = copy.deepcopy(deleted)
    removed_comment["data"] |= {"author": "kim", "body": "[removed]", "name": "t1_removed"}
    children = [deleted, comment, gone_author, removed, removed_comment]
    page = parse_listing(listing(children), "r", "http://r.test").page
    assert page.errors == []
    assert page.deleted == ["t1_d7ltvl0", "t1_removed"]
    kept, orphan, removed_post = page.posts
    assert (kept.external_id, kept.text, kept.title) == (
        "t1_kept",
        "Acme & co lost it <again>",
        "testing define bot!",
    )
    # Old comment listings have no permalink: the short form that redirects to it.
    assert kept.url == "http://r.test/comments/52o2fl/_/d7ltvl0/"
    assert kept.replies is None
    assert (orphan.author, orphan.text) == (None, "test")  # a deleted account, real text
    assert (removed_post.text, removed_post.title) == ("", "testing define bot!")


def test_malformed_entries_are_named_and_the_rest_kept(fixtures_dir: Path) -> None:
    things = hot_things(fixtures_dir)[:4]
    del things[1]["created_utc"]
    del things[2]["title"]
    del things[3]["name"], things[3]["id"]
    children: list[Any] = [{"kind": "t3", "data": thing} for thing in things]
    children += ["junk", {"kind": "more", "data": {"children": ["abc"]}}]
    page = parse_listing(listing(children), "r", "http://r.test").page
    assert [post.external_id for post in page.posts] == [things[0]["name"]]
    assert page.errors == [
        "reddit: t3_1skl1i1 has no readable created_utc",
        "reddit: t3_1sklidt has no title",
        "reddit: a t3 entry has no id or name",
        "reddit: listing entry #4 has no data",
    ]


def test_crosspost_parsing(fixtures_dir: Path) -> None:
    original, by_user, by_deleted, of_deleted = hot_things(fixtures_dir)[:4]
    gone = original | {"name": "t3_gone", "author": "[deleted]", "selftext": "[removed]"}
    by_user |= {"crosspost_parent_list": [original]}
    by_deleted |= {"crosspost_parent_list": [original], "author": "[deleted]"}
    of_deleted |= {"crosspost_parent_list": [gone]}
    children = [{"kind": "t3", "data": d} for d in (by_user, by_deleted, of_deleted)]
    page = parse_listing(listing(children), "r", "http://r.test").page
    assert [post.external_id for post in page.posts] == [original["name"]] * 2
    assert page.deleted == ["t3_gone"]
    [amplification] = page.amplifications
    assert (amplification.original_external_id, amplification.external_id) == (
        original["name"],
        by_user["name"],
    )
    assert amplification.amplifier == by_user["author"]
    assert amplification.amplified_at == datetime.fromtimestamp(by_user["created_utc"], tz=UTC)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"error": 403, "message": "Forbidden"}, "Reddit answered 403 Forbidden"),
        ({"kind": "t3", "data": {}}, "expected a Reddit Listing, got dict"),
        ({"kind": "Listing", "data": {}}, "a Listing without data.children"),
        ("nope", "expected a Reddit Listing, got str"),
    ],
)
def test_a_body_that_is_not_a_listing_is_a_format_error(body: Any, message: str) -> None:
    with pytest.raises(RedditFormatError, match=message):
        parse_listing(body, "r", "http://r.test")


def test_since_skips_older_entries_and_says_when_a_page_reaches_it(fixtures_dir: Path) -> None:
    data = cassette(fixtures_dir, "TestSubredditListings.test_new", "/new").json()
    since = 1456820000.0
    result = parse_listing(data, "r", "http://r.test", since)
    assert result.page.posts and len(result.page.posts) < 100
    assert all(post.published_at.timestamp() >= since for post in result.page.posts)  # type: ignore[union-attr]
    assert (result.newest, result.oldest) == (1456821458.0, 1456818242.0)
    assert result.reaches(since) and not result.reaches(1456818242.0) and not result.reaches(None)


def test_window_start_and_search_syntax() -> None:
    now = 1_700_000_000.0
    assert window_start("1699999000", 10, 7, now) == 1699999000 - 600
    assert window_start(None, 10, 7, now) == now - 7 * 86_400
    assert window_start("garbage", 10, 1, now) == now - 86_400
    assert phrase_for_search("late parcel") == '"late parcel"'
    assert phrase_for_search(" acme ") == "acme"
    assert phrase_for_search('"already quoted"') == '"already quoted"'
    assert unescape("AT&T &copy;") == "AT&T &copy;"  # not escaped: left alone
    assert unescape("a &amp;copy; b") == "a &copy; b"


# --- real crawls ------------------------------------------------------------------------


@pytest.fixture
def reddit_server(fixtures_dir: Path) -> Iterator[ReplayServer]:
    routes = {
        NEW: cassette(fixtures_dir, "TestSubredditListings.test_new", "/new").route(),
        NEW_PAGE_2: json_route(listing(deleted_comment_and_its_submission(fixtures_dir))),
        SEARCH: cassette(fixtures_dir, "TestSubreddit.test_search", "/search/").route(),
    }
    with serve(routes) as server:
        yield server


def reddit_source(server: ReplayServer, **extra: Any) -> RedditSource:
    config = {"type": "reddit", "name": "brand-reddit", "base_url": server.base_url}
    return RedditSource.model_validate(config | {"first_run_days": CENTURY} | extra)


def test_crawl_pages_and_a_second_run_reads_only_the_overlap(
    reddit_server: ReplayServer, sqlite_url: str
) -> None:
    source = reddit_source(reddit_server, subreddits=["r/askreddit"])
    first = run_crawl(source, WATCHES, FAST, sqlite_url)
    assert first.errors == []
    assert (first.fetched, first.new, first.deleted) == (107, 107, 1)
    paths = [path for path, _ in reddit_server.requests if path != "/robots.txt"]
    assert sorted(paths) == sorted([NEW, NEW_PAGE_2, SEARCH])
    assert all("uproar" in headers["User-Agent"] for _, headers in reddit_server.requests)

    posts = {post.external_id: post for post in stored_posts(sqlite_url, "brand-reddit")}
    serious = posts["t3_48fbm9"]
    assert serious.watch == "everything" and serious.author == "RedHeadQc"
    assert serious.title and serious.title.startswith("[Serious] Parents of Reddit")
    assert serious.url == reddit_server.url(
        "/r/AskReddit/comments/48fbm9/serious_parents_of_reddit_whats_the_biggest_lie/"
    )
    assert serious.published_at == datetime(2016, 3, 1, 8, 37, 38, tzinfo=UTC)
    assert (serious.likes, serious.replies, serious.author_followers) == (1, 1, None)
    assert posts["t3_52o2fl"].text == "test"  # from the served second page
    assert posts["t3_3gpbiu"].watch == "praw"
    assert "t1_d7ltvl0" not in posts
    assert stored_cursors(sqlite_url, "brand-reddit") == {
        "*": {"r/askreddit": "1473815863"},  # the deleted comment is the newest seen
        "praw": {"search:praw": "1458221634"},
    }

    reddit_server.requests.clear()
    second = run_crawl(source, WATCHES, FAST, sqlite_url)
    assert second.errors == []
    # Only the newest search hit is inside the overlap window; nothing is new, and the
    # subreddit stops at its first page: it is already older than the cursor.
    assert (second.fetched, second.new, second.known) == (1, 0, 1)
    paths = [path for path, _ in reddit_server.requests if path != "/robots.txt"]
    assert sorted(paths) == sorted([NEW, SEARCH])
    assert len(stored_posts(sqlite_url, "brand-reddit")) == 107


def test_error_pages_and_broken_entries_are_recorded_not_fatal(
    reddit_server: ReplayServer, fixtures_dir: Path, sqlite_url: str
) -> None:
    things = hot_things(fixtures_dir)[:3]
    del things[1]["title"]
    routes = {
        "/r/down/new.json?raw_json=1&limit=100": Route(503, HTML, REDDIT_503),
        "/r/html/new.json?raw_json=1&limit=100": Route(200, HTML, BLOCKED_200),
        "/r/broken/new.json?raw_json=1&limit=100": Route(200, JSON, b'{"kind": "Listing", "da'),
        "/r/mixed/new.json?raw_json=1&limit=100": json_route(
            listing([{"kind": "t3", "data": thing} for thing in things])
        ),
    }
    reddit_server.routes.update(routes)
    source = reddit_source(reddit_server, subreddits=["down", "html", "broken", "mixed"])
    result = run_crawl(source, [WATCHES[1]], FAST, sqlite_url)
    base = reddit_server.base_url
    expected = [
        f"brand-reddit: HTTP 503 from {base}/r/down/new.json?raw_json=1&limit=100",
        f"brand-reddit: expected JSON from {base}/r/html/new.json?raw_json=1&limit=100 "
        "(HTTP 200), got an HTML page",
        f"brand-reddit: expected JSON from {base}/r/broken/new.json?raw_json=1&limit=100 "
        "(HTTP 200), got malformed JSON",
        "brand-reddit: reddit: t3_1skl1i1 has no title",
    ]
    assert len(result.errors) == len(expected)
    for message in expected:
        assert any(error.startswith(message) for error in result.errors), (message, result)
    assert (result.fetched, result.new) == (2, 2)
    assert not result.down
    state = crawl_state(sqlite_url, "brand-reddit")
    assert state is not None and state.health == "partial" and state.consecutive_failures == 0
    # Only the stream that was read keeps a cursor; the others re-read next time.
    assert stored_cursors(sqlite_url, "brand-reddit") == {"*": {"r/mixed": "1776109086"}}


def test_a_crosspost_stores_the_original_once_and_records_who_crossposted(
    fixtures_dir: Path, database_url: str
) -> None:
    original, first, second = hot_things(fixtures_dir)[:3]
    original["num_crossposts"] = 2
    for crosspost in (first, second):
        crosspost |= {
            "crosspost_parent": original["name"],
            "crosspost_parent_list": [original],
            "selftext": "",
        }
    route = json_route(listing([{"kind": "t3", "data": first}, {"kind": "t3", "data": second}]))
    with serve({"/r/xposts/new.json?raw_json=1&limit=100": route}) as server:
        source = reddit_source(server, name="xposts", subreddits=["xposts"])
        everything = [WatchConfig(name="everything", query="*")]
        results = [run_crawl(source, everything, FAST, database_url) for _ in range(2)]
    assert [(r.errors, r.new, r.amplifications) for r in results] == [([], 1, 2), ([], 0, 0)]
    [post] = stored_posts(database_url, "xposts")
    assert post.external_id == original["name"] and post.author == original["author"]
    assert (post.reposts, post.amplifications) == (2, 2)
    with database(database_url) as factory, factory() as session:
        rows = session.execute(select(Amplification).order_by(Amplification.id)).scalars()
        amplified = [(row.external_id, row.amplifier) for row in rows]
    assert amplified == [(first["name"], first["author"]), (second["name"], second["author"])]
