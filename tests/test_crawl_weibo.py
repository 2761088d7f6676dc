"""Weibo-style crawls: the pure parsers on hand-written pages (see tests/fixtures/README.md),
table-driven relative dates and counts, and real crawls (subprocess + Scrapy + database)
against the local replay server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from crawlers.config import WatchConfig, WeiboSource
from crawlers.runner import run_crawl
from crawlers.weibo import (
    WeiboContext,
    container_url,
    is_deleted,
    long_text_html,
    mblog_text,
    parse_page,
    parse_region,
    search_container,
)
from crawlers.weibo_values import parse_count, parse_created_at
from storage.db import database
from storage.models import Amplification, Post
from tests.replay_server import ReplayServer, Route, serve
from tests.test_crawl_feeds import FAST, stored_cursors, stored_posts

FIXTURES = Path(__file__).parent / "fixtures" / "weibo"
SHANGHAI = ZoneInfo("Asia/Shanghai")
WATCH = WatchConfig(name="brand", query="拉克斯珀 OR larkspur", search_terms=["拉克斯珀"])
# containerid=100103type=1&q=拉克斯珀, encoded whole, as m.weibo.cn's own page sends it.
SEARCH_ID = "100103type%3D1%26q%3D%E6%8B%89%E5%85%8B%E6%96%AF%E7%8F%80"
CONTAINER = "1076037000000001"
NOW = datetime(2024, 1, 1, 0, 30, tzinfo=SHANGHAI)  # just after midnight on New Year's Day


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_bytes())


def search_path(page: int, containerid: str = SEARCH_ID) -> str:
    return f"/api/container/getIndex?containerid={containerid}&page_type=searchall&page={page}"


def container_path(page: int) -> str:
    return f"/api/container/getIndex?containerid={CONTAINER}&page={page}"


def extend_path(status: str) -> str:
    return f"/statuses/extend?id={status}"


def json_route(name: str) -> Route:
    return Route(
        headers={"Content-Type": "application/json; charset=utf-8"},
        body=(FIXTURES / name).read_bytes(),
    )


def context(now: datetime = NOW) -> WeiboContext:
    return WeiboContext(source="wb", base_url="https://m.weibo.cn", now=now)


# --- values as the app displays them -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("刚刚", datetime(2023, 12, 31, 16, 30, tzinfo=UTC)),
        ("30秒前", datetime(2023, 12, 31, 16, 29, 30, tzinfo=UTC)),
        ("5分钟前", datetime(2023, 12, 31, 16, 25, tzinfo=UTC)),
        ("2小时前", datetime(2023, 12, 31, 14, 30, tzinfo=UTC)),
        ("3天前", datetime(2023, 12, 28, 16, 30, tzinfo=UTC)),
        # "today" is Shanghai's 1 January although it is still 31 December in UTC
        ("今天 00:10", datetime(2023, 12, 31, 16, 10, tzinfo=UTC)),
        ("今天 10:02", datetime(2024, 1, 1, 2, 2, tzinfo=UTC)),
        ("昨天 23:10", datetime(2023, 12, 31, 15, 10, tzinfo=UTC)),
        ("前天 08:00", datetime(2023, 12, 30, 0, 0, tzinfo=UTC)),
        # month-day: this year unless that is still ahead, then last year
        ("01-01", datetime(2023, 12, 31, 16, 0, tzinfo=UTC)),
        ("12-31", datetime(2023, 12, 30, 16, 0, tzinfo=UTC)),
        ("06-14", datetime(2023, 6, 13, 16, 0, tzinfo=UTC)),
        ("06-14 09:30", datetime(2023, 6, 14, 1, 30, tzinfo=UTC)),
        ("2019-06-14", datetime(2019, 6, 13, 16, 0, tzinfo=UTC)),
        ("2019-06-14 08:30", datetime(2019, 6, 14, 0, 30, tzinfo=UTC)),
        ("Sat Jun 15 11:44:46 +0800 2019", datetime(2019, 6, 15, 3, 44, 46, tzinfo=UTC)),
        ("Sat Jun 15 11:44:46 -0530 2019", datetime(2019, 6, 15, 17, 14, 46, tzinfo=UTC)),
        (" 5分钟前 ", datetime(2023, 12, 31, 16, 25, tzinfo=UTC)),
    ],
)
def test_created_at_forms(text: str, expected: datetime) -> None:
    parsed = parse_created_at(text, NOW, "Asia/Shanghai")
    assert parsed == expected
    assert parsed is not None and parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "text", ["", "昨天", "13-45", "02-30", "2019-02-30", "Sat Foo 15 11:44:46 +0800 2019", "soon"]
)
def test_unreadable_created_at_is_none(text: str) -> None:
    assert parse_created_at(text, NOW) is None
    assert parse_created_at(None, NOW) is None
    assert parse_created_at(1560570286, NOW) is None


def test_relative_dates_follow_the_configured_timezone() -> None:
    now = datetime(2024, 3, 10, 17, 0, tzinfo=UTC)  # 11 March 01:00 in Shanghai
    assert parse_created_at("今天 00:30", now, SHANGHAI) == datetime(
        2024, 3, 10, 16, 30, tzinfo=UTC
    )
    assert parse_created_at("今天 00:30", now, "UTC") == datetime(2024, 3, 10, 0, 30, tzinfo=UTC)
    assert parse_created_at("昨天 23:59", now, "UTC") == datetime(2024, 3, 9, 23, 59, tzinfo=UTC)
    # 29 February: in a leap year it is this year's; otherwise there is no such day.
    leap = datetime(2024, 3, 1, 12, 0, tzinfo=SHANGHAI)
    assert parse_created_at("02-29", leap) == datetime(2024, 2, 28, 16, 0, tzinfo=UTC)
    assert parse_created_at("02-29", leap.replace(year=2023)) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12345, 12345),
        ("12345", 12345),
        ("12,345", 12345),
        ("1.2万", 12000),
        ("100万+", 1_000_000),
        ("52.3万", 523_000),
        ("3亿", 300_000_000),
        ("1.05亿", 105_000_000),
        ("10w+", 100_000),
        (0, 0),
        (-1, None),
        ("很多", None),
        (None, None),
        (True, None),
        ("", None),
    ],
)
def test_parse_count(value: object, expected: int | None) -> None:
    assert parse_count(value) == expected


def test_region_and_urls() -> None:
    assert parse_region("发布于 上海") == "上海"
    assert parse_region("IP属地：广东") == "广东"
    assert parse_region("") is None and parse_region(None) is None
    assert (
        container_url("https://m.weibo.cn/", search_container("拉克斯珀"), 2, search=True)
        == f"https://m.weibo.cn{search_path(2)}"
    )
    assert (
        container_url("http://h", "1076031", 1)
        == "http://h/api/container/getIndex?containerid=1076031&page=1"
    )
    assert search_container("larkspur app") == "100103type=1&q=larkspur app"
    assert "q%3Dlarkspur%20app&" in container_url("http://h", search_container("larkspur app"), 1)


def test_mblog_text_keeps_emoji_names_and_real_links_only() -> None:
    html = (
        "<a href='/n/小王'>@小王</a> 太慢了"
        '<span class="url-icon"><img alt=[怒] src="x.png" /></span>'
        '<br />第二行 <a href="https://m.weibo.cn/search?containerid=231522type%3D1">'
        '<span class="surl-text">#话题#</span></a> '
        '<a href="https://weibo.cn/sinaurl?u=https%3A%2F%2Fshop.example.cn%2Fo%2F1">'
        "<span class='url-icon'><img src='icon.png'></span>网页链接</a> "
        '<a href="https://other.example/x">看这里</a>...<a href="/status/1">全文</a>'
    )
    assert mblog_text(html) == (
        "@小王 太慢了 [怒] 第二行 #话题# 网页链接 (https://shop.example.cn/o/1) "
        "看这里 (https://other.example/x)..."
    )
    assert mblog_text("纯文本 没有标签") == "纯文本 没有标签"
    assert mblog_text("") == "" and mblog_text(None) == ""


def test_deleted_posts_are_recognised() -> None:
    assert is_deleted({"id": "1", "deleted": "1", "text": ""})
    assert is_deleted(
        {"id": "1", "text": "抱歉，此微博已被作者删除。查看帮助：<a href='x'>网页链接</a>"}
    )
    assert is_deleted({"id": "1", "text": "该微博因被多人投诉，根据《微博社区公约》，已被删除。"})
    assert not is_deleted({"id": "1", "text": "我的投诉帖子已被删除了，拉克斯珀你们太过分"})


def test_long_text_answer() -> None:
    full = long_text_html(fixture("extend_4980000000000456.json"))
    assert full is not None and full.startswith("拉克斯珀冰箱")
    assert long_text_html({"ok": 0, "msg": "请求过于频繁"}) is None
    assert long_text_html({"ok": 1, "data": {"longTextContent": ""}}) is None
    assert long_text_html([]) is None


# --- parsing whole pages -----------------------------------------------------------------


def test_search_page_fields_retweets_and_deletions() -> None:
    page = parse_page(fixture("search_page1.json"), context(), where="U")
    assert page.errors == [] and not page.ended and page.next_page == 2
    assert page.status_ids == [
        "4990000000000910",
        "4990000000000905",
        "4990000000000900",
        "4990000000000890",
        "4990000000000885",
        "4990000000000880",
    ]
    posts = {post.external_id: post for post in page.posts}
    assert list(posts) == [
        "4990000000000910",
        "4990000000000905",
        "4980000000000123",
        "4990000000000880",
    ]
    first = posts["4990000000000910"]
    assert first.text.startswith("@拉克斯珀官方旗舰店 买的拉克斯珀台灯一个星期了还没发货 [怒]")
    assert "13812345678" not in first.text  # masked when the post was made
    assert "#拉克斯珀发货慢#" in first.text and "(https://shop.example.cn/order/8812)" in first.text
    assert "m.weibo.cn/search" not in first.text
    assert (first.author, first.author_followers, first.region) == ("快递等不到", 12000, "上海")
    assert (first.likes, first.reposts, first.replies) == (88, 12, 30)
    assert first.url == "https://m.weibo.cn/detail/4990000000000910"
    assert first.language == "zh" and first.platform == "weibo" and first.title is None
    assert first.published_at == NOW.astimezone(UTC)
    assert posts["4990000000000905"].author_followers == 1_000_000
    assert posts["4990000000000905"].replies == 11_000
    assert page.long_text == {"4990000000000905"}
    original = posts["4980000000000123"]
    assert original.author == "生活家小美" and original.author_followers == 300_000_000
    assert original.published_at == datetime(2019, 6, 15, 3, 44, 46, tzinfo=UTC)
    assert original.text.endswith("这就是你们的诚信？ [微笑]")
    assert [
        (a.external_id, a.original_external_id, a.amplifier, a.amplifier_followers)
        for a in page.amplifications
    ] == [
        ("4990000000000900", "4980000000000123", "路人甲", 345),
        ("4990000000000885", "4980000000000123", "滤网受害者", 12345),
    ]
    assert page.amplifications[0].amplified_at == datetime(2023, 12, 31, 14, 30, tzinfo=UTC)
    assert page.deleted == ["4970000000000001"]
    assert page.fresh == 6


def test_cursor_and_first_run_window_decide_what_is_fresh() -> None:
    payload = fixture("search_page1.json")
    known = parse_page(payload, context(), where="U", cursor="4990000000000900")
    assert known.fresh == 2  # 910 and 905 are above the cursor
    assert known.long_text == {"4990000000000905"}
    assert len(known.posts) == 4  # known posts still come (their counters may have grown)
    assert parse_page(payload, context(), where="U", cursor="4990000000000910").fresh == 0
    # 10000000000000000 > 4990000000000910 as numbers, not as text
    assert parse_page(payload, context(), where="U", cursor="10000000000000000").fresh == 0

    old = parse_page(
        fixture("search_page2.json"), context(), where="U", since=NOW - timedelta(days=7)
    )
    assert (old.fresh, old.posts, old.amplifications, old.long_text) == (0, [], [], set())
    assert old.status_ids == ["4990000000000700", "4990000000000650", "4990000000000600"]


def test_broken_entries_are_named_and_the_rest_kept() -> None:
    page = parse_page(fixture("container_page1.json"), context(), where="http://h/c")
    assert [post.external_id for post in page.posts] == ["4990000000001200", "4990000000001180"]
    assert page.errors == [
        "weibo mblog #2 has no numeric id (None) in http://h/c",
        "weibo mblog 4990000000001190 has no text in http://h/c",
        "weibo mblog #4 is not an object in http://h/c",
    ]
    assert page.next_page is None and not page.ended


@pytest.mark.parametrize(
    "payload",
    [
        {"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}},
        {"ok": 1, "data": {"cards": []}},
        {"ok": 1, "data": {}},
        {"ok": -100, "url": "https://passport.weibo.cn/signin/welcome"},
    ],
)
def test_no_cards_ends_paging_without_errors(payload: object) -> None:
    page = parse_page(payload, context(), where="U")
    assert page.ended and page.errors == [] and page.posts == []


# --- real crawls ----------------------------------------------------------------------------


@pytest.fixture
def weibo_server() -> Iterator[ReplayServer]:
    routes = {
        search_path(1): json_route("search_page1.json"),
        search_path(2): json_route("search_page2.json"),
        search_path(3): json_route("no_more.json"),
        extend_path("4990000000000905"): json_route("extend_4990000000000905.json"),
        extend_path("4980000000000456"): json_route("extend_4980000000000456.json"),
    }
    with serve(routes) as server:
        yield server


def weibo_source(server: ReplayServer, **extra: object) -> WeiboSource:
    settings = {"type": "weibo", "name": "weibo", "base_url": server.base_url}
    return WeiboSource.model_validate(settings | {"first_run_days": 36500} | extra)


def requested(server: ReplayServer) -> list[str]:
    paths = [path for path, _ in server.requests if path != "/robots.txt"]
    server.requests.clear()
    return paths


def by_id(database_url: str, source: str) -> dict[str, Post]:
    return {post.external_id: post for post in stored_posts(database_url, source)}


def amplifiers(database_url: str, post_id: int) -> set[tuple[str, str, int | None]]:
    with database(database_url) as factory, factory() as session:
        rows = session.execute(select(Amplification).where(Amplification.post_id == post_id))
        return {(a.external_id, a.amplifier, a.amplifier_followers) for a in rows.scalars()}


def test_crawl_then_nothing_new_then_only_the_new_post(
    weibo_server: ReplayServer, database_url: str
) -> None:
    source = weibo_source(weibo_server)
    before = datetime.now(UTC)
    first = run_crawl(source, [WATCH], FAST, database_url)
    after = datetime.now(UTC)
    assert first.ok, first.errors
    assert (first.fetched, first.new, first.known, first.skipped) == (7, 7, 0, 0)
    assert (first.deleted, first.amplifications) == (1, 3)
    assert sorted(requested(weibo_server)) == sorted(
        [
            search_path(1),
            search_path(2),
            search_path(3),
            extend_path("4990000000000905"),
            extend_path("4980000000000456"),
        ]
    )
    posts = by_id(database_url, "weibo")
    assert set(posts) == {
        "4990000000000910",
        "4990000000000905",
        "4980000000000123",
        "4990000000000880",
        "4990000000000700",
        "4990000000000650",
        "4980000000000456",
    }
    assert {post.watch for post in posts.values()} == {"brand"}

    fresh = posts["4990000000000910"]
    assert fresh.url == f"{weibo_server.base_url}/detail/4990000000000910"
    assert fresh.text.startswith("@拉克斯珀官方旗舰店 买的拉克斯珀台灯") and "[怒]" in fresh.text
    assert "13812345678" not in fresh.text
    assert (fresh.author_followers, fresh.likes, fresh.reposts, fresh.replies) == (
        12000,
        88,
        12,
        30,
    )
    assert (fresh.region, fresh.language) == ("上海", "zh")
    assert fresh.published_at is not None
    assert before - timedelta(seconds=1) <= fresh.published_at <= after  # "刚刚"

    long_post = posts["4990000000000905"]  # the full text replaced the truncated one
    assert "请以检测结果为准" in long_post.text and long_post.text.endswith("#拉克斯珀售后#")
    assert "全文" not in long_post.text and "laowang@example.com" not in long_post.text
    assert long_post.author_followers == 1_000_000

    original = posts["4980000000000123"]  # two retweets: stored once, two amplifications
    assert original.author_followers == 300_000_000
    assert original.published_at == datetime(2019, 6, 15, 3, 44, 46, tzinfo=UTC)
    assert (original.amplifications, original.amplifier_followers) == (2, 345 + 12345)
    assert amplifiers(database_url, original.id) == {
        ("4990000000000900", "路人甲", 345),
        ("4990000000000885", "滤网受害者", 12345),
    }
    long_original = posts["4980000000000456"]  # a long original of a retweet on page 2
    assert long_original.text.endswith("希望拉克斯珀给个说法。")
    assert (long_original.amplifications, long_original.amplifier_followers) == (1, 88000)

    assert posts["4990000000000650"].published_at == datetime(2019, 6, 14, 1, 30, tzinfo=UTC)
    assert posts["4990000000000650"].region == "广东"
    assert posts["4990000000000700"].published_at == datetime(2019, 6, 13, 16, 0, tzinfo=UTC)
    assert "4970000000000001" not in posts and "4990000000000890" not in posts
    assert stored_cursors(database_url, "weibo") == {
        "brand": {"search:拉克斯珀": "4990000000000910"}
    }

    # Same pages again: page 1 has nothing above the cursor, so paging stops there.
    second = run_crawl(source, [WATCH], FAST, database_url)
    assert second.ok, second.errors
    assert (second.new, second.known, second.amplifications) == (0, 4, 0)
    assert requested(weibo_server) == [search_path(1)]
    again = by_id(database_url, "weibo")
    assert len(again) == 7
    assert again["4990000000000905"].text == long_post.text  # not the truncated text
    assert again["4980000000000123"].amplifications == 2

    # Later: one new post on top, one known post whose counters grew.
    weibo_server.routes[search_path(1)] = json_route("search_page1_later.json")
    third = run_crawl(source, [WATCH], FAST, database_url)
    assert third.ok, third.errors
    assert (third.new, third.known) == (1, 1 + 3)  # page 2 is read once more, then stop
    assert requested(weibo_server) == [search_path(1), search_path(2)]
    latest = by_id(database_url, "weibo")
    assert (
        latest["4990000000000950"].text == "拉克斯珀的快递终于到了，可是箱子压扁了，台灯灯罩也裂了"
    )
    grown = latest["4990000000000910"]
    assert (grown.likes, grown.reposts, grown.replies, grown.author_followers) == (
        300,
        40,
        95,
        13000,
    )
    assert grown.text == fresh.text  # known posts keep their text
    assert stored_cursors(database_url, "weibo") == {
        "brand": {"search:拉克斯珀": "4990000000000950"}
    }


def test_first_run_stops_at_posts_older_than_first_run_days(
    weibo_server: ReplayServer, sqlite_url: str
) -> None:
    result = run_crawl(weibo_source(weibo_server, first_run_days=7), [WATCH], FAST, sqlite_url)
    assert result.ok, result.errors
    paths = requested(weibo_server)
    assert search_path(2) in paths  # page 1 had recent posts
    assert search_path(3) not in paths  # page 2 had only 2019 posts
    assert extend_path("4980000000000456") not in paths
    posts = by_id(sqlite_url, "weibo")
    assert {"4990000000000910", "4990000000000905", "4980000000000123"} <= set(posts)
    assert not {"4990000000000700", "4990000000000650", "4980000000000456"} & set(posts)


def test_failures_are_recorded_and_the_rest_is_stored(sqlite_url: str) -> None:
    html = (
        b"<!DOCTYPE html><html><head><title>Sina Visitor System</title></head><body></body></html>"
    )
    routes = {
        search_path(1): Route(headers={"Content-Type": "text/html; charset=utf-8"}, body=html),
        search_path(1, "100103type%3D1%26q%3Dlarkspur"): Route(
            headers={"Content-Type": "application/json"}, body=b'{"ok":1,"data":{"cards":[{"card'
        ),
        container_path(1): json_route("container_page1.json"),
        container_path(2): json_route("no_more.json"),
        extend_path("4990000000001180"): Route(status=500, body=b"upstream error"),
    }
    routes[search_path(1, "100103type%3D1%26q%3D%E7%99%BB%E5%BD%95")] = Route(
        headers={"Content-Type": "application/json"},
        body=b'{"ok":-100,"url":"https://passport.weibo.cn/signin/welcome"}',
    )
    terms = ["拉克斯珀", "larkspur", "登录"]
    watch = WatchConfig(name="brand", query="拉克斯珀 OR larkspur", search_terms=terms)
    with serve(routes) as server:
        source = weibo_source(server, containers=[CONTAINER])
        result = run_crawl(source, [watch], FAST, sqlite_url)
        headers = [h for path, h in server.requests if path.startswith("/api/")]
    assert (result.fetched, result.new) == (2, 2)
    assert not result.down
    messages = "\n".join(result.errors)
    assert len(result.errors) == 7, messages
    assert (
        f"expected JSON from {server.url(search_path(1))} (HTTP 200), got an HTML page" in messages
    )
    assert "got malformed JSON" in messages
    assert "answered ok=-100 https://passport.weibo.cn/signin/welcome" in messages
    container = server.url(container_path(1))
    assert f"weibo mblog #2 has no numeric id (None) in {container}" in messages
    assert f"weibo mblog 4990000000001190 has no text in {container}" in messages
    assert f"weibo mblog #4 is not an object in {container}" in messages
    assert (
        f"HTTP 500 from {server.url(extend_path('4990000000001180'))}; "
        "stored the truncated text of weibo 4990000000001180"
    ) in messages
    assert all(error.startswith("weibo: ") for error in result.errors)
    posts = by_id(sqlite_url, "weibo")
    assert posts["4990000000001180"].text.startswith("拉克斯珀售后服务升级公告")
    assert posts["4990000000001180"].text.endswith("...")
    # Only the stream that finished cleanly moved its cursor; the failed searches re-read.
    assert stored_cursors(sqlite_url, "weibo") == {
        "*": {f"container:{CONTAINER}": "4990000000001200"}
    }
    assert all(h.get("X-Requested-With") == "XMLHttpRequest" for h in headers)
