"""What every platform API spider shares: JSON requests, cursors, counting and errors.

A platform spider builds requests with :meth:`ApiSpider.api_request`, decodes them with
:meth:`ApiSpider.read_json` (a malformed body or an HTML error page becomes a named
error, not a crash), turns each page into a :class:`ParsedPage` with a pure parser, and
hands it to :meth:`ApiSpider.emit`.

Incremental runs: each stream (a search term of a watch, a hashtag, a subreddit...) has a
cursor in ``crawl_state``. A spider proposes the newest cursor it saw with
:meth:`ApiSpider.propose_cursor`; the proposal is kept only when the stream finished
without a fetch error, so a run cut short re-reads the gap next time instead of skipping
it (storage never stores a post twice).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import scrapy
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure
from w3lib.url import add_or_replace_parameters

from crawlers.job import STAT_DELETED, Cursors
from crawlers.spiders.base import UproarSpider, describe_failure
from storage.posts import NewAmplification, NewPost

ALL_WATCHES = "*"
STREAM_META = "uproar_stream"
SECONDS_PER_DAY = 86_400


@dataclass
class ParsedPage:
    """What a pure platform parser makes of one API response."""

    posts: list[NewPost] = field(default_factory=list)
    amplifications: list[NewAmplification] = field(default_factory=list)
    # Deleted, removed or not-found posts: skipped on purpose, counted, not errors.
    deleted: list[str] = field(default_factory=list)
    # Entries that could not be read; the rest of the page is kept.
    errors: list[str] = field(default_factory=list)


def cursor_order(value: str) -> tuple[int, int | str]:
    """Numeric ids (Mastodon, Weibo) compare as numbers, anything else as text (ISO
    times, Unix times of equal length)."""
    return (0, int(value)) if value.isdigit() else (1, value)


def window_start(
    cursor: str | None, overlap_minutes: float, first_run_days: float, now: float
) -> float:
    """Unix time from which a stream with a Unix-time cursor is read: the cursor minus the
    overlap window, or ``first_run_days`` back when it has no (readable) cursor yet."""
    if cursor and cursor.isdigit():
        return int(cursor) - overlap_minutes * 60
    return now - first_run_days * SECONDS_PER_DAY


@dataclass(frozen=True)
class Stream:
    """One thing a spider pages through: (watch, key), e.g. ("brand", "search:larkspur")."""

    watch: str
    key: str


class ApiSpider(UproarSpider):
    """A spider over a platform's JSON API."""

    platform: str = ""

    def __init__(self, *args: Any, cursors: Cursors | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cursors: Cursors = {watch: dict(keys) for watch, keys in (cursors or {}).items()}
        self._proposed: dict[Stream, str] = {}
        self._failed: set[Stream] = set()

    # -- streams and cursors -------------------------------------------------------------

    def streams_for_watches(self, prefix: str) -> Iterator[tuple[Stream, str]]:
        """(stream, search term) for each search term of each watch this source serves."""
        if not getattr(self.source, "search", False):
            return
        wanted = set(self.source.watches)
        for watch in self.watches:
            if wanted and watch.name not in wanted:
                continue
            for term in watch.platform_search_terms():
                yield Stream(watch.name, f"{prefix}:{term}"), term

    def cursor(self, stream: Stream) -> str | None:
        return self.cursors.get(stream.watch, {}).get(stream.key)

    def propose_cursor(self, stream: Stream, value: str | None) -> None:
        """Remember ``value`` if it is newer than what this run saw so far."""
        if not value:
            return
        current = self._proposed.get(stream)
        if current is None or cursor_order(value) > cursor_order(current):
            self._proposed[stream] = value

    def fail_stream(self, stream: Stream, message: str) -> None:
        """Record ``message`` and keep ``stream``'s old cursor (the gap is re-read)."""
        self._failed.add(stream)
        self.record_error(message)

    def committed_cursors(self) -> Cursors:
        """Cursors after this run: proposals of streams that finished cleanly win."""
        result: Cursors = {watch: dict(keys) for watch, keys in self.cursors.items()}
        for stream, value in self._proposed.items():
            if stream in self._failed:
                continue
            result.setdefault(stream.watch, {})[stream.key] = value
        return result

    # -- requests ------------------------------------------------------------------------

    def request_headers(self) -> dict[str, str]:
        """Headers every request of this spider carries (an access token, say)."""
        return {"Accept": "application/json"}

    def api_request(
        self,
        url: str,
        callback: Callable[..., Any],
        stream: Stream,
        params: Mapping[str, str | int | None] | None = None,
        cb_kwargs: dict[str, Any] | None = None,
    ) -> scrapy.Request:
        if params:
            url = add_or_replace_parameters(
                url, {key: str(value) for key, value in params.items() if value is not None}
            )
        return scrapy.Request(
            url,
            callback=callback,
            errback=self.on_api_error,
            headers=self.request_headers(),
            meta={STREAM_META: stream},
            cb_kwargs={"stream": stream, **(cb_kwargs or {})},
            dont_filter=True,
        )

    def auth_hint(self, url: str) -> str | None:
        """What to do when ``url`` answers 401 / 403 (a token to set, say); None: nothing
        to add to the plain error."""
        return None

    def on_api_error(self, failure: Failure) -> None:
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "<unknown URL>"
        stream = request.meta.get(STREAM_META) if request is not None else None
        message = describe_failure(failure, url)
        value = failure.value
        if isinstance(value, HttpError) and value.response.status in (401, 403):
            hint = self.auth_hint(url)
            if hint:
                message = f"HTTP {value.response.status} from {url}: {hint}"
        if isinstance(stream, Stream):
            self.fail_stream(stream, message)
        else:
            self.record_error(message)

    def read_json(self, response: Response, stream: Stream) -> Any | None:
        """The decoded body, or ``None`` after recording why it is not JSON."""
        content_type = (response.headers.get("Content-Type") or b"").decode("latin-1")
        try:
            return json.loads(response.body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            looks_html = "html" in content_type or response.body.lstrip()[:1] == b"<"
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else exc.reason
            what = "an HTML page" if looks_html else f"malformed JSON ({reason})"
            self.fail_stream(
                stream,
                f"expected JSON from {response.url} (HTTP {response.status}), got {what}",
            )
            return None

    # -- items ---------------------------------------------------------------------------

    def emit(self, page: ParsedPage) -> Iterator[NewPost | NewAmplification]:
        """Count and yield a parsed page's posts and amplifications; record its errors."""
        for error in page.errors:
            self.record_error(error)
        if page.deleted and self.crawler.stats is not None:
            self.crawler.stats.inc_value(STAT_DELETED, len(page.deleted))
        self.count_fetched(len(page.posts))
        yield from page.posts
        yield from page.amplifications
