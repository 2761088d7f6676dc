"""Rate limits: the header rules exhaustively, the middleware's decisions, and a real
crawl that waits out a 429."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from scrapy import Request
from scrapy.http import Response

from crawlers.config import FeedSource, WatchConfig
from crawlers.ratelimit import (
    DEFAULT_429_WAIT_SECONDS,
    RETRY_COUNT_META,
    RateLimitMiddleware,
    read_budget,
    seconds_until,
    wait_after_response,
)
from crawlers.runner import run_crawl
from tests.replay_server import Route, serve
from tests.test_crawl_feeds import FAST, REACH_RSS

NOW = 1_780_000_000.0  # a Unix time
NOW_DT = datetime.fromtimestamp(NOW, UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30", 30.0),  # seconds (Retry-After, Reddit's reset)
        ("0.5", 0.5),
        (str(int(NOW) + 120), 120.0),  # a Unix time (Bluesky's RateLimit-Reset)
        ((NOW_DT + timedelta(minutes=5)).isoformat(), 300.0),  # ISO (Mastodon)
        ((NOW_DT + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), 300.0),
        (format_datetime(NOW_DT + timedelta(seconds=90), usegmt=True), 90.0),  # HTTP date
        ((NOW_DT - timedelta(minutes=5)).isoformat(), 0.0),  # already past: no wait
        ("soon", None),
    ],
)
def test_seconds_until(value: str, expected: float | None) -> None:
    result = seconds_until(value, NOW)
    assert result == (pytest.approx(expected) if expected is not None else None)


def test_read_budget_understands_each_platforms_headers() -> None:
    mastodon = {
        "X-RateLimit-Limit": "300",
        "X-RateLimit-Remaining": "227",
        "X-RateLimit-Reset": (NOW_DT + timedelta(minutes=10)).isoformat(),
    }
    assert read_budget(mastodon, NOW).remaining == 227
    assert read_budget(mastodon, NOW).resets_in == pytest.approx(600)
    reddit = {"x-ratelimit-remaining": "598.0", "x-ratelimit-used": "2", "x-ratelimit-reset": "41"}
    assert read_budget(reddit, NOW).remaining == 598
    assert read_budget(reddit, NOW).resets_in == 41
    bluesky = {
        "RateLimit-Limit": "3000",
        "RateLimit-Remaining": "2983",
        "RateLimit-Reset": str(int(NOW) + 300),
        "RateLimit-Policy": "3000;w=300",
    }
    assert read_budget(bluesky, NOW).limit == 3000
    assert read_budget(bluesky, NOW).resets_in == pytest.approx(300)


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (200, {}, 0.0),  # no budget headers: no wait
        (200, {"x-ratelimit-remaining": "500", "x-ratelimit-reset": "60"}, 0.0),  # plenty
        # Nearly spent (≤ 10% of 300 left): spread the rest evenly until the reset.
        (
            200,
            {"x-ratelimit-limit": "300", "x-ratelimit-remaining": "20", "x-ratelimit-reset": "60"},
            3.0,
        ),
        (200, {"x-ratelimit-remaining": "4", "x-ratelimit-reset": "60"}, 15.0),
        (200, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "60"}, 60.0),  # spent
        (429, {"Retry-After": "7"}, 7.0),
        (429, {"Retry-After": "7", "x-ratelimit-reset": "60"}, 7.0),  # Retry-After wins
        (429, {"ratelimit-remaining": "0", "ratelimit-reset": "45"}, 45.0),
        (429, {}, DEFAULT_429_WAIT_SECONDS),
        (429, {"Retry-After": "garbage"}, DEFAULT_429_WAIT_SECONDS),
    ],
)
def test_wait_after_response(status: int, headers: dict[str, str], expected: float) -> None:
    assert wait_after_response(status, headers, NOW) == pytest.approx(expected)


class FakeClock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def _response(url: str, status: int, headers: dict[str, str]) -> Response:
    return Response(url, status=status, headers=headers, request=Request(url))


def test_middleware_retries_a_429_and_holds_back_that_host_only() -> None:
    clock = FakeClock()
    middleware = RateLimitMiddleware(max_wait=60, retries=2, clock=clock)
    request = Request("https://mastodon.example/api/v1/timelines/tag/brand")
    retry = middleware.process_response(request, _response(request.url, 429, {"Retry-After": "5"}))
    assert isinstance(retry, Request) and retry.meta[RETRY_COUNT_META] == 1
    assert middleware.not_before["mastodon.example"] == pytest.approx(NOW + 5)
    assert "reddit.example" not in middleware.not_before
    # After the last retry, the 429 goes on to become a recorded HTTP error.
    retry.meta[RETRY_COUNT_META] = 2
    answer = middleware.process_response(retry, _response(retry.url, 429, {"Retry-After": "5"}))
    assert isinstance(answer, Response) and answer.status == 429


def test_middleware_gives_up_on_a_wait_longer_than_allowed() -> None:
    middleware = RateLimitMiddleware(max_wait=60, retries=3, clock=FakeClock())
    request = Request("https://reddit.example/r/brand/new.json")
    answer = middleware.process_response(
        request, _response(request.url, 429, {"Retry-After": "3600"})
    )
    assert isinstance(answer, Response) and answer.status == 429


def test_middleware_sleeps_before_the_next_request_when_the_budget_is_spent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock()
    middleware = RateLimitMiddleware(max_wait=60, retries=3, clock=clock)
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("crawlers.ratelimit.asyncio.sleep", fake_sleep)
    first = Request("https://bsky.example/xrpc/app.bsky.feed.searchPosts?q=a")
    headers = {"RateLimit-Remaining": "0", "RateLimit-Reset": str(int(NOW) + 30)}
    middleware.process_response(first, _response(first.url, 200, headers))
    asyncio.run(middleware.process_request(Request("https://bsky.example/xrpc/next")))
    asyncio.run(middleware.process_request(Request("https://other.example/feed")))
    assert slept == [pytest.approx(30)]  # only the spent host waits


def test_a_real_crawl_waits_out_a_429_and_then_stores_the_posts(sqlite_url: str) -> None:
    routes = {
        "/feed.xml": [
            Route(status=429, headers={"Retry-After": "2"}, body=b"slow down"),
            Route(headers={"Content-Type": "application/rss+xml"}, body=REACH_RSS),
        ]
    }
    with serve(routes) as server:
        source = FeedSource(type="feed", name="limited", url=server.url("/feed.xml"))
        result = run_crawl(source, [WatchConfig(name="all", query="*")], FAST, sqlite_url)
        feed_times = [
            at
            for (path, _), at in zip(server.requests, server.request_times, strict=True)
            if path == "/feed.xml"
        ]
    assert result.errors == []
    assert result.new > 0
    assert len(feed_times) == 2
    assert feed_times[1] - feed_times[0] >= 1.9  # Retry-After: 2 was honoured


def test_a_429_asking_too_much_is_a_named_error_not_a_hang(sqlite_url: str) -> None:
    routes = {"/feed.xml": Route(status=429, headers={"Retry-After": "86400"}, body=b"no")}
    with serve(routes) as server:
        source = FeedSource(type="feed", name="limited", url=server.url("/feed.xml"))
        result = run_crawl(source, [WatchConfig(name="all", query="*")], FAST, sqlite_url)
    assert any("HTTP 429" in error and "/feed.xml" in error for error in result.errors)
