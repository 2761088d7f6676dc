"""WeiboSpider: Weibo-style search and container pages -> posts and retweets.

Streams: one search per search term of each watch (``search:<term>``, cursor kept per
watch) and one per configured container id (``container:<id>``, watch ``*``). The cursor
is the newest mblog id seen (ids grow with time and compare as numbers); a page whose
mblogs are all at or below it (or, on a first run, all older than ``first_run_days``)
ends the stream, as do ``ok: 0``, an empty card list and ``max_pages``.

A retweet stores the original once plus an amplification by the retweeter; the
retweeter's own comment is not stored (see :mod:`crawlers.weibo`). A long post
(``isLongText``) is stored after its full text came from ``statuses/extend``; when that
fails it is stored with the truncated text and the failure is recorded.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers.config import WeiboSource
from crawlers.spiders.api import ALL_WATCHES, STREAM_META, ApiSpider, ParsedPage, Stream
from crawlers.spiders.base import describe_failure
from crawlers.weibo import (
    WeiboContext,
    container_url,
    long_text_html,
    long_text_url,
    parse_page,
    search_container,
    with_long_text,
)
from storage.posts import NewAmplification, NewPost

Item = NewPost | NewAmplification


class WeiboSpider(ApiSpider):
    """Pages through Weibo containers; parsing lives in :mod:`crawlers.weibo`."""

    name = "weibo"
    platform = "weibo"
    source: WeiboSource
    context: WeiboContext

    def request_headers(self) -> dict[str, str]:
        # What m.weibo.cn's own page sends with its JSON requests.
        return super().request_headers() | {"X-Requested-With": "XMLHttpRequest", "MWeibo-Pwa": "1"}

    async def start(self) -> AsyncIterator[Any]:
        try:
            zone = ZoneInfo(self.source.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self.record_error(
                f"unknown timezone {self.source.timezone!r} (key 'timezone'): expected an "
                "IANA name such as 'Asia/Shanghai'; nothing crawled"
            )
            return
        # One clock reading per run: every relative date of this run means the same "now".
        self.context = WeiboContext(
            source=self.source.name,
            base_url=self.source.base_url,
            now=datetime.now(UTC),
            timezone=zone,
        )
        for stream, term in self.streams_for_watches("search"):
            yield self.page_request(stream, search_container(term), 1, search=True)
        for container in self.source.containers:
            yield self.page_request(Stream(ALL_WATCHES, f"container:{container}"), container, 1)

    def page_request(
        self, stream: Stream, container: str, page: int, *, search: bool = False
    ) -> scrapy.Request:
        url = container_url(self.source.base_url, container, page, search=search)
        return self.api_request(
            url,
            self.parse_page,
            stream,
            cb_kwargs={"container": container, "page": page, "search": search},
        )

    def parse_page(
        self, response: Response, stream: Stream, container: str, page: int, search: bool
    ) -> Iterator[Item | scrapy.Request]:
        payload = self.read_json(response, stream)
        if payload is None:
            return
        if not isinstance(payload, dict):
            self.fail_stream(stream, f"expected a JSON object from {response.url}")
            return
        if payload.get("ok") not in (0, 1):  # -100: a login wall; the rest was not read
            message = payload.get("msg") or payload.get("url") or ""
            self.fail_stream(
                stream, f"{response.url} answered ok={payload.get('ok')!r} {message}".rstrip()
            )
            return
        cursor = self.cursor(stream)
        since = None if cursor else self.context.now - timedelta(days=self.source.first_run_days)
        try:
            parsed = parse_page(
                payload, self.context, where=response.url, cursor=cursor, since=since
            )
        except Exception as exc:  # a parser bug must still leave a named error behind
            self.fail_stream(stream, f"could not read weibo page {response.url}: {exc!r}")
            return
        for status in parsed.status_ids:
            self.propose_cursor(stream, status)
        waiting = [post for post in parsed.posts if post.external_id in parsed.long_text]
        yield from self.emit(
            ParsedPage(
                posts=[post for post in parsed.posts if post.external_id not in parsed.long_text],
                amplifications=[
                    amp
                    for amp in parsed.amplifications
                    if amp.original_external_id not in parsed.long_text
                ],
                deleted=parsed.deleted,
                errors=parsed.errors,
            )
        )
        for post in waiting:
            # Its retweets wait with it, so they are never stored before their original.
            amplifications = [
                amp for amp in parsed.amplifications if amp.original_external_id == post.external_id
            ]
            yield self.long_text_request(stream, post, amplifications)
        if parsed.ended or not parsed.fresh or page >= self.source.max_pages:
            return
        next_page = parsed.next_page if parsed.next_page and parsed.next_page > page else page + 1
        yield self.page_request(stream, container, next_page, search=search)

    # -- long posts ----------------------------------------------------------------------

    def long_text_request(
        self, stream: Stream, post: NewPost, amplifications: list[NewAmplification]
    ) -> scrapy.Request:
        return scrapy.Request(
            long_text_url(self.source.base_url, post.external_id),
            callback=self.parse_long_text,
            errback=self.long_text_failed,
            headers=self.request_headers(),
            meta={STREAM_META: stream},
            cb_kwargs={"stream": stream, "post": post, "amplifications": amplifications},
            dont_filter=True,
        )

    def parse_long_text(
        self,
        response: Response,
        stream: Stream,
        post: NewPost,
        amplifications: list[NewAmplification],
    ) -> Iterator[Item]:
        try:
            html = long_text_html(json.loads(response.body))
        except (json.JSONDecodeError, UnicodeDecodeError):
            html = None
        if html is None:
            self.record_error(
                f"no long text for weibo {post.external_id} from {response.url} "
                f"(HTTP {response.status}); stored the truncated text"
            )
        else:
            post = with_long_text(post, html)
        yield from self.emit(ParsedPage(posts=[post], amplifications=amplifications))

    def long_text_failed(self, failure: Failure) -> Iterator[Item]:
        """The full text could not be fetched: keep the post with its truncated text."""
        request = getattr(failure, "request", None)
        if request is None:  # not a request failure: nothing to fall back to
            self.on_api_error(failure)
            return
        post: NewPost = request.cb_kwargs["post"]
        self.record_error(
            f"{describe_failure(failure, request.url)}; stored the truncated text of "
            f"weibo {post.external_id}"
        )
        yield from self.emit(
            ParsedPage(posts=[post], amplifications=request.cb_kwargs["amplifications"])
        )
