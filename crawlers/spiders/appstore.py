"""AppStoreSpider: an app's customer reviews per country -> posts.

One stream per country (watch ``*``, key ``reviews:<country>``): Apple's reviews are about
the app, not about a search, so sources usually set ``assign_watch``; without it the
watches' queries decide as for any source. Pages are newest first; the cursor is the
newest ``updated`` time seen. Paging stops after a page that reaches reviews at or before
the cursor minus ``overlap_minutes`` (or, on a first run, older than ``first_run_days``),
at an empty page, and at ``max_pages`` (never past Apple's ten).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import scrapy
from scrapy.http import Response

from crawlers.appstore import MAX_PAGES, cursor_value, parse_reviews, reviews_url
from crawlers.config import AppStoreSource
from crawlers.feeds import parse_date
from crawlers.spiders.api import ALL_WATCHES, ApiSpider, Stream
from storage.posts import NewAmplification, NewPost


class AppStoreSpider(ApiSpider):
    """Pages through each country's review feed; parsing lives in :mod:`crawlers.appstore`."""

    name = "appstore"
    platform = "appstore"
    source: AppStoreSource
    started: datetime  # one clock reading per run: the first-run window starts here

    async def start(self) -> AsyncIterator[Any]:
        self.started = datetime.now(UTC)
        for country in dict.fromkeys(c.strip().lower() for c in self.source.countries):
            yield self.page_request(Stream(ALL_WATCHES, f"reviews:{country}"), country, 1)

    def page_request(self, stream: Stream, country: str, page: int) -> scrapy.Request:
        url = reviews_url(self.source.base_url, country, page, self.source.app_id)
        return self.api_request(
            url, self.parse_page, stream, cb_kwargs={"country": country, "page": page}
        )

    def stop_before(self, stream: Stream) -> tuple[datetime | None, datetime | None]:
        """(known_until, since): reviews at or before ``known_until`` were seen (minus the
        overlap); on a first run, reviews before ``since`` are out of reach."""
        known = parse_date(self.cursor(stream))
        if known is not None:
            return known - timedelta(minutes=self.source.overlap_minutes), None
        return None, self.started - timedelta(days=self.source.first_run_days)

    def parse_page(
        self, response: Response, stream: Stream, country: str, page: int
    ) -> Iterator[NewPost | NewAmplification | scrapy.Request]:
        payload = self.read_json(response, stream)
        if payload is None:
            return
        if not isinstance(payload, dict) or not isinstance(payload.get("feed"), dict):
            self.fail_stream(stream, f"expected a review feed from {response.url}, got no 'feed'")
            return
        known_until, since = self.stop_before(stream)
        try:
            parsed = parse_reviews(
                payload,
                self.source.name,
                country,
                self.source.app_id,
                where=response.url,
                since=since,
            )
        except Exception as exc:  # a parser bug must still leave a named error behind
            self.fail_stream(stream, f"could not read reviews from {response.url}: {exc!r}")
            return
        if parsed.updated:
            self.propose_cursor(stream, cursor_value(max(parsed.updated)))
        yield from self.emit(parsed)
        limit = min(self.source.max_pages, MAX_PAGES)
        horizon = known_until or since
        reached = horizon is not None and any(when <= horizon for when in parsed.updated)
        if parsed.empty or reached or page >= limit:
            return
        yield self.page_request(stream, country, page + 1)
