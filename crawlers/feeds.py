"""Turning a feed body (RSS, Atom or JSON Feed) into PostItems: pure, no network.

Reach numbers come from uproar's extension namespace ``https://uproar.dev/ns/reach``
(``reach:followers``, ``reach:likes``, ``reach:reposts``, ``reach:replies``,
``reach:views``, ``reach:region``), or ``slash:comments`` for replies; in JSON Feed from
an item extension object ``"_reach": {"followers": ..., ...}``.
"""

from __future__ import annotations

import calendar
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import feedparser
from dateutil import parser as date_parser

from crawlers.items import PostItem
from crawlers.text import detect_language, html_to_text, normalise_whitespace

PLATFORM = "feed"
REACH_NAMESPACE = "https://uproar.dev/ns/reach"
_COUNT_FIELDS = {
    "followers": "author_followers",
    "likes": "likes",
    "reposts": "reposts",
    "replies": "replies",
    "views": "views",
}
_JSON_CONTENT_TYPES = ("application/feed+json", "application/json")


@dataclass
class ParseResult:
    """Items parsed from one body, and what went wrong (each message names the URL)."""

    items: list[PostItem] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def to_count(value: Any) -> int | None:
    """A non-negative count from ``"1,200"``, ``1200`` or ``"1200.0"``; junk -> None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value) if value >= 0 else None
    text = re.sub(r"[,_\s]", "", str(value))
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number >= 0 and number == number else None


def parse_date(value: Any) -> datetime | None:
    """A tz-aware UTC datetime from a struct_time (feedparser, UTC) or a date string.

    Naive strings are taken as UTC; anything unparseable gives None, never an exception.
    """
    if value is None or value == "":
        return None
    try:
        if isinstance(value, time.struct_time):
            return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
        parsed = date_parser.parse(str(value))
    except (ValueError, OverflowError, TypeError):
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def looks_like_json(body: bytes, content_type: str | None) -> bool:
    if content_type and any(kind in content_type.lower() for kind in _JSON_CONTENT_TYPES):
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def parse_feed(body: bytes, url: str, source: str, content_type: str | None = None) -> ParseResult:
    """Every entry of the feed at ``url`` as a PostItem; bad entries are skipped and named."""
    if looks_like_json(body, content_type):
        return parse_json_feed(body, url, source)
    return parse_xml_feed(body, url, source, content_type)


# --- RSS / Atom -----------------------------------------------------------------------


def _reach_prefix(namespaces: Mapping[str, str]) -> str:
    for prefix, uri in namespaces.items():
        if uri.rstrip("/") == REACH_NAMESPACE:
            return prefix
    return "reach"


def _entry_text(entry: Mapping[str, Any]) -> str:
    """Full content when the feed has it, else the summary; HTML becomes text."""
    for content in entry.get("content") or []:
        value = content.get("value") or ""
        text = _detail_to_text(value, content.get("type"))
        if text:
            return text
    summary = entry.get("summary_detail") or {}
    return _detail_to_text(entry.get("summary") or "", summary.get("type"))


def _detail_to_text(value: str, content_type: str | None) -> str:
    if content_type == "text/plain":
        return normalise_whitespace(value)
    return html_to_text(value)


def _entry_language(entry: Mapping[str, Any], feed_language: str | None) -> str | None:
    for key in ("content", "summary_detail", "title_detail"):
        detail = entry.get(key)
        if isinstance(detail, list):
            detail = detail[0] if detail else None
        if isinstance(detail, Mapping) and detail.get("language"):
            return str(detail["language"])
    return feed_language


REDIRECT_HOSTS = ("www.google.com", "google.com")


def unwrap_redirect(link: str) -> str:
    """The article behind a Google redirect (``google.com/url?url=…``, as Google Alerts
    feeds link every entry), so responders open the post, not the redirector."""
    parts = urlsplit(link)
    if parts.hostname in REDIRECT_HOSTS and parts.path == "/url":
        query = parse_qs(parts.query)
        for key in ("url", "q"):
            target = (query.get(key) or [""])[0]
            if target.startswith(("http://", "https://")):
                return target
    return link


def _xml_entry(
    entry: Mapping[str, Any], url: str, source: str, prefix: str, feed_language: str | None
) -> PostItem:
    link = entry.get("link")
    link = unwrap_redirect(urljoin(url, link)) if link else None
    external_id = entry.get("id") or link
    if not external_id:
        raise ValueError("entry has neither an id/guid nor a link")
    title = html_to_text(entry.get("title")) or None
    text = _entry_text(entry) or title or ""
    if not text:
        raise ValueError(f"entry {external_id} has no title and no text")
    published = parse_date(entry.get("published_parsed") or entry.get("updated_parsed"))
    if published is None:
        published = parse_date(entry.get("published") or entry.get("updated"))
    counts = {
        target: to_count(entry.get(f"{prefix}_{name}")) for name, target in _COUNT_FIELDS.items()
    }
    if counts["replies"] is None:
        counts["replies"] = to_count(entry.get("slash_comments"))
    language_hint = _entry_language(entry, feed_language)
    region = entry.get(f"{prefix}_region")
    return PostItem(
        source=source,
        platform=PLATFORM,
        external_id=str(external_id),
        url=link,
        author=normalise_whitespace(entry.get("author") or "") or None,
        title=title,
        text=text,
        published_at=published,
        language=detect_language(f"{title or ''} {text}", language_hint),
        region=normalise_whitespace(str(region)) or None if region else None,
        author_followers=counts["author_followers"],
        likes=counts["likes"],
        reposts=counts["reposts"],
        replies=counts["replies"],
        views=counts["views"],
    )


def parse_xml_feed(
    body: bytes, url: str, source: str, content_type: str | None = None
) -> ParseResult:
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(body, response_headers=headers)
    result = ParseResult()
    if not parsed.entries and not parsed.get("version"):
        reason = parsed.get("bozo_exception") or "not RSS or Atom"
        result.errors.append(f"could not parse feed from {url}: {reason}")
        return result
    prefix = _reach_prefix(parsed.get("namespaces") or {})
    feed_language = parsed.feed.get("language")
    for index, entry in enumerate(parsed.entries):
        try:
            result.items.append(_xml_entry(entry, url, source, prefix, feed_language))
        except Exception as exc:  # one bad entry must not cost the others
            result.errors.append(f"skipped malformed entry #{index} in {url}: {exc}")
    return result


# --- JSON Feed 1.x ----------------------------------------------------------------------


def _json_author(item: Mapping[str, Any], feed: Mapping[str, Any]) -> str | None:
    for holder in (item, feed):
        authors = holder.get("authors") or ([holder["author"]] if holder.get("author") else [])
        for author in authors:
            if isinstance(author, Mapping) and author.get("name"):
                return str(author["name"])
            if isinstance(author, str) and author.strip():
                return author.strip()
    return None


def _json_entry(
    item: Mapping[str, Any], feed: Mapping[str, Any], url: str, source: str
) -> PostItem:
    if not isinstance(item, Mapping):
        raise ValueError(f"item is a {type(item).__name__}, not an object")
    link = item.get("url") or item.get("external_url")
    link = urljoin(url, str(link)) if link else None
    external_id = item.get("id") or link
    if external_id in (None, ""):
        raise ValueError("item has neither an id nor a url")
    title = html_to_text(item.get("title")) or None
    if item.get("content_html"):
        text = html_to_text(str(item["content_html"]))
    else:
        text = normalise_whitespace(str(item.get("content_text") or item.get("summary") or ""))
    text = text or title or ""
    if not text:
        raise ValueError(f"item {external_id} has no title and no content")
    raw_reach = item.get("_reach")
    reach: Mapping[str, Any] = raw_reach if isinstance(raw_reach, Mapping) else {}
    counts = {target: to_count(reach.get(name)) for name, target in _COUNT_FIELDS.items()}
    hint = item.get("language") or feed.get("language")
    region = reach.get("region")
    return PostItem(
        source=source,
        platform=PLATFORM,
        external_id=str(external_id),
        url=link,
        author=_json_author(item, feed),
        title=title,
        text=text,
        published_at=parse_date(item.get("date_published") or item.get("date_modified")),
        language=detect_language(f"{title or ''} {text}", str(hint) if hint else None),
        region=str(region) if region else None,
        author_followers=counts["author_followers"],
        likes=counts["likes"],
        reposts=counts["reposts"],
        replies=counts["replies"],
        views=counts["views"],
    )


def parse_json_feed(body: bytes, url: str, source: str) -> ParseResult:
    result = ParseResult()
    try:
        feed = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        result.errors.append(f"could not parse JSON Feed from {url}: {exc}")
        return result
    if not isinstance(feed, dict) or not isinstance(feed.get("items"), list):
        result.errors.append(f'could not parse JSON Feed from {url}: no "items" list')
        return result
    for index, item in enumerate(feed["items"]):
        try:
            result.items.append(_json_entry(item, feed, url, source))
        except Exception as exc:
            result.errors.append(f"skipped malformed item #{index} in {url}: {exc}")
    return result
