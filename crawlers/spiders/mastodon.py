"""MastodonSpider: hashtag timelines and status search on each configured instance.

Streams, each with its own cursor (the newest numeric status id seen on that instance):

- ``tag:<tag>@<host>`` (watch ``*``): ``/api/v1/timelines/tag/<tag>``;
- ``search:<term>@<host>`` per watch search term: ``/api/v2/search?type=statuses``.

First run (no cursor): the newest page, then older pages (``max_id`` from the Link
header's ``rel="next"``, or the page's oldest id for search, which sends no Link) up to
``max_pages``, stopping at statuses older than ``first_run_days``.

Incremental run: timelines send ``min_id=<cursor>`` (the page just after the cursor)
and walk ``rel="prev"`` to newer pages until one is empty, so nothing between the cursor
and now is skipped even when there is more than one page of it. Search answers
``min_id`` with the newest matches above it, so it keeps ``min_id`` and walks down with
``max_id`` until an empty page.

The access token (read from the variable ``access_token_env`` names) goes only to the
first instance: a token belongs to one instance, and sending it to others would leak it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import scrapy
from scrapy.http import Response

from crawlers.config import MastodonSource
from crawlers.mastodon import PLATFORM, link_params, parse_statuses
from crawlers.query import phrase_for_search
from crawlers.spiders.api import ALL_WATCHES, ApiSpider, Stream, cursor_order
from storage.types import utcnow

PAGE_SIZE = 40  # the API's maximum for timelines and search
OLDER = "older"
NEWER = "newer"


@dataclass(frozen=True)
class Endpoint:
    """One stream's URL on one instance, and the parameters every page of it sends."""

    kind: str  # "tag" or "search"
    url: str
    host: str
    params: tuple[tuple[str, str], ...]


def next_paging(
    response: Response,
    ids: list[str],
    direction: str,
    paging: dict[str, str],
    cursor: str | None,
    full_page: bool = True,
) -> dict[str, str] | None:
    """``min_id`` / ``max_id`` of the next page (the Link header's when it has one), or
    None when it would not move past this page (a server that ignores the parameter), or
    when a server that sends no Link header gave a short page (the last one)."""
    links = link_params((response.headers.get("Link") or b"").decode("latin-1"))
    if not links and not full_page:
        return None
    numeric = sorted((i for i in ids if i.isdigit()), key=int) or ids
    if direction == NEWER:
        min_id = links.get("prev", {}).get("min_id") or numeric[-1]
        current = paging.get("min_id")
        if current is not None and cursor_order(min_id) <= cursor_order(current):
            return None
        return {"min_id": min_id}
    max_id = links.get("next", {}).get("max_id") or numeric[0]
    current = paging.get("max_id")
    if current is not None and cursor_order(max_id) >= cursor_order(current):
        return None
    return ({"min_id": cursor} if cursor else {}) | {"max_id": max_id}


class MastodonSpider(ApiSpider):
    """Pages through tag timelines and status searches; parsing is in crawlers.mastodon."""

    name = "mastodon"
    platform = PLATFORM
    source: MastodonSource

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.first_run_since: datetime = utcnow() - timedelta(days=self.source.first_run_days)
        instances = [instance.rstrip("/") for instance in self.source.instances]
        self.instances = instances
        self.token_host = urlsplit(instances[0]).netloc if instances else ""
        env = self.source.access_token_env
        self.token = (os.environ.get(env) or "").strip() if env else ""

    async def start(self) -> AsyncIterator[Any]:
        for base in self.instances:
            host = urlsplit(base).netloc
            for tag in self.source.hashtags:
                endpoint = Endpoint(
                    "tag",
                    f"{base}/api/v1/timelines/tag/{quote(tag, safe='')}",
                    host,
                    (("limit", str(PAGE_SIZE)),),
                )
                yield self.first_request(endpoint, Stream(ALL_WATCHES, f"tag:{tag}@{host}"))
            for stream, term in self.streams_for_watches("search"):
                endpoint = Endpoint(
                    "search",
                    f"{base}/api/v2/search",
                    host,
                    (
                        ("q", phrase_for_search(term)),
                        ("type", "statuses"),
                        ("limit", str(PAGE_SIZE)),
                    ),
                )
                yield self.first_request(endpoint, Stream(stream.watch, f"{stream.key}@{host}"))

    # -- requests ------------------------------------------------------------------------

    def first_request(self, endpoint: Endpoint, stream: Stream) -> scrapy.Request:
        cursor = self.cursor(stream)
        if cursor is None:
            return self.page_request(endpoint, stream, {}, OLDER, 1)
        # Timelines walk up from the cursor; search walks down to it (see module doc).
        direction = NEWER if endpoint.kind == "tag" else OLDER
        return self.page_request(endpoint, stream, {"min_id": cursor}, direction, 1)

    def page_request(
        self,
        endpoint: Endpoint,
        stream: Stream,
        paging: dict[str, str],
        direction: str,
        page_number: int,
    ) -> scrapy.Request:
        request = self.api_request(
            endpoint.url,
            self.parse_page,
            stream,
            params=dict(endpoint.params) | paging,
            cb_kwargs={
                "endpoint": endpoint,
                "paging": paging,
                "direction": direction,
                "page_number": page_number,
            },
        )
        if self.token and endpoint.host == self.token_host:
            request.headers["Authorization"] = f"Bearer {self.token}"
        return request

    # -- responses -----------------------------------------------------------------------

    def parse_page(
        self,
        response: Response,
        stream: Stream,
        endpoint: Endpoint,
        paging: dict[str, str],
        direction: str,
        page_number: int,
    ) -> Iterator[Any]:
        data = self.read_json(response, stream)
        if data is None:
            return
        entries = data.get("statuses") if isinstance(data, dict) else data
        if not isinstance(entries, list):
            self.fail_stream(
                stream,
                f"expected {'search results' if endpoint.kind == 'search' else 'a list'} "
                f"of statuses from {response.url}, got {type(data).__name__}",
            )
            return
        cursor = self.cursor(stream)
        page = parse_statuses(
            entries,
            endpoint.host,
            self.source.name,
            not_before=None if cursor else self.first_run_since,
            where=response.url,
        )
        for status_id in page.ids:
            self.propose_cursor(stream, status_id)
        yield from self.emit(page)
        if not page.ids or page.reached_older or page_number >= self.source.max_pages:
            return
        full_page = len(entries) >= PAGE_SIZE
        following = next_paging(response, page.ids, direction, paging, cursor, full_page)
        if following is not None:
            yield self.page_request(endpoint, stream, following, direction, page_number + 1)

    def auth_hint(self, url: str) -> str:
        """What to do about the token for the instance at ``url``."""
        host = urlsplit(url).netloc
        env = self.source.access_token_env
        if self.token and host == self.token_host:
            return (
                f"{host} refused the access token in ${env}: check that it is valid "
                "and has the read:statuses scope"
            )
        if env and host == self.token_host:
            return (
                f"{host} needs an access token and ${env} is empty: put a token "
                "(scope read:statuses) in that environment variable"
            )
        if host != self.token_host:
            return (
                f"{host} needs an access token, and the token in access_token_env is only "
                "sent to the first instance: list this one first or in a source of its own"
            )
        return (
            f"{host} needs an access token: create one with the read:statuses scope "
            "(Preferences > Development on the instance), put it in an environment "
            "variable and name that variable in the source's access_token_env"
        )
