"""What every uproar spider shares: its source, its error list and its errback."""

from __future__ import annotations

import logging
from typing import Any

import scrapy
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error as twisted_error
from twisted.python.failure import Failure

from crawlers.config import AnySource, WatchConfig
from crawlers.job import STAT_ERRORS, STAT_FETCHED

logger = logging.getLogger(__name__)


def describe_failure(failure: Failure, url: str) -> str:
    """One line saying what went wrong fetching ``url``: status, timeout, DNS, refused."""
    value = failure.value
    if isinstance(value, HttpError):
        return f"HTTP {value.response.status} from {url}"
    if failure.check(
        DownloadTimeoutError, twisted_error.TimeoutError, twisted_error.TCPTimedOutError
    ):
        return f"timeout fetching {url}: {value}"
    if failure.check(CannotResolveHostError, twisted_error.DNSLookupError):
        return f"DNS lookup failed for {url}: {value}"
    if failure.check(DownloadConnectionRefusedError, twisted_error.ConnectionRefusedError):
        return f"connection refused by {url}: {value}"
    if failure.check(IgnoreRequest):
        return f"not fetched {url}: {value or 'ignored'}"
    return f"{type(value).__name__} fetching {url}: {value}"


class UproarSpider(scrapy.Spider):
    """A spider for one configured source; it collects errors instead of dying on them."""

    def __init__(
        self,
        source: AnySource,
        watches: list[WatchConfig] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.watches = list(watches or [])
        self.errors: list[str] = []

    def record_error(self, message: str) -> None:
        """Keep ``message`` for the crawl result; it names the source."""
        message = f"{self.source.name}: {message}"
        self.errors.append(message)
        logger.warning(message)
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(STAT_ERRORS)

    def count_fetched(self, count: int = 1) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(STAT_FETCHED, count)

    def on_error(self, failure: Failure) -> None:
        """Errback for every request: record the failure, never raise."""
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "<unknown URL>"
        self.record_error(describe_failure(failure, url))
