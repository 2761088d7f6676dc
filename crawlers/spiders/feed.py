"""FeedSpider: one RSS / Atom / JSON Feed URL -> PostItems."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Response

from crawlers.config import FeedSource
from crawlers.feeds import parse_feed
from crawlers.items import PostItem
from crawlers.spiders.base import UproarSpider


class FeedSpider(UproarSpider):
    """Fetches the source's feed once; parsing lives in :mod:`crawlers.feeds`."""

    name = "feed"
    source: FeedSource

    async def start(self) -> AsyncIterator[Any]:
        yield scrapy.Request(
            self.source.url, callback=self.parse, errback=self.on_error, dont_filter=True
        )

    def parse(self, response: Response, **kwargs: Any) -> Iterator[PostItem]:
        content_type = (response.headers.get("Content-Type") or b"").decode("latin-1") or None
        try:
            result = parse_feed(response.body, response.url, self.source.name, content_type)
        except Exception as exc:  # a parser bug must still leave a named error behind
            self.record_error(f"could not parse feed from {response.url}: {exc!r}")
            return
        for error in result.errors:
            self.record_error(error)
        self.count_fetched(len(result.items))
        yield from result.items
