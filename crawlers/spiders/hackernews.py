"""HackerNewsSpider: Algolia ``search_by_date`` per watch search term, stories and comments.

Incremental runs ask Algolia itself for what is new: ``numericFilters=created_at_i>N``
with N the stream's cursor (the newest ``created_at_i`` seen) minus the overlap window,
or ``first_run_days`` back on the first run. Pages are followed by number until
``nbPages`` (which Algolia caps) or the source's ``max_pages``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Response

from crawlers.config import HackerNewsSource
from crawlers.hackernews import PLATFORM, AlgoliaFormatError, parse_search, tags_filter
from crawlers.query import phrase_for_search
from crawlers.spiders.api import ApiSpider, Stream, window_start

PAGE_SIZE = 100


class HackerNewsSpider(ApiSpider):
    """Pages through Algolia search answers; the parsing lives in :mod:`crawlers.hackernews`."""

    name = "hackernews"
    platform = PLATFORM
    source: HackerNewsSource

    async def start(self) -> AsyncIterator[Any]:
        now = time.time()
        for stream, term in self.streams_for_watches("search"):
            since = window_start(
                self.cursor(stream),
                self.source.overlap_minutes,
                self.source.first_run_days,
                now,
            )
            yield self._page(stream, term, int(since), page=0)

    def _page(self, stream: Stream, term: str, since: int, page: int) -> scrapy.Request:
        params: dict[str, str | int | None] = {
            "query": phrase_for_search(term),
            "tags": tags_filter(list(self.source.tags)),
            "numericFilters": f"created_at_i>{since}",
            "hitsPerPage": PAGE_SIZE,
            "page": page,
        }
        return self.api_request(
            f"{self.source.base_url.rstrip('/')}/search_by_date",
            self.parse_page,
            stream,
            params=params,
            cb_kwargs={"term": term, "since": since, "page": page},
        )

    def parse_page(
        self, response: Response, stream: Stream, term: str, since: int, page: int
    ) -> Iterator[Any]:
        data = self.read_json(response, stream)
        if data is None:
            return
        try:
            result = parse_search(data, self.source.name)
        except AlgoliaFormatError as exc:
            self.fail_stream(stream, f"{exc} at {response.url} (HTTP {response.status})")
            return
        if result.newest is not None:
            self.propose_cursor(stream, str(result.newest))
        yield from self.emit(result.page)
        following = page + 1
        if result.hits and following < result.pages and following < self.source.max_pages:
            yield self._page(stream, term, since, following)
