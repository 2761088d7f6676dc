"""Bluesky: the parser on the recorded XRPC answers, and real crawls (subprocess + Scrapy +
database) of searchPosts, author feeds and getProfiles replayed from the recordings."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from sqlalchemy import select

from crawlers.bluesky import (
    apply_followers,
    expand_links,
    iso_time,
    parse_feed_page,
    parse_profiles,
    parse_search_page,
)
from crawlers.config import BlueskySource, WatchConfig
from crawlers.query import parse_watch_query
from crawlers.runner import run_crawl
from storage.db import database
from storage.models import Amplification, AuthorProfile, Post
from tests.recordings import recorded_gets
from tests.replay_server import ReplayServer, Route, serve
from tests.test_crawl_feeds import FAST, stored_cursors, stored_posts

JSON = {"Content-Type": "application/json; charset=utf-8"}
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
FEED = "/xrpc/app.bsky.feed.getAuthorFeed"
PROFILES = "/xrpc/app.bsky.actor.getProfiles"
KENNY = "did:plc:wpe35pganb6d4pg4ekmfy6u5"
NOT_FOUND = {
    "$type": "app.bsky.feed.defs#notFoundPost",
    "uri": "at://did:plc:4szmwdqlabkd37mw7n3tpojq/app.bsky.feed.post/3l37qwkl3uf2t",
    "notFound": True,
}


def recorded(fixtures_dir: Path, name: str) -> Any:
    return recorded_gets(fixtures_dir / "bluesky" / f"{name}.yml")[0].json()


def first_run_days(since: datetime) -> float:
    """first_run_days that make the first run's window start just after ``since``."""
    return (datetime.now(UTC) - since).total_seconds() / 86400 - 0.01


def xrpc(path: str, params: list[tuple[str, str]]) -> str:
    return f"{path}?{urlencode(params)}"


def search_url(q: str, since: str, cursor: str | None = None) -> str:
    params = [("q", q), ("sort", "latest"), ("since", since), ("limit", "100")]
    return xrpc(SEARCH, params + ([("cursor", cursor)] if cursor else []))


def profiles_url(dids: set[str]) -> str:
    return xrpc(PROFILES, [("actors", did) for did in sorted(dids)])


def assert_lexicon_parameters(fixtures_dir: Path, server: ReplayServer) -> None:
    """Every parameter the spider sent is one the method's lexicon defines."""
    lexicons = {
        "searchPosts": SEARCH,
        "getAuthorFeed": FEED,
    }
    for name, path in lexicons.items():
        lexicon = json.loads((fixtures_dir / "bluesky" / "lexicons" / f"{name}.json").read_text())
        allowed = set(lexicon["defs"]["main"]["parameters"]["properties"])
        for requested, _ in server.requests:
            if requested.startswith(f"{path}?"):
                assert set(parse_qs(urlsplit(requested).query)) <= allowed, requested


def json_route(data: Any) -> Route:
    return Route(headers=JSON, body=json.dumps(data).encode())


def profiles_body(fixtures_dir: Path, followers: dict[str, int]) -> dict[str, Any]:
    """A getProfiles answer shaped like the recorded one, one profile per DID."""
    [template] = recorded(fixtures_dir, "a_profile")["profiles"]
    return {
        "profiles": [
            template | {"did": did, "handle": f"{did[-6:]}.example", "followersCount": count}
            for did, count in followers.items()
        ]
    }


def source(server: ReplayServer, **extra: Any) -> BlueskySource:
    return BlueskySource.model_validate(
        {"type": "bluesky", "name": "sky", "appview": server.base_url} | extra
    )


# --- the parser on the recordings (fast) ------------------------------------------------


def test_search_page_fields(fixtures_dir: Path) -> None:
    page = parse_search_page(recorded(fixtures_dir, "f_search"), "sky")
    assert page.errors == [] and page.deleted == [] and len(page.posts) == 25
    first, second = page.posts[:2]
    assert first.external_id == (
        "at://did:plc:kkergqgbhb56ptpwj2wenkje/app.bsky.feed.post/3lpk2u6qo222m"
    )
    assert first.url == "https://bsky.app/profile/socpaperbot.bsky.social/post/3lpk2u6qo222m"
    assert first.author == "socpaperbot.bsky.social" and first.author_followers is None
    assert first.platform == "bluesky" and first.title is None
    assert first.published_at == datetime(2025, 5, 19, 17, 10, 9, 561858, tzinfo=UTC)
    assert first.language == "en"  # no langs on this one: detected
    assert (second.likes, second.reposts, second.replies) == (4, 3, 0)
    # The link facet's full target follows the shortened text Bluesky shows.
    assert second.text.endswith(
        "open.substack.com/pub/christac... (https://open.substack.com/pub/christackett/p/"
        "the-pawn-or-the-collaborator?r=92vnq&utm_medium=ios)"
    )
    assert page.author_dids[second.external_id] == "did:plc:s7savtl25cqhm3ddqc7jeljx"
    assert len(page.dids) == 18
    # The newest sortAt (the earlier of createdAt and indexedAt) is the cursor candidate.
    assert page.newest is not None and iso_time(page.newest) == "2025-05-19T17:10:09.561Z"


def test_link_facets_use_byte_offsets(fixtures_dir: Path) -> None:
    [view] = recorded(fixtures_dir, "f_getposts")["posts"]
    record = view["record"]
    text = expand_links(record["text"], record["facets"])  # an emoji comes before the links
    assert "LocalView (localview.net (http://localview.net))" in text
    assert text.endswith("rstats.ai/gov.html (https://rstats.ai/gov.html)")
    assert expand_links("short", [{"index": {"byteStart": 3, "byteEnd": 99}}]) == "short"


def test_author_feed_reposts_and_not_found_reply_parents(fixtures_dir: Path) -> None:
    data = recorded(fixtures_dir, "f_autfeed")
    page = parse_feed_page(data, "sky")
    assert page.errors == [] and len(page.posts) == 50
    assert len(page.amplifications) == 7
    repost = page.amplifications[0]
    original = "at://did:plc:n65dhyosfrm6t7jhzum76exq/app.bsky.feed.post/3lnneysi3ps2c"
    assert repost.original_external_id == original
    assert repost.amplifier == "chriskenny.bsky.social"
    assert repost.amplified_at == datetime(2025, 4, 25, 18, 43, 12, 48000, tzinfo=UTC)
    assert page.amplifier_dids[repost.external_id] == KENNY
    # A reply whose parent is a notFoundPost is still the author's own post.
    ids = {post.external_id for post in page.posts}
    assert f"at://{KENNY}/app.bsky.feed.post/3l3qbvrkwvp2s" in ids
    assert page.newest is not None and iso_time(page.newest) == "2025-05-05T01:30:17.912Z"

    apply_followers(page, parse_profiles(recorded(fixtures_dir, "a_profile")) or {})
    assert {amp.amplifier_followers for amp in page.amplifications} == {554}
    by_author = {post.author: post.author_followers for post in page.posts}
    assert by_author["chriskenny.bsky.social"] == 554 and by_author["jcha.bsky.social"] is None


def test_gone_malformed_and_older_entries(fixtures_dir: Path) -> None:
    posts = recorded(fixtures_dir, "f_search")["posts"]
    no_author = {key: value for key, value in posts[1].items() if key != "author"}
    data = {"posts": [NOT_FOUND, posts[0], no_author, "junk", posts[-1]]}
    page = parse_search_page(data, "sky", datetime(2025, 5, 19, 12, tzinfo=UTC), "http://a/x")
    assert [post.external_id for post in page.posts] == [posts[0]["uri"]]
    assert page.deleted == [NOT_FOUND["uri"]]
    assert page.errors == [
        f"bluesky: post {posts[1]['uri']} from http://a/x: no author DID",
        "bluesky: entry #3 from http://a/x is not a post view",
    ]
    assert page.reached_older  # the last one is from before noon
    assert parse_search_page({"error": "BadQueryString"}, "sky").errors
    assert parse_profiles({"nope": 1}) is None


# --- real crawls ------------------------------------------------------------------------


def test_search_paging_profiles_and_a_second_run_from_the_cache(
    fixtures_dir: Path, database_url: str
) -> None:
    search = recorded(fixtures_dir, "f_search")
    dids = {post["author"]["did"] for post in search["posts"]}
    silent = sorted(dids)[0]  # getProfiles leaves this one out: no count, cached as such
    followers = {did: 100 * (n + 1) for n, did in enumerate(sorted(dids)) if did != silent}
    # Page 2: a deleted post and one from before the window (so paging stops there).
    old = recorded(fixtures_dir, "f_getposts")["posts"][0]
    old["record"]["text"] += " redistricting"
    page_two = {"posts": [NOT_FOUND, old], "cursor": "50"}
    watches = [WatchConfig(name="maps", query="redistricting")]
    query = parse_watch_query("redistricting")
    expected = [post for post in search["posts"] if query.matches(post["record"]["text"])]

    with serve({}) as server:
        server.routes.update(
            {
                search_url("redistricting", "2025-01-01"): json_route(search),
                search_url("redistricting", "2025-01-01", "25"): json_route(page_two),
                profiles_url(dids): json_route(profiles_body(fixtures_dir, followers)),
            }
        )
        sky = source(server, first_run_days=first_run_days(datetime(2025, 1, 1, tzinfo=UTC)))
        first = run_crawl(sky, watches, FAST, database_url)
        assert first.ok, first.errors
        assert (first.fetched, first.deleted) == (25, 1)
        assert first.new == len(expected) and first.skipped == 25 - len(expected)
        posts = stored_posts(database_url, "sky")
        assert {post.external_id for post in posts} == {post["uri"] for post in expected}
        by_did = {post["uri"]: post["author"]["did"] for post in search["posts"]}
        for post in posts:
            assert post.author_followers == followers.get(by_did[post.external_id]), post.author
            assert post.watch == "maps" and post.url and post.url.startswith("https://bsky.app/")
        with database(database_url) as factory, factory() as session:
            rows = session.execute(select(AuthorProfile.author, AuthorProfile.followers))
            cached = {author: count for author, count in rows.tuples()}
        assert cached == {did: followers.get(did) for did in dids}
        assert stored_cursors(database_url, "sky") == {
            "maps": {"search:redistricting": "2025-05-19T17:10:09.561Z"}
        }
        requested = [path for path, _ in server.requests]
        assert search_url("redistricting", "2025-01-01", "50") not in requested
        assert_lexicon_parameters(fixtures_dir, server)

        # Second run: since = cursor - 10 minutes; the server (ignoring it) answers with
        # the same page, whose two posts in the window are known; the rest is older, so
        # no page 2. Follower counts come from the cache: no getProfiles call.
        server.requests.clear()
        since = "2025-05-19T17:00:09.561Z"
        server.routes[search_url("redistricting", since)] = json_route(search)
        second = run_crawl(sky, watches, FAST, database_url)
        assert second.ok, second.errors
        assert (second.fetched, second.new, second.known) == (2, 0, 2)
        assert [path for path, _ in server.requests if path != "/robots.txt"] == [
            search_url("redistricting", since)
        ]
        assert len(stored_posts(database_url, "sky")) == len(expected)


def test_author_feed_reposts_become_amplifications(fixtures_dir: Path, sqlite_url: str) -> None:
    feed = recorded(fixtures_dir, "f_autfeed")
    dids = {item["post"]["author"]["did"] for item in feed["feed"]}
    first_page = [("actor", "chriskenny.bsky.social"), ("limit", "100")]
    with serve({}) as server:
        server.routes.update(
            {
                xrpc(FEED, first_page): json_route(feed),
                xrpc(FEED, [*first_page, ("cursor", feed["cursor"])]): json_route({"feed": []}),
                # The recorded answer: only chriskenny's profile (554 followers).
                profiles_url(dids): json_route(recorded(fixtures_dir, "a_profile")),
            }
        )
        sky = source(
            server,
            authors=["chriskenny.bsky.social"],
            first_run_days=first_run_days(datetime(2024, 1, 1, tzinfo=UTC)),
        )
        result = run_crawl(sky, [WatchConfig(name="all", query="*")], FAST, sqlite_url)
        assert_lexicon_parameters(fixtures_dir, server)
    assert result.ok, result.errors
    assert (result.fetched, result.new, result.amplifications) == (50, 50, 7)
    with database(sqlite_url) as factory, factory() as session:
        amplified = session.execute(select(Post).where(Post.amplifications > 0)).scalars().all()
        assert len(amplified) == 7
        assert {(p.amplifications, p.amplifier_followers) for p in amplified} == {(1, 554)}
        rows = session.execute(select(Amplification)).scalars().all()
        assert {(row.amplifier, row.amplifier_followers) for row in rows} == {
            ("chriskenny.bsky.social", 554)
        }
        own = session.execute(
            select(Post.author_followers).where(Post.author == "chriskenny.bsky.social")
        ).scalars()
        assert set(own) == {554}
    assert stored_cursors(sqlite_url, "sky") == {
        "*": {"author:chriskenny.bsky.social": "2025-05-05T01:30:17.912Z"}
    }


def test_broken_answers_and_a_failed_profile_lookup(fixtures_dir: Path, sqlite_url: str) -> None:
    [good] = copy.deepcopy(recorded(fixtures_dir, "f_getposts")["posts"])
    good["indexedAt"] = good["record"]["createdAt"] = iso_time(
        datetime.now(UTC) - timedelta(hours=1)
    )
    since = (datetime.now(UTC) - timedelta(days=7)).date().isoformat()
    with serve({}) as server:
        server.routes.update(
            {
                search_url("broken", since): Route(headers=JSON, body=b'{"posts": [{"uri": '),
                search_url("page", since): Route(
                    headers={"Content-Type": "text/html"}, body=b"<!doctype html><h1>Bad Gateway"
                ),
                search_url("forbidden", since): Route(
                    status=403, headers=JSON, body=b'{"error":"Forbidden"}'
                ),
                search_url("mixed", since): json_route({"posts": [NOT_FOUND, {"uri": "x"}, good]}),
                profiles_url({good["author"]["did"]}): Route(status=500, body=b"upstream failed"),
            }
        )
        watches = [
            WatchConfig(name="w", query="broken OR page OR forbidden OR mixed"),
            WatchConfig(name="all", query="*"),
        ]
        result = run_crawl(source(server), watches, FAST, sqlite_url)
    errors = "\n".join(result.errors)
    assert (result.fetched, result.new, result.deleted) == (1, 1, 1), errors
    assert len(result.errors) == 5, errors
    assert "searchPosts?q=broken" in errors and "got malformed JSON" in errors
    assert "got an HTML page" in errors
    assert "HTTP 403 from" in errors and "set the source's appview" in errors
    assert "bluesky: post x from" in errors and "no author DID" in errors
    assert "HTTP 500 from" in errors and "follower counts left empty" in errors
    [post] = stored_posts(sqlite_url, "sky")
    assert post.author_followers is None and post.watch == "all"
    # Every stream had a fetch error (mixed: the lookup), so no cursor moved.
    assert stored_cursors(sqlite_url, "sky") == {}
