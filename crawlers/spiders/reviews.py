"""ReviewPageSpider: product pages -> one PostItem per schema.org Review on them."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Response, TextResponse

from crawlers.config import ReviewPagesSource
from crawlers.items import PostItem
from crawlers.job import STAT_PAGES_WITHOUT_ITEMS
from crawlers.reviews import extract_reviews, page_language
from crawlers.spiders.base import UproarSpider

logger = logging.getLogger(__name__)


class ReviewPageSpider(UproarSpider):
    """Fetches each configured page; extraction lives in :mod:`crawlers.reviews`."""

    name = "reviews"
    source: ReviewPagesSource

    async def start(self) -> AsyncIterator[Any]:
        for url in self.source.urls:
            yield scrapy.Request(url, callback=self.parse, errback=self.on_error)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[PostItem]:
        if not isinstance(response, TextResponse):
            self.record_error(f"not an HTML page at {response.url} ({response.status})")
            return
        try:
            lang = response.xpath("/html/@lang").get()
            result = extract_reviews(
                response.text, response.url, self.source.name, page_language(lang)
            )
        except Exception as exc:
            self.record_error(f"could not read reviews from {response.url}: {exc!r}")
            return
        if result.unreadable:
            self.record_error(
                f"no structured data readable on {response.url}: "
                + "; ".join(result.broken_syntaxes)
            )
        elif result.broken_syntaxes:
            logger.warning(
                "%s: broken structured data on %s, used the rest: %s",
                self.source.name,
                response.url,
                "; ".join(result.broken_syntaxes),
            )
        if not result.items and self.crawler.stats is not None:
            self.crawler.stats.inc_value(STAT_PAGES_WITHOUT_ITEMS)
        self.count_fetched(len(result.items))
        yield from result.items
