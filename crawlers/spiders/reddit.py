"""RedditSpider: ``/search.json`` per watch search term, ``/r/<sub>/new.json`` per subreddit.

Both listings are newest first and paged with ``after``. The cursor of a stream is the
newest ``created_utc`` seen (a Unix time in whole seconds); the next run pages until it
reaches posts older than the cursor minus the overlap window and keeps only the newer
ones. A time beats a ``before=<fullname>`` cursor here: ``before`` a post that has since
been deleted returns an empty listing, and the crawl would silently stop seeing posts.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import scrapy
from scrapy.http import Response

from crawlers.config import RedditSource
from crawlers.query import phrase_for_search
from crawlers.reddit import PLATFORM, RedditFormatError, parse_listing
from crawlers.spiders.api import ALL_WATCHES, ApiSpider, Stream, window_start

PAGE_SIZE = 100  # Reddit's maximum ``limit``


class RedditSpider(ApiSpider):
    """Pages through Reddit listings; the parsing lives in :mod:`crawlers.reddit`."""

    name = "reddit"
    platform = PLATFORM
    source: RedditSource

    def listing_streams(self) -> Iterator[tuple[Stream, str, dict[str, str | int]]]:
        """(stream, path, query parameters) of every listing this source reads."""
        for stream, term in self.streams_for_watches("search"):
            query: dict[str, str | int] = {"q": phrase_for_search(term), "sort": "new"}
            yield stream, "/search.json", query | {"raw_json": 1, "limit": PAGE_SIZE}
        for sub in self.source.subreddits:
            params: dict[str, str | int] = {"raw_json": 1, "limit": PAGE_SIZE}
            yield Stream(ALL_WATCHES, f"r/{sub}"), f"/r/{sub}/new.json", params

    async def start(self) -> AsyncIterator[Any]:
        now = time.time()
        base = self.source.base_url.rstrip("/")
        for stream, path, params in self.listing_streams():
            since = window_start(
                self.cursor(stream),
                self.source.overlap_minutes,
                self.source.first_run_days,
                now,
            )
            yield self._page(f"{base}{path}", stream, params, since, page=1, after=None)

    def _page(
        self,
        url: str,
        stream: Stream,
        params: Mapping[str, str | int],
        since: float,
        page: int,
        after: str | None,
    ) -> scrapy.Request:
        return self.api_request(
            url,
            self.parse_page,
            stream,
            params={**params, "after": after},
            cb_kwargs={"url": url, "params": params, "since": since, "page": page},
        )

    def parse_page(
        self,
        response: Response,
        stream: Stream,
        url: str,
        params: Mapping[str, str | int],
        since: float,
        page: int,
    ) -> Iterator[Any]:
        data = self.read_json(response, stream)
        if data is None:
            return
        try:
            listing = parse_listing(data, self.source.name, self.source.base_url, since)
        except RedditFormatError as exc:
            self.fail_stream(stream, f"{exc} at {response.url} (HTTP {response.status})")
            return
        if listing.newest is not None:
            self.propose_cursor(stream, str(int(listing.newest)))
        yield from self.emit(listing.page)
        more = bool(listing.after) and listing.entries > 0 and not listing.reaches(since)
        if more and page < self.source.max_pages:
            yield self._page(url, stream, params, since, page + 1, listing.after)
