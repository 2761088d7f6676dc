"""Rate limits: how long to wait before the next request to a host, from its headers.

Platforms say how much budget is left in different dialects: ``Retry-After`` on a 429
(seconds or an HTTP date), Mastodon's ``X-RateLimit-Remaining`` / ``-Reset`` (an ISO
time), Reddit's ``X-Ratelimit-Remaining`` / ``-Reset`` (seconds from now, remaining a
float) and Bluesky's ``RateLimit-Remaining`` / ``-Reset`` (a Unix time). The rules here
are plain functions; :class:`RateLimitMiddleware` applies them inside Scrapy.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Self
from urllib.parse import urlsplit

from dateutil import parser as date_parser
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response

logger = logging.getLogger(__name__)

REMAINING_HEADERS = ("x-ratelimit-remaining", "ratelimit-remaining")
RESET_HEADERS = ("x-ratelimit-reset", "ratelimit-reset")
LIMIT_HEADERS = ("x-ratelimit-limit", "ratelimit-limit")
# Start spreading requests out when this share of the budget (or fewer than this many
# requests) is left, so the budget is never spent before it resets.
LOW_BUDGET_SHARE = 0.1
LOW_BUDGET_MIN = 5
DEFAULT_429_WAIT_SECONDS = 60.0
UNIX_TIME_AFTER = 1_000_000_000  # a reset this large is a timestamp, not a delay
MAX_RATE_LIMIT_WAIT_SETTING = "UPROAR_MAX_RATE_LIMIT_WAIT"
RATE_LIMIT_RETRIES_SETTING = "UPROAR_RATE_LIMIT_RETRIES"
RETRY_COUNT_META = "uproar_rate_limit_retries"


def _header(headers: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    lowered = {name.lower(): value for name, value in headers.items()}
    for name in names:
        value = lowered.get(name)
        if value is not None and value.strip():
            return value.strip()
    return None


def seconds_until(value: str, now: float) -> float | None:
    """Seconds from ``now`` (Unix time) until the moment ``value`` names.

    ``value`` may be a number of seconds, a Unix time, an HTTP date or an ISO 8601 time;
    ``None`` when it is none of them. Never negative.
    """
    try:
        number = float(value)
    except ValueError:
        moment: datetime | None
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            try:
                moment = date_parser.isoparse(value)
            except ValueError:
                return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return max(0.0, moment.timestamp() - now)
    if number >= UNIX_TIME_AFTER:
        return max(0.0, number - now)
    return max(0.0, number)


@dataclass(frozen=True)
class Budget:
    """What a response's headers say about the request budget."""

    remaining: float | None
    limit: float | None
    resets_in: float | None  # seconds


def read_budget(headers: Mapping[str, str], now: float) -> Budget:
    def number(names: tuple[str, ...]) -> float | None:
        value = _header(headers, names)
        if value is None:
            return None
        try:
            return float(value.split(";")[0].split(",")[0])  # "100;w=60" (IETF draft)
        except ValueError:
            return None

    reset = _header(headers, RESET_HEADERS)
    return Budget(
        remaining=number(REMAINING_HEADERS),
        limit=number(LIMIT_HEADERS),
        resets_in=seconds_until(reset, now) if reset is not None else None,
    )


def wait_after_response(status: int, headers: Mapping[str, str], now: float) -> float:
    """Seconds to wait before the next request to this host.

    A 429 waits for ``Retry-After`` (else the budget's reset, else a minute). Otherwise,
    when the budget is nearly spent, the remaining requests are spread evenly until the
    reset, and none is sent with nothing left; with budget to spare, no wait.
    """
    budget = read_budget(headers, now)
    if status == 429:
        retry_after = _header(headers, ("retry-after",))
        if retry_after is not None:
            waited = seconds_until(retry_after, now)
            if waited is not None:
                return waited
        if budget.resets_in is not None:
            return budget.resets_in
        return DEFAULT_429_WAIT_SECONDS
    if budget.remaining is None or budget.resets_in is None:
        return 0.0
    if budget.remaining < 1:
        return budget.resets_in
    low_water = LOW_BUDGET_MIN
    if budget.limit:
        low_water = max(low_water, int(budget.limit * LOW_BUDGET_SHARE))
    if budget.remaining > low_water:
        return 0.0
    return budget.resets_in / budget.remaining


class RateLimitMiddleware:
    """Downloader middleware: waits out 429s (then retries the request) and slows down
    per host when the budget headers say it is nearly spent."""

    def __init__(
        self,
        max_wait: float,
        retries: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.max_wait = max_wait
        self.retries = retries
        self.clock = clock
        self.not_before: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(
            max_wait=crawler.settings.getfloat(MAX_RATE_LIMIT_WAIT_SETTING, 900.0),
            retries=crawler.settings.getint(RATE_LIMIT_RETRIES_SETTING, 3),
        )

    async def process_request(self, request: Request) -> None:
        wait = self.not_before.get(urlsplit(request.url).netloc, 0.0) - self.clock()
        if wait > 0:
            logger.info("rate limit: waiting %.1fs before %s", wait, request.url)
            await asyncio.sleep(wait)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        headers = {
            key.decode("latin-1"): values[-1].decode("latin-1")
            for key, values in response.headers.items()
            if values
        }
        now = self.clock()
        wait = wait_after_response(response.status, headers, now)
        host = urlsplit(request.url).netloc
        if wait > 0:
            self.not_before[host] = max(self.not_before.get(host, 0.0), now + wait)
        if response.status != 429:
            return response
        tries = int(request.meta.get(RETRY_COUNT_META, 0))
        if wait > self.max_wait or tries >= self.retries:
            # Hand the 429 on: HttpErrorMiddleware turns it into an error naming the URL.
            logger.warning(
                "rate limited by %s: asked to wait %.0fs (limit %.0fs, try %d of %d)",
                host,
                wait,
                self.max_wait,
                tries + 1,
                self.retries,
            )
            return response
        logger.info("rate limited by %s: retrying %s in %.1fs", host, request.url, wait)
        retry = request.replace(dont_filter=True)
        retry.meta[RETRY_COUNT_META] = tries + 1
        return retry


def settings_for_rate_limits(max_wait_seconds: float, retries: int) -> dict[str, Any]:
    """Scrapy settings that put :class:`RateLimitMiddleware` in charge of 429s."""
    return {
        "DOWNLOADER_MIDDLEWARES": {"crawlers.ratelimit.RateLimitMiddleware": 560},
        # 429 is ours: RetryMiddleware would retry it at once, ignoring Retry-After.
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408],
        MAX_RATE_LIMIT_WAIT_SETTING: max_wait_seconds,
        RATE_LIMIT_RETRIES_SETTING: retries,
    }
