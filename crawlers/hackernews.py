"""Algolia's Hacker News search JSON (``search_by_date``) -> posts: pure, no network.

A hit is a story (title, optional ``story_text`` HTML, optional link ``url``) or a comment
(``comment_text`` HTML with entities, empty ``title``, ``num_comments`` null). A comment's
``story_title`` becomes its title: it says what the thread is about, and Algolia's own
search matches it too. Hacker News shows no follower counts; ``points`` -> likes and
``num_comments`` -> replies are the reach it gives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crawlers.feeds import parse_date, to_count
from crawlers.spiders.api import ParsedPage
from crawlers.text import detect_language, html_to_text, normalise_whitespace
from storage.posts import NewPost

PLATFORM = "hackernews"
ITEM_URL = "https://news.ycombinator.com/item?id={}"


class AlgoliaFormatError(ValueError):
    """The body is JSON but not an Algolia search answer (no ``hits`` list)."""


@dataclass
class SearchPage:
    """One page of search hits, how many pages there are and the newest time seen."""

    page: ParsedPage = field(default_factory=ParsedPage)
    number: int = 0
    pages: int = 0  # ``nbPages``: Algolia caps it (at 1000 in old answers), never trust more
    hits: int = 0
    newest: int | None = None  # created_at_i of the newest hit, deleted ones included


def tags_filter(tags: list[str]) -> str:
    """Algolia's ``tags`` for any of ``tags``: ``(story,comment)``."""
    return f"({','.join(tags)})"


def _created(hit: Mapping[str, Any]) -> int | None:
    value = hit.get("created_at_i")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    parsed = parse_date(hit.get("created_at"))
    return int(parsed.timestamp()) if parsed is not None else None


def _html(value: Any) -> str:
    return html_to_text(value) if isinstance(value, str) else ""


def _is_comment(hit: Mapping[str, Any]) -> bool:
    tags = hit.get("_tags")
    if isinstance(tags, list):
        return "comment" in tags
    return hit.get("comment_text") is not None


def parse_hit(hit: Any, index: int, source: str, page: ParsedPage) -> int | None:
    """Add one hit to ``page`` (a post, a deleted id or an error); return its time."""
    if not isinstance(hit, Mapping):
        page.errors.append(f"{PLATFORM}: hit #{index} is {type(hit).__name__}, not an object")
        return None
    object_id = hit.get("objectID")
    if not isinstance(object_id, str | int) or isinstance(object_id, bool) or not object_id:
        page.errors.append(f"{PLATFORM}: hit #{index} has no objectID")
        return None
    object_id = str(object_id)
    created = _created(hit)
    comment = _is_comment(hit)
    raw_title = hit.get("title")
    title = normalise_whitespace(raw_title) if isinstance(raw_title, str) else ""
    if comment:
        text = _html(hit.get("comment_text"))
        if not text:  # a deleted or flagged comment keeps nothing but its id
            page.deleted.append(object_id)
            return created
        context = hit.get("story_title")
        title = title or (normalise_whitespace(context) if isinstance(context, str) else "")
    else:
        text = _html(hit.get("story_text"))
        if not title and not text:
            page.deleted.append(object_id)
            return created
        link = hit.get("url")
        text = text or (link.strip() if isinstance(link, str) else "")
    if created is None:
        page.errors.append(f"{PLATFORM}: item {object_id} has no created_at_i or created_at")
        return None
    author = hit.get("author")
    page.posts.append(
        NewPost(
            source=source,
            platform=PLATFORM,
            external_id=object_id,
            text=text,
            url=ITEM_URL.format(object_id),
            author=author if isinstance(author, str) and author else None,
            title=title or None,
            language=detect_language(f"{title} {text}".strip()),
            published_at=datetime.fromtimestamp(created, tz=UTC),
            likes=to_count(hit.get("points")),
            replies=to_count(hit.get("num_comments")),
        )
    )
    return created


def parse_search(data: Any, source: str) -> SearchPage:
    """Posts of one ``search_by_date`` answer; raises :class:`AlgoliaFormatError` when
    ``data`` has no ``hits`` list (a bad hit only adds an error to the page)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("hits"), list):
        message = data.get("message") if isinstance(data, Mapping) else None
        detail = f": {message}" if isinstance(message, str) else ""
        raise AlgoliaFormatError(f"expected an Algolia answer with hits{detail}")
    result = SearchPage(
        number=to_count(data.get("page")) or 0,
        pages=to_count(data.get("nbPages")) or 0,
        hits=len(data["hits"]),
    )
    for index, hit in enumerate(data["hits"]):
        created = parse_hit(hit, index, source, result.page)
        if created is not None:
            result.newest = created if result.newest is None else max(result.newest, created)
    return result
