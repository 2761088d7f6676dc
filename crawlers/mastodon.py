"""Mastodon statuses -> posts: pure functions over the REST API's JSON, no I/O.

Status ids are per instance (the same status has a different id on every instance that
knows it), so a post's ``external_id`` is the status ``uri``, its ActivityPub id: the
same on every instance, so a status found through two instances is stored once. The
numeric ids are still what paging and cursors use, per instance.

A boost is a wrapper status with empty content and the original under ``reblog``: the
original becomes the post (stored once, however many boosts are seen) and the wrapper an
amplification by the booster.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from crawlers.feeds import parse_date, to_count
from crawlers.spiders.api import ParsedPage
from crawlers.text import detect_language, html_to_text
from storage.posts import NewAmplification, NewPost

PLATFORM = "mastodon"

_LINK_PART = re.compile(r'<([^>]*)>\s*;\s*rel="?([^";]+)"?')
_ANCHOR = re.compile(r"<a\s[^>]*>", re.IGNORECASE)
_HREF = re.compile(r"""\shref\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)""", re.IGNORECASE)
_MENTION_CLASS = re.compile(r"""class\s*=\s*["'][^"']*\b(mention|hashtag)\b""", re.IGNORECASE)
_SPAN_TAG = re.compile(r"</?span\b[^>]*>", re.IGNORECASE)


class MalformedStatus(ValueError):
    """A status entry without what a post needs; the message says what is missing."""


@dataclass
class StatusPage(ParsedPage):
    """A parsed page of statuses plus what paging needs."""

    # Timeline ids of every entry on the page (boost wrappers included), in page order:
    # the cursor and ``max_id`` / ``min_id`` are these.
    ids: list[str] = field(default_factory=list)
    # Some entry was older than ``not_before``: paging further back is pointless.
    reached_older: bool = False


def link_params(header: str | None) -> dict[str, dict[str, str]]:
    """The query parameters of each ``rel`` in a Link header:
    ``{"next": {"max_id": "1"}, "prev": {"min_id": "9"}}``."""
    links: dict[str, dict[str, str]] = {}
    for url, rel in _LINK_PART.findall(header or ""):
        query = parse_qs(urlsplit(url).query)
        links[rel.strip()] = {key: values[-1] for key, values in query.items() if values}
    return links


def account_name(account: Mapping[str, Any], host: str) -> str | None:
    """``user@domain``: local accounts' ``acct`` lacks the domain, remote ones have it."""
    acct = account.get("acct") or account.get("username")
    if not isinstance(acct, str) or not acct:
        return None
    return acct if "@" in acct else f"{acct}@{host}"


def status_external_id(status: Mapping[str, Any], host: str) -> str | None:
    """The status ``uri`` (global); ``host:id`` when an instance leaves it out."""
    uri = status.get("uri")
    if isinstance(uri, str) and uri:
        return uri
    status_id = status.get("id")
    return f"{host}:{status_id}" if status_id not in (None, "") else None


def _drop_mention_links(html: str) -> str:
    """Mention and hashtag links only repeat the @name / #tag they show: drop their
    targets so the text says "@kim" instead of "@kim (https://host/@kim)"."""

    def strip(match: re.Match[str]) -> str:
        tag = match.group(0)
        return _HREF.sub("", tag) if _MENTION_CLASS.search(tag) else tag

    return _ANCHOR.sub(strip, html)


def status_text(content: str) -> str:
    """Plain text of a status' HTML. Mastodon splits names and links into spans
    (``@<span>kim</span>``, URLs into visible and invisible parts); unwrapping them keeps
    each word and URL whole."""
    return html_to_text(_SPAN_TAG.sub("", _drop_mention_links(content)))


def parse_status(status: Mapping[str, Any], host: str, source: str) -> NewPost:
    """One (non-boost) status as a post; :class:`MalformedStatus` when it cannot be one."""
    external_id = status_external_id(status, host)
    if external_id is None:
        raise MalformedStatus("no uri and no id")
    content = status.get("content")
    if not isinstance(content, str):
        raise MalformedStatus("no content")
    account = status.get("account")
    if not isinstance(account, Mapping):
        raise MalformedStatus("no account")
    text = status_text(content)
    spoiler = status.get("spoiler_text")
    title = html_to_text(spoiler) if isinstance(spoiler, str) and spoiler.strip() else None
    hint = status.get("language")
    url = status.get("url") or status.get("uri")
    return NewPost(
        source=source,
        platform=PLATFORM,
        external_id=external_id,
        text=text,
        url=url if isinstance(url, str) else None,
        author=account_name(account, host),
        author_followers=to_count(account.get("followers_count")),
        title=title,
        language=detect_language(f"{title or ''} {text}", hint if isinstance(hint, str) else None),
        published_at=parse_date(status.get("created_at")),
        likes=to_count(status.get("favourites_count")),
        reposts=to_count(status.get("reblogs_count")),
        replies=to_count(status.get("replies_count")),
    )


def _is_gone(entry: Mapping[str, Any]) -> bool:
    """A not-found answer (``{"error": "Not Found"}``), a status marked deleted, or a
    boost whose original is gone (an ``/activity`` wrapper with nothing under ``reblog``)."""
    if "error" in entry and "id" not in entry:
        return True
    if entry.get("deleted_at"):
        return True
    uri = entry.get("uri")
    return (
        entry.get("reblog") is None
        and not entry.get("content")
        and isinstance(uri, str)
        and uri.endswith("/activity")
    )


def parse_statuses(
    entries: Any,
    host: str,
    source: str,
    not_before: datetime | None = None,
    where: str = "",
) -> StatusPage:
    """A timeline or search result page -> posts, boosts as amplifications.

    Entries created before ``not_before`` are left out (and flagged). A malformed entry
    is one error naming the instance, the entry and what is wrong; the rest is kept.
    """
    page = StatusPage()
    where = where or host
    if not isinstance(entries, list):
        page.errors.append(f"mastodon: expected a list of statuses from {where}")
        return page
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            page.errors.append(f"mastodon: entry #{index} from {where} is not a status object")
            continue
        entry_id = entry.get("id")
        label = f"status {entry_id}" if entry_id else f"entry #{index}"
        if _is_gone(entry):
            page.deleted.append(str(entry_id or f"#{index}"))
            continue
        if entry_id not in (None, ""):
            page.ids.append(str(entry_id))
        created = parse_date(entry.get("created_at"))
        if not_before is not None and created is not None and created < not_before:
            page.reached_older = True
            continue
        reblog = entry.get("reblog")
        try:
            if isinstance(reblog, Mapping):
                post = parse_status(reblog, host, source)
                amplification = _boost(entry, post, host, source)
                page.amplifications.append(amplification)
            else:
                post = parse_status(entry, host, source)
        except MalformedStatus as exc:
            page.errors.append(f"mastodon: {label} from {where}: {exc}")
            continue
        if post.external_id not in seen:
            seen.add(post.external_id)
            page.posts.append(post)
    return page


def _boost(
    wrapper: Mapping[str, Any], original: NewPost, host: str, source: str
) -> NewAmplification:
    booster = wrapper.get("account")
    if not isinstance(booster, Mapping) or account_name(booster, host) is None:
        raise MalformedStatus("a boost without the booster's account")
    external_id = status_external_id(wrapper, host)
    if external_id is None:
        raise MalformedStatus("a boost without uri or id")
    return NewAmplification(
        source=source,
        original_external_id=original.external_id,
        external_id=external_id,
        amplifier=account_name(booster, host) or "",
        amplifier_followers=to_count(booster.get("followers_count")),
        amplified_at=parse_date(wrapper.get("created_at")),
    )
