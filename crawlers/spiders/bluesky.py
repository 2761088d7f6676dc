"""BlueskySpider: ``app.bsky.feed.searchPosts`` per watch term, optional author feeds.

Streams, each with a time cursor (the newest item time seen, ISO UTC):

- ``search:<term>`` (``search:<term>@<lang>`` per configured language) per watch search
  term; the first run sends ``since=<date first_run_days ago>`` (a date: the URL stays
  the same all day), later runs ``since=<cursor - overlap_minutes>``; the answer's
  ``cursor`` (an offset) is followed up to ``max_pages``;
- ``author:<actor>`` (watch ``*``) per configured author: ``getAuthorFeed`` has no
  ``since``, so paging stops at items older than the cursor minus the overlap.

Items before the window are left out. Posts carry no follower counts: before a page is
yielded, its authors' (and reposters') counts are taken from the ``author_profiles``
cache when fresher than ``profile_cache_hours``, else fetched with ``getProfiles`` (25
actors a call) and cached. A failed lookup is recorded and the stream keeps its old
cursor (the next run re-reads the posts and fills the counts in); the posts are yielded
anyway, never lost.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import scrapy
from scrapy.http import Response
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from twisted.python.failure import Failure

from crawlers.bluesky import (
    PLATFORM,
    BlueskyPage,
    apply_followers,
    iso_time,
    parse_feed_page,
    parse_profiles,
    parse_search_page,
)
from crawlers.config import BlueskySource
from crawlers.feeds import parse_date
from crawlers.pipelines import DATABASE_URL_SETTING
from crawlers.query import phrase_for_search
from crawlers.spiders.api import ALL_WATCHES, STREAM_META, ApiSpider, Stream
from crawlers.spiders.base import describe_failure
from storage.db import dialect_insert, open_database, session_scope
from storage.models import AuthorProfile
from storage.types import utcnow

SEARCH_PAGE_SIZE = 100  # the lexicons' maximum
FEED_PAGE_SIZE = 100
PROFILES_PER_CALL = 25  # getProfiles' maximum
SEARCH = "app.bsky.feed.searchPosts"
AUTHOR_FEED = "app.bsky.feed.getAuthorFeed"
PROFILES = "app.bsky.actor.getProfiles"


def profiles_url(appview: str, dids: list[str]) -> str:
    return f"{appview}/xrpc/{PROFILES}?" + urlencode([("actors", did) for did in dids])


class BlueskySpider(ApiSpider):
    """Searches and author feeds on one AppView; parsing is in crawlers.bluesky."""

    name = "bluesky"
    platform = PLATFORM
    source: BlueskySource

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.now: datetime = utcnow()
        self.appview = self.source.appview.rstrip("/")
        self.followers: dict[str, int | None] = {}  # DID -> count, looked up this run
        self._engine: Engine | None = None
        self._factory: sessionmaker[Session] | None = None

    async def start(self) -> AsyncIterator[Any]:
        for stream, term in self.streams_for_watches("search"):
            languages: list[str | None] = list(self.source.languages) or [None]
            for lang in languages:
                key = f"{stream.key}@{lang}" if lang else stream.key
                yield self.search_request(Stream(stream.watch, key), phrase_for_search(term), lang)
        for actor in self.source.authors:
            yield self.feed_request(Stream(ALL_WATCHES, f"author:{actor}"), actor)

    # -- windows -------------------------------------------------------------------------

    def window_start(self, stream: Stream) -> datetime:
        """Items before this are not read: the cursor minus the overlap, or on the
        first run ``first_run_days`` ago."""
        cursor = parse_date(self.cursor(stream))
        if cursor is not None:
            return cursor - timedelta(minutes=self.source.overlap_minutes)
        return self.now - timedelta(days=self.source.first_run_days)

    def since_param(self, stream: Stream) -> str:
        start = self.window_start(stream)
        return iso_time(start) if self.cursor(stream) else start.date().isoformat()

    # -- requests ------------------------------------------------------------------------

    def search_request(
        self,
        stream: Stream,
        query: str,
        lang: str | None,
        page_cursor: str | None = None,
        page_number: int = 1,
    ) -> scrapy.Request:
        params: dict[str, str | int | None] = {
            "q": query,
            "sort": "latest",
            "since": self.since_param(stream),
            "lang": lang,
            "limit": SEARCH_PAGE_SIZE,
            "cursor": page_cursor,
        }
        return self.api_request(
            f"{self.appview}/xrpc/{SEARCH}",
            self.parse_search,
            stream,
            params=params,
            cb_kwargs={"query": query, "lang": lang, "page_number": page_number},
        )

    def feed_request(
        self, stream: Stream, actor: str, page_cursor: str | None = None, page_number: int = 1
    ) -> scrapy.Request:
        params: dict[str, str | int | None] = {
            "actor": actor,
            "limit": FEED_PAGE_SIZE,
            "cursor": page_cursor,
        }
        return self.api_request(
            f"{self.appview}/xrpc/{AUTHOR_FEED}",
            self.parse_feed,
            stream,
            params=params,
            cb_kwargs={"actor": actor, "page_number": page_number},
        )

    # -- pages ---------------------------------------------------------------------------

    def parse_search(
        self, response: Response, stream: Stream, query: str, lang: str | None, page_number: int
    ) -> Iterator[Any]:
        data = self.read_json(response, stream)
        if data is None:
            return
        page = parse_search_page(data, self.source.name, self.window_start(stream), response.url)
        next_cursor = self.next_cursor(data, page, page_number)
        if next_cursor:
            yield self.search_request(stream, query, lang, next_cursor, page_number + 1)
        yield from self.deliver(page, stream)

    def parse_feed(
        self, response: Response, stream: Stream, actor: str, page_number: int
    ) -> Iterator[Any]:
        data = self.read_json(response, stream)
        if data is None:
            return
        page = parse_feed_page(data, self.source.name, self.window_start(stream), response.url)
        next_cursor = self.next_cursor(data, page, page_number)
        if next_cursor:
            yield self.feed_request(stream, actor, next_cursor, page_number + 1)
        yield from self.deliver(page, stream)

    def next_cursor(self, data: Any, page: BlueskyPage, page_number: int) -> str | None:
        if page.entries == 0 or page.reached_older or page_number >= self.source.max_pages:
            return None
        cursor = data.get("cursor") if isinstance(data, dict) else None
        return cursor if isinstance(cursor, str) and cursor else None

    def deliver(self, page: BlueskyPage, stream: Stream) -> Iterator[Any]:
        """Propose the cursor, then yield the page once its follower counts are known
        (from this run, the cache, or a getProfiles call)."""
        if page.errors and not page.posts and page.entries == 0:
            # Not a page of posts at all: the stream failed, keep its cursor.
            for error in page.errors:
                self.fail_stream(stream, error)
            return
        if page.newest is not None:
            self.propose_cursor(stream, iso_time(page.newest))
        missing = sorted(page.dids - self.followers.keys())
        if missing:
            self.followers.update(self.cached_followers(missing))
            missing = [did for did in missing if did not in self.followers]
        if not missing:
            apply_followers(page, self.followers)
            yield from self.emit(page)
            return
        batches = [
            missing[i : i + PROFILES_PER_CALL] for i in range(0, len(missing), PROFILES_PER_CALL)
        ]
        yield self.profiles_request(stream, page, batches)

    # -- follower counts -----------------------------------------------------------------

    def profiles_request(
        self, stream: Stream, page: BlueskyPage, batches: list[list[str]]
    ) -> scrapy.Request:
        request = self.api_request(
            profiles_url(self.appview, batches[0]),
            self.parse_profiles,
            stream,
            cb_kwargs={"page": page, "batches": batches},
        )
        return request.replace(errback=self.on_profiles_error)

    def parse_profiles(
        self,
        response: Response,
        stream: Stream,
        page: BlueskyPage,
        batches: list[list[str]],
    ) -> Iterator[Any]:
        data = self.read_json(response, stream)
        found = parse_profiles(data) if data is not None else None
        if data is not None and found is None:
            self.fail_stream(stream, f"no profiles list in the answer from {response.url}")
        if found is not None:
            fetched = {did: found.get(did) for did in batches[0]}
            self.followers.update(fetched)
            self.store_followers(fetched)
            if len(batches) > 1:
                yield self.profiles_request(stream, page, batches[1:])
                return
        apply_followers(page, self.followers)
        yield from self.emit(page)

    def on_profiles_error(self, failure: Failure) -> Iterator[Any]:
        """The lookup failed: record it, and still yield the posts (no counts)."""
        request = failure.request  # type: ignore[attr-defined]
        stream = request.meta[STREAM_META]
        self.fail_stream(
            stream,
            describe_failure(failure, request.url) + " (follower counts left empty)",
        )
        page: BlueskyPage = request.cb_kwargs["page"]
        apply_followers(page, self.followers)
        yield from self.emit(page)

    def auth_hint(self, url: str) -> str | None:
        host = urlsplit(self.appview).netloc
        return (
            f"{host} does not serve this without a login; "
            "set the source's appview to an AppView that does"
        )

    # -- the author_profiles cache -------------------------------------------------------

    def session_factory(self) -> sessionmaker[Session] | None:
        url = self.crawler.settings.get(DATABASE_URL_SETTING)
        if not url:
            return None
        if self._factory is None:
            self._engine, self._factory = open_database(url)
        return self._factory

    def cached_followers(self, dids: list[str]) -> dict[str, int | None]:
        """Counts cached less than ``profile_cache_hours`` ago; {} when none or no cache."""
        if self.source.profile_cache_hours <= 0:
            return {}
        cutoff = self.now - timedelta(hours=self.source.profile_cache_hours)
        try:
            factory = self.session_factory()
            if factory is None:
                return {}
            with session_scope(factory) as session:
                rows = session.execute(
                    select(AuthorProfile.author, AuthorProfile.followers).where(
                        AuthorProfile.platform == PLATFORM,
                        AuthorProfile.author.in_(dids),
                        AuthorProfile.fetched_at >= cutoff,
                    )
                ).tuples()
                return {author: followers for author, followers in rows}
        except Exception as exc:  # a broken cache means more lookups, not a failed crawl
            self.record_error(f"could not read cached follower counts: {exc}")
            return {}

    def store_followers(self, followers: dict[str, int | None]) -> None:
        if not followers:
            return
        try:
            factory = self.session_factory()
            if factory is None:
                return
            now = utcnow()
            with session_scope(factory) as session:
                insert = dialect_insert(session)
                statement = insert(AuthorProfile).values(
                    [
                        {"platform": PLATFORM, "author": did, "followers": count, "fetched_at": now}
                        for did, count in followers.items()
                    ]
                )
                session.execute(
                    statement.on_conflict_do_update(
                        index_elements=["platform", "author"],
                        set_={
                            "followers": statement.excluded.followers,
                            "fetched_at": statement.excluded.fetched_at,
                        },
                    )
                )
        except Exception as exc:
            self.record_error(f"could not cache follower counts: {exc}")

    def closed(self, reason: str) -> None:
        if self._engine is not None:
            self._engine.dispose()
