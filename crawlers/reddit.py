"""Reddit listing JSON (``/search.json``, ``/r/<sub>/new.json``) -> posts: pure, no network.

A listing holds submissions (``t3``) and, from other endpoints, comments (``t1``). Reach:
``score`` -> likes, ``num_comments`` -> replies, ``num_crossposts`` -> reposts. Reddit
gives no follower counts for authors (``subreddit_subscribers`` is the audience of a
subreddit, not of the author), so ``author_followers`` stays unknown.

A crosspost is a wrapper around another submission (``crosspost_parent_list``): the
original is the post, stored once; the crosspost records who carried it further.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crawlers.feeds import to_count
from crawlers.spiders.api import ParsedPage
from crawlers.text import detect_language, normalise_whitespace
from storage.posts import NewAmplification, NewPost

PLATFORM = "reddit"
SUBMISSION = "t3"
COMMENT = "t1"
# What Reddit puts in place of the text (and the author) of deleted or removed things.
GONE_MARKERS = frozenset({"[deleted]", "[removed]"})
# Without raw_json=1 Reddit escapes &, < and > in text; undo it if it slipped through.
_ESCAPED = re.compile(r"&(?:amp|lt|gt|quot|#39|#x27);")


class RedditFormatError(ValueError):
    """The body is JSON but not a Reddit listing (an ``{"error": 403}`` body, say)."""


@dataclass
class RedditListing:
    """One listing page: its posts, where the next page starts and the times it spans."""

    page: ParsedPage = field(default_factory=ParsedPage)
    after: str | None = None  # fullname (``t3_...``) to ask the next page ``after``
    newest: float | None = None  # created_utc of the newest entry, deleted ones included
    oldest: float | None = None
    entries: int = 0

    def reaches(self, since: float | None) -> bool:
        """Whether this page went back past ``since`` (older pages are already known)."""
        return since is not None and self.oldest is not None and self.oldest < since


def unescape(text: str) -> str:
    """Text with Reddit's HTML escaping undone, only when the text shows it."""
    return html.unescape(text) if _ESCAPED.search(text) else text


def _author(data: Mapping[str, Any]) -> str | None:
    author = data.get("author")
    if not isinstance(author, str) or not author.strip() or author in GONE_MARKERS:
        return None
    return author


def _created(data: Mapping[str, Any]) -> float | None:
    value = data.get("created_utc")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _permalink_url(data: Mapping[str, Any], kind: str, base_url: str) -> str:
    permalink = data.get("permalink")
    if not isinstance(permalink, str) or not permalink.startswith("/"):
        # Old comment listings carry no permalink; this short form redirects to it.
        link_id = str(data.get("link_id") or "").removeprefix("t3_")
        own = str(data.get("id") or "")
        permalink = f"/comments/{link_id}/_/{own}/" if kind == COMMENT else f"/comments/{own}/"
    return base_url.rstrip("/") + permalink


def _fullname(data: Mapping[str, Any], kind: str) -> str | None:
    name = data.get("name")
    if isinstance(name, str) and name:
        return name
    own = data.get("id")
    return f"{kind}_{own}" if isinstance(own, str) and own else None


def _text(data: Mapping[str, Any], kind: str) -> str:
    if kind == COMMENT:
        return str(data.get("body") or "")
    selftext = str(data.get("selftext") or "")
    if selftext or data.get("is_self", True):
        return selftext
    # A link post says what it is about through its link: keep the target as text.
    return str(data.get("url_overridden_by_dest") or data.get("url") or "")


def parse_thing(
    kind: str, data: Mapping[str, Any], source: str, base_url: str, page: ParsedPage
) -> None:
    """Add one submission or comment to ``page``: a post, a deleted id or an error."""
    fullname = _fullname(data, kind)
    if fullname is None:
        page.errors.append(f"{PLATFORM}: a {kind} entry has no id or name")
        return
    raw_text = _text(data, kind).strip()
    gone_text = raw_text in GONE_MARKERS
    author = _author(data)
    if gone_text and (author is None or kind == COMMENT):
        page.deleted.append(fullname)
        return
    created = _created(data)
    if created is None:
        page.errors.append(f"{PLATFORM}: {fullname} has no readable created_utc")
        return
    title_key = "title" if kind == SUBMISSION else "link_title"
    title = data.get(title_key)
    if kind == SUBMISSION and not isinstance(title, str):
        page.errors.append(f"{PLATFORM}: {fullname} has no title")
        return
    if kind == COMMENT and "body" not in data:
        page.errors.append(f"{PLATFORM}: {fullname} has no body")
        return
    title = normalise_whitespace(unescape(title)) if isinstance(title, str) else None
    text = "" if gone_text else normalise_whitespace(unescape(raw_text))
    page.posts.append(
        NewPost(
            source=source,
            platform=PLATFORM,
            external_id=fullname,
            text=text,
            url=_permalink_url(data, kind, base_url),
            author=author,
            title=title or None,
            language=detect_language(f"{title or ''} {text}".strip()),
            published_at=datetime.fromtimestamp(created, tz=UTC),
            likes=to_count(data.get("score")),
            reposts=to_count(data.get("num_crossposts")),
            replies=to_count(data.get("num_comments")),
            views=to_count(data.get("view_count")),
        )
    )


def _crosspost(
    data: Mapping[str, Any], fullname: str, source: str, base_url: str, page: ParsedPage
) -> None:
    """The original of a crosspost as the post, the crossposter as its amplification."""
    parents = data.get("crosspost_parent_list")
    original = parents[0] if isinstance(parents, list) and parents else None
    if not isinstance(original, Mapping):
        page.errors.append(f"{PLATFORM}: crosspost {fullname} has no readable original")
        return
    before = len(page.posts)
    parse_thing(SUBMISSION, original, source, base_url, page)
    if len(page.posts) == before:
        return  # the original is deleted or unreadable (already counted)
    stored = page.posts[-1]
    amplifier = _author(data)
    created = _created(data)
    if amplifier is None:
        return  # a deleted account: nobody to name, and its reach is unknown anyway
    page.amplifications.append(
        NewAmplification(
            source=source,
            original_external_id=stored.external_id,
            external_id=fullname,
            amplifier=amplifier,
            amplified_at=datetime.fromtimestamp(created, tz=UTC) if created else None,
        )
    )


def _children(data: Any) -> Iterator[Any]:
    """The children of a listing, or of each listing in a list (a comments page)."""
    listings = data if isinstance(data, list) else [data]
    for listing in listings:
        if not isinstance(listing, Mapping) or listing.get("kind") != "Listing":
            raise RedditFormatError(_not_a_listing(listing))
        children = (listing.get("data") or {}).get("children")
        if not isinstance(children, list):
            raise RedditFormatError("a Listing without data.children")
        yield from children


def _not_a_listing(value: Any) -> str:
    if isinstance(value, Mapping) and ("error" in value or "message" in value):
        return f"Reddit answered {value.get('error', '')} {value.get('message', '')}".strip()
    return f"expected a Reddit Listing, got {type(value).__name__}"


def _after(data: Any) -> str | None:
    if isinstance(data, Mapping):
        after = (data.get("data") or {}).get("after")
        return after if isinstance(after, str) and after else None
    return None


def parse_listing(
    data: Any, source: str, base_url: str, since: float | None = None
) -> RedditListing:
    """Posts of one listing body, skipping entries created before ``since`` (Unix time).

    Raises :class:`RedditFormatError` when ``data`` is not a listing at all; a bad entry
    only adds an error to the page.
    """
    result = RedditListing(after=_after(data))
    page = result.page
    for index, child in enumerate(_children(data)):
        result.entries += 1
        if not isinstance(child, Mapping) or not isinstance(child.get("data"), Mapping):
            page.errors.append(f"{PLATFORM}: listing entry #{index} has no data")
            continue
        kind, thing = child.get("kind"), child["data"]
        if kind not in (SUBMISSION, COMMENT):
            continue  # "more" stubs, subreddits, users: not posts
        created = _created(thing)
        if created is not None:
            result.newest = created if result.newest is None else max(result.newest, created)
            result.oldest = created if result.oldest is None else min(result.oldest, created)
            if since is not None and created < since:
                continue
        fullname = _fullname(thing, kind)
        if kind == SUBMISSION and fullname and thing.get("crosspost_parent_list"):
            _crosspost(thing, fullname, source, base_url, page)
        else:
            parse_thing(kind, thing, source, base_url, page)
    return result
