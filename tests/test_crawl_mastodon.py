"""Mastodon: the parser on the recorded statuses, and real crawls (subprocess + Scrapy +
database) of tag timelines and status search replayed from the recordings."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from crawlers.config import MastodonSource, WatchConfig
from crawlers.mastodon import link_params, parse_statuses
from crawlers.runner import run_crawl
from storage.db import database
from storage.models import Amplification, CrawlState
from tests.recordings import Recorded, load_recording, recorded_gets
from tests.replay_server import ReplayServer, Route, serve
from tests.test_crawl_feeds import FAST, stored_cursors, stored_posts

RECORDED_HOST = "http://localhost:3000"
JSON = {"Content-Type": "application/json; charset=utf-8"}
TAG_PATH = "/api/v1/timelines/tag/hoot"
SEARCH_PATH = "/api/v2/search"
# Old enough for every 2026 recording, too young for the 2023 one.
DAYS_SINCE_2025 = (datetime.now(UTC) - datetime(2025, 1, 1, tzinfo=UTC)).days


def recording(fixtures_dir: Path, name: str, contains: str) -> Recorded:
    [found] = recorded_gets(fixtures_dir / "mastodon" / name, contains)[:1]
    return found


def statuses(fixtures_dir: Path, name: str, contains: str) -> Any:
    data = recording(fixtures_dir, name, contains).json()
    return data["statuses"] if isinstance(data, dict) and "statuses" in data else data


def reblog_wrapper(fixtures_dir: Path) -> dict[str, Any]:
    """The recorded boost (a wrapper with the original under ``reblog``)."""
    path = fixtures_dir / "mastodon" / "test_status_reblog_unreblog.yaml"
    [boost] = [r for r in load_recording(path) if r.url.endswith("/reblog")]
    wrapper: dict[str, Any] = boost.json()
    return wrapper


def source_state(database_url: str) -> CrawlState | None:
    """The source's own crawl_state row (watch "*"), not the per-watch cursor rows."""
    with database(database_url) as factory, factory() as session:
        query = select(CrawlState).where(CrawlState.source == "masto", CrawlState.watch == "*")
        return session.execute(query).scalar_one_or_none()


def page_url(path: str, **params: str) -> str:
    return f"{path}?{urlencode(params)}" if params else path


# --- the parser on the recordings (fast) ------------------------------------------------


def test_search_statuses_fields(fixtures_dir: Path) -> None:
    entries = statuses(fixtures_dir, "test_entity_searchv2.yaml", "/api/v2/search")
    page = parse_statuses(entries, "mastodon.social", "masto")
    assert page.errors == [] and page.deleted == []
    assert page.ids == ["116388149027005349", "116388107849695302"]
    greg, jo = page.posts
    # external_id is the status uri (the origin's id), not the instance-local id.
    assert greg.external_id == "https://icosahedron.website/users/greg/statuses/116388148912635764"
    assert greg.url == "https://icosahedron.website/@greg/116388148912635764"
    assert greg.author == "greg@icosahedron.website" and greg.author_followers == 455
    assert greg.platform == "mastodon" and greg.source == "masto"
    assert greg.published_at == datetime(2026, 4, 11, 21, 16, 53, tzinfo=UTC)
    assert greg.language == "en" and greg.replies == 1
    # Mentions stay "@name"; the invisible spans of a link make the whole URL again.
    assert greg.text.startswith("@cancel @halcy not only is this the classic hip-hop")
    assert greg.text.endswith("https://www.youtube.com/watch?v=MWCSw_cNxKc")
    assert (jo.likes, jo.reposts, jo.replies) == (4, 1, 0)


def test_spoiler_is_title_and_local_accounts_get_the_instance_domain(fixtures_dir: Path) -> None:
    path = fixtures_dir / "mastodon" / "test_entity_status.yaml"
    remote, local = [
        parse_statuses([r.json()], "mastodon.social", "m") for r in recorded_gets(path)
    ]
    post = remote.posts[0]
    assert post.title == "test post for mastodon.py stuff"
    assert post.text.endswith("fields filled :trans_heart: #ThisIsAHashtag")
    assert post.language == "de" and post.likes == 1
    assert local.posts[0].author == "halcy@mastodon.social"


def test_boost_stores_the_original_once_and_records_the_booster(fixtures_dir: Path) -> None:
    wrapper = reblog_wrapper(fixtures_dir)
    wrapper["account"] = wrapper["account"] | {"acct": "fan@other.example", "followers_count": 120}
    original = wrapper["reblog"]
    page = parse_statuses([wrapper, original], "localhost:3000", "m")
    [post] = page.posts
    assert post.external_id == original["uri"] and post.text == "Toot!" and post.reposts == 1
    [boost] = page.amplifications
    assert boost.original_external_id == original["uri"]
    assert boost.external_id == wrapper["uri"]
    assert (boost.amplifier, boost.amplifier_followers) == ("fan@other.example", 120)
    assert boost.amplified_at == datetime(2026, 8, 1, 13, 53, 58, 160000, tzinfo=UTC)
    assert page.ids == [wrapper["id"], original["id"]]


def test_missing_deleted_and_malformed_entries(fixtures_dir: Path) -> None:
    not_found = recording(fixtures_dir, "test_status_missing.yaml", "/statuses/0")
    assert not_found.status == 404
    good = statuses(fixtures_dir, "test_hashtag_tl.yaml", TAG_PATH)[0]
    orphan_boost = reblog_wrapper(fixtures_dir) | {"reblog": None}
    no_content = {key: value for key, value in good.items() if key != "content"} | {"id": "7"}
    entries = [not_found.json(), orphan_boost, 42, no_content, good]
    page = parse_statuses(entries, "h", "m", where="http://h/api")
    assert [post.text for post in page.posts] == ["#hoot (hashtag toot)"]
    assert len(page.deleted) == 2
    assert page.errors == [
        "mastodon: entry #2 from http://h/api is not a status object",
        "mastodon: status 7 from http://h/api: no content",
    ]
    assert parse_statuses({"error": "nope"}, "h", "m").errors  # not a list at all


def test_first_run_window_drops_older_statuses(fixtures_dir: Path) -> None:
    old = recording(fixtures_dir, "test_entity_status.yaml", "/statuses/").json()
    new = statuses(fixtures_dir, "test_hashtag_tl.yaml", TAG_PATH)[0]
    page = parse_statuses([new, old], "h", "m", not_before=datetime(2025, 1, 1, tzinfo=UTC))
    assert len(page.posts) == 1 and page.reached_older
    assert page.ids == [new["id"], old["id"]]


def test_link_header(fixtures_dir: Path) -> None:
    header = recording(fixtures_dir, "test_hashtag_tl.yaml", TAG_PATH).headers["link"]
    assert link_params(header) == {
        "next": {"max_id": "117020593741189701"},
        "prev": {"min_id": "117020593741189701"},
    }
    assert link_params(None) == {}


# --- real crawls ------------------------------------------------------------------------


def json_route(data: Any, server: ReplayServer) -> Route:
    """``data`` as a JSON answer, the recorded host replaced by the local server."""
    body = json.dumps(data).replace(RECORDED_HOST, server.base_url)
    return Route(headers=JSON, body=body.encode())


def source(server: ReplayServer, **extra: Any) -> MastodonSource:
    return MastodonSource.model_validate(
        {
            "type": "mastodon",
            "name": "masto",
            "instances": [server.base_url],
            "hashtags": ["#hoot"],
            "first_run_days": DAYS_SINCE_2025,
        }
        | extra
    )


WATCHES = [WatchConfig(name="halcy", query="halcy"), WatchConfig(name="all", query="*")]


def test_paging_boosts_and_a_second_run_that_sends_min_id(
    fixtures_dir: Path, database_url: str
) -> None:
    hoot = recording(fixtures_dir, "test_hashtag_tl.yaml", TAG_PATH)
    public = statuses(fixtures_dir, "test_public_tl_anonymous.yaml", "/timelines/public")
    wrapper = reblog_wrapper(fixtures_dir)
    wrapper["account"] = wrapper["account"] | {"acct": "fan@other.example", "followers_count": 120}
    missing = recording(fixtures_dir, "test_status_missing.yaml", "/statuses/0").json()
    old = recording(fixtures_dir, "test_entity_status.yaml", "/statuses/").json()
    search = recording(fixtures_dir, "test_entity_searchv2.yaml", "/api/v2/search").json()
    no_results = recording(fixtures_dir, "test_search.yaml", "type=statuses").json()
    search_params = {"q": "halcy", "type": "statuses", "limit": "40"}
    hoot_id, newest_found = "117020593741189701", "116388149027005349"

    with serve({}) as server:
        server.routes.update(
            {
                # Page 1 is the recorded tag timeline, whose Link header (still naming the
                # recorded host) leads to page 2: the public timeline, a boost, a missing
                # status and, last, one older than the first-run window: paging stops there.
                page_url(TAG_PATH, limit="40"): hoot.route(**{RECORDED_HOST: server.base_url}),
                page_url(TAG_PATH, limit="40", max_id=hoot_id): json_route(
                    [*public, wrapper, missing, old], server
                ),
                page_url(SEARCH_PATH, **search_params): json_route(search, server),
                page_url(SEARCH_PATH, **search_params, max_id="116388107849695302"): json_route(
                    no_results, server
                ),
            }
        )
        first = run_crawl(source(server), WATCHES, FAST, database_url)
        assert first.ok, first.errors
        # 1 + 8 + the boosted original, and 2 from search.
        assert (first.fetched, first.new, first.deleted, first.amplifications) == (12, 12, 1, 1)
        posts = {post.external_id: post for post in stored_posts(database_url, "masto")}
        assert len(posts) == 12
        assert {post.watch for post in posts.values() if "halcy" in post.text} == {"halcy"}
        toot = posts[wrapper["reblog"]["uri"].replace(RECORDED_HOST, server.base_url)]
        assert toot.text == "Toot!" and (toot.amplifications, toot.amplifier_followers) == (1, 120)
        with database(database_url) as factory, factory() as session:
            [boost] = session.execute(select(Amplification)).scalars()
            assert (boost.post_id, boost.amplifier, boost.external_id) == (
                toot.id,
                "fan@other.example",
                wrapper["uri"].replace(RECORDED_HOST, server.base_url),
            )
        greg = posts["https://icosahedron.website/users/greg/statuses/116388148912635764"]
        assert greg.author == "greg@icosahedron.website" and greg.author_followers == 455
        host = server.base_url.removeprefix("http://")
        assert posts[hoot.json()[0]["uri"].replace(RECORDED_HOST, server.base_url)].author == (
            f"mastodonpy_test_2@{host}"
        )
        assert old["uri"] not in posts
        assert stored_cursors(database_url, "masto") == {
            "*": {f"tag:hoot@{host}": hoot_id},
            "halcy": {f"search:halcy@{host}": newest_found},
        }
        requested = [path for path, _ in server.requests]
        assert not any("max_id=117020574694606796" in path for path in requested)

        # Second run: each stream asks only for what is newer than its cursor. The tag
        # timeline answers with the status at the cursor again (nothing newer), search
        # with nothing.
        server.requests.clear()
        server.routes[page_url(TAG_PATH, limit="40", min_id=hoot_id)] = server.routes[
            page_url(TAG_PATH, limit="40")
        ]
        server.routes[page_url(SEARCH_PATH, **search_params, min_id=newest_found)] = json_route(
            no_results, server
        )
        second = run_crawl(source(server), WATCHES, FAST, database_url)
        assert second.ok, second.errors
        assert (second.new, second.known, second.amplifications) == (0, 1, 0)
        assert sorted(path for path, _ in server.requests if path != "/robots.txt") == sorted(
            [
                page_url(TAG_PATH, limit="40", min_id=hoot_id),
                page_url(SEARCH_PATH, **search_params, min_id=newest_found),
            ]
        )
        assert len(stored_posts(database_url, "masto")) == 12
        assert toot.id in {post.id for post in stored_posts(database_url, "masto")}


def test_broken_answers_are_recorded_and_the_rest_is_kept(
    fixtures_dir: Path, sqlite_url: str
) -> None:
    hoot = statuses(fixtures_dir, "test_hashtag_tl.yaml", TAG_PATH)
    newer_id = str(int(hoot[0]["id"]) + 1)
    no_account = {key: value for key, value in hoot[0].items() if key != "account"}
    no_account |= {"id": newer_id, "uri": f"{RECORDED_HOST}/statuses/{newer_id}"}
    with serve({}) as server:
        server.routes.update(
            {
                page_url("/api/v1/timelines/tag/broken", limit="40"): Route(
                    headers=JSON, body=b'[{"id": "1", "content": '
                ),
                page_url("/api/v1/timelines/tag/html", limit="40"): Route(
                    headers={"Content-Type": "text/html"},
                    body=b"<html><body><h1>We're sorry, but something went wrong</h1></body>",
                ),
                page_url("/api/v1/timelines/tag/mixed", limit="40"): json_route(
                    [no_account, "junk", *hoot], server
                ),
                page_url(
                    "/api/v1/timelines/tag/mixed", limit="40", max_id=hoot[0]["id"]
                ): json_route([], server),
                page_url(SEARCH_PATH, q="refund", type="statuses", limit="40"): Route(
                    status=401,
                    headers=JSON,
                    body=b'{"error":"Search queries that resolve remote resources are not '
                    b'supported without authentication"}',
                ),
            }
        )
        masto = source(server, hashtags=["broken", "html", "mixed"])
        watches = [WatchConfig(name="refunds", query="refund"), WatchConfig(name="all", query="*")]
        result = run_crawl(masto, watches, FAST, sqlite_url)
    assert (result.fetched, result.new) == (1, 1)
    errors = "\n".join(result.errors)
    assert len(result.errors) == 5, errors
    assert "masto: expected JSON from" in errors and "/tag/broken" in errors
    assert "malformed JSON" in errors
    assert "/tag/html?limit=40 (HTTP 200), got an HTML page" in errors
    assert f"mastodon: status {newer_id} from" in errors and "no account" in errors
    assert "entry #1 from" in errors
    assert "HTTP 401 from" in errors and "access_token_env" in errors
    state = source_state(sqlite_url)
    assert state is not None and state.health == "partial"
    host = server.base_url.removeprefix("http://")
    # Only the stream that was read completely moved its cursor.
    assert stored_cursors(sqlite_url, "masto") == {"*": {f"tag:mixed@{host}": newer_id}}


def test_token_goes_only_to_the_first_instance_and_a_status_is_stored_once(
    fixtures_dir: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPROAR_TEST_MASTODON_TOKEN", "s3cret")
    hoot = recording(fixtures_dir, "test_hashtag_tl.yaml", TAG_PATH)
    with serve({}) as server:
        server.routes.update(
            {
                page_url(TAG_PATH, limit="40"): json_route(hoot.json(), server),
                page_url(SEARCH_PATH, q='"late delivery"', type="statuses", limit="40"): Route(
                    status=401, headers=JSON, body=b'{"error":"The access token is invalid"}'
                ),
            }
        )
        port = server.base_url.rsplit(":", 1)[1]
        other = f"http://localhost:{port}"  # the same server under another host name
        masto = source(
            server,
            instances=[server.base_url, other],
            access_token_env="UPROAR_TEST_MASTODON_TOKEN",
        )
        watches = [WatchConfig(name="late", query='"late delivery"')]
        result = run_crawl(masto, [*watches, WatchConfig(name="all", query="*")], FAST, sqlite_url)
    # The same status through two instances: one post (its uri is the id).
    assert result.fetched == 2 and len(stored_posts(sqlite_url, "masto")) == 1
    api = [(path, headers) for path, headers in server.requests if path != "/robots.txt"]
    # Per instance: the tag page (short, no Link header: the last page) and the search.
    assert len(api) == 4
    for path, headers in api:
        first_instance = headers["Host"] == f"127.0.0.1:{port}"
        assert headers.get("Authorization") == ("Bearer s3cret" if first_instance else None), path
    assert any("q=%22late+delivery%22" in path for path, _ in api)
    errors = "\n".join(result.errors)
    assert len(result.errors) == 2, errors
    assert "refused the access token in $UPROAR_TEST_MASTODON_TOKEN" in errors
    assert "only sent to the first instance" in errors


def test_next_paging_follows_link_headers_and_stops_on_a_short_page_without_them() -> None:
    from scrapy.http import TextResponse

    from crawlers.spiders.mastodon import NEWER, OLDER, next_paging

    url = "https://mastodon.example/api/v1/timelines/tag/acme"
    linked = TextResponse(
        url,
        headers={"Link": f'<{url}?max_id=90>; rel="next", <{url}?min_id=120>; rel="prev"'},
        body=b"[]",
    )
    bare = TextResponse(url, body=b"[]")
    ids = ["120", "100", "90"]
    assert next_paging(linked, ids, OLDER, {}, None) == {"max_id": "90"}
    assert next_paging(linked, ids, NEWER, {"min_id": "80"}, "80") == {"min_id": "120"}
    # No Link header: a full page may have more behind it, a short page is the last.
    assert next_paging(bare, ids, OLDER, {}, None, full_page=True) == {"max_id": "90"}
    assert next_paging(bare, ids, OLDER, {}, None, full_page=False) is None
    # A server that ignores max_id returns the same page: stop instead of looping.
    assert next_paging(bare, ids, OLDER, {"max_id": "90"}, None) is None
