"""Bluesky (AT Protocol AppView) posts -> posts: pure functions over the XRPC JSON.

A post's ``external_id`` is its ``at://`` uri (global and permanent); its ``url`` is the
bsky.app page. Post views carry no follower counts: a page records which authors (DIDs)
it needs, the spider looks them up (``app.bsky.actor.getProfiles``) and
:func:`apply_followers` fills them in before the posts are yielded.

Times: searchPosts' ``since`` filters on a post's ``sortAt``, the earlier of
``createdAt`` (the client's clock) and ``indexedAt`` (the AppView's), so cursors are kept
in those terms; a repost in an author feed is placed at the repost's ``indexedAt``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crawlers.feeds import parse_date, to_count
from crawlers.spiders.api import ParsedPage
from crawlers.text import detect_language
from storage.posts import NewAmplification, NewPost

PLATFORM = "bluesky"
WEB_URL = "https://bsky.app"
REPOST = "app.bsky.feed.defs#reasonRepost"
LINK_FEATURE = "app.bsky.richtext.facet#link"
GONE_TYPES = frozenset({"app.bsky.feed.defs#notFoundPost", "app.bsky.feed.defs#blockedPost"})


class MalformedPost(ValueError):
    """A post view without what a post needs; the message says what is missing."""


@dataclass
class BlueskyPage(ParsedPage):
    """A parsed page plus what the spider needs for follower lookups and paging."""

    # DID of each post's author and each amplification's amplifier, by external_id.
    author_dids: dict[str, str] = field(default_factory=dict)
    amplifier_dids: dict[str, str] = field(default_factory=dict)
    # The newest item time on the page (the stream's cursor candidate).
    newest: datetime | None = None
    # Some item was older than ``not_before``: paging further back is pointless.
    reached_older: bool = False
    entries: int = 0  # items on the page, read or not

    @property
    def dids(self) -> set[str]:
        return set(self.author_dids.values()) | set(self.amplifier_dids.values())


def iso_time(moment: datetime) -> str:
    """``2025-05-19T17:10:09.813Z``: fixed width, so cursors also compare as text."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def sort_at(view: Mapping[str, Any]) -> datetime | None:
    """When searchPosts files a post: the earlier of createdAt and indexedAt."""
    record = view.get("record")
    created = parse_date(record.get("createdAt")) if isinstance(record, Mapping) else None
    indexed = parse_date(view.get("indexedAt"))
    times = [moment for moment in (created, indexed) if moment is not None]
    return min(times) if times else None


def expand_links(text: str, facets: Any) -> str:
    """``text`` with link facets spelled out: Bluesky shows "osf.io/v87f…" and keeps the
    target in a facet (UTF-8 byte offsets); the target matters, so it is kept as
    ``label (uri)`` like links in HTML. Broken facets are ignored."""
    if not isinstance(facets, list) or not text:
        return text
    raw = text.encode("utf-8")
    spans: list[tuple[int, int, str]] = []
    for facet in facets:
        if not isinstance(facet, Mapping) or not isinstance(facet.get("index"), Mapping):
            continue
        start, end = facet["index"].get("byteStart"), facet["index"].get("byteEnd")
        uris = [
            feature.get("uri")
            for feature in facet.get("features") or []
            if isinstance(feature, Mapping) and feature.get("$type") == LINK_FEATURE
        ]
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(raw)):
            continue
        if uris and isinstance(uris[0], str):
            spans.append((start, end, uris[0]))
    for start, end, uri in sorted(spans, reverse=True):
        label = raw[start:end].decode("utf-8", "replace")
        if label != uri and uri.startswith(("http://", "https://")):
            raw = raw[:end] + f" ({uri})".encode() + raw[end:]
    return raw.decode("utf-8", "replace")


def post_url(uri: str, handle: str | None, did: str) -> str | None:
    """``https://bsky.app/profile/<handle>/post/<rkey>`` for an ``at://`` post uri."""
    parts = uri.removeprefix("at://").split("/")
    if len(parts) != 3 or parts[1] != "app.bsky.feed.post":
        return None
    actor = handle if handle and handle != "handle.invalid" else did
    return f"{WEB_URL}/profile/{actor}/post/{parts[2]}"


def is_gone(view: Mapping[str, Any]) -> bool:
    """A ``notFoundPost`` / ``blockedPost`` stand-in instead of a post view."""
    return (
        view.get("$type") in GONE_TYPES
        or view.get("notFound") is True
        or view.get("blocked") is True
    )


def parse_post_view(view: Mapping[str, Any], source: str) -> tuple[NewPost, str]:
    """One ``postView`` as a post, with its author's DID; :class:`MalformedPost` when it
    cannot be one."""
    uri = view.get("uri")
    if not isinstance(uri, str) or not uri:
        raise MalformedPost("no uri")
    author = view.get("author")
    if not isinstance(author, Mapping) or not isinstance(author.get("did"), str):
        raise MalformedPost("no author DID")
    record = view.get("record")
    if not isinstance(record, Mapping):
        raise MalformedPost("no record")
    text = record.get("text")
    if text is not None and not isinstance(text, str):
        raise MalformedPost("record.text is not text")
    text = expand_links(text or "", record.get("facets"))
    langs = record.get("langs")
    hint = langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None
    did = author["did"]
    handle = author.get("handle") if isinstance(author.get("handle"), str) else None
    post = NewPost(
        source=source,
        platform=PLATFORM,
        external_id=uri,
        text=text,
        url=post_url(uri, handle, did),
        author=handle or did,
        language=detect_language(text, hint),
        published_at=parse_date(record.get("createdAt")) or parse_date(view.get("indexedAt")),
        likes=to_count(view.get("likeCount")),
        reposts=to_count(view.get("repostCount")),
        replies=to_count(view.get("replyCount")),
    )
    return post, did


def _label(view: Any, index: int) -> str:
    uri = view.get("uri") if isinstance(view, Mapping) else None
    return str(uri) if uri else f"entry #{index}"


def _add(page: BlueskyPage, post: NewPost, did: str) -> None:
    if post.external_id not in page.author_dids:
        page.posts.append(post)
        page.author_dids[post.external_id] = did


def _note_time(page: BlueskyPage, moment: datetime | None, not_before: datetime | None) -> bool:
    """Track the newest time; False when ``moment`` is before the window."""
    if moment is None:
        return True
    if page.newest is None or moment > page.newest:
        page.newest = moment
    if not_before is not None and moment < not_before:
        page.reached_older = True
        return False
    return True


def parse_search_page(
    data: Any, source: str, not_before: datetime | None = None, where: str = ""
) -> BlueskyPage:
    """An ``app.bsky.feed.searchPosts`` answer -> posts (those before ``not_before`` left
    out); not-found posts counted as deleted, malformed ones named in errors."""
    page = BlueskyPage()
    posts = data.get("posts") if isinstance(data, Mapping) else None
    if not isinstance(posts, list):
        page.errors.append(f"bluesky: no posts list in the search answer from {where}")
        return page
    page.entries = len(posts)
    for index, view in enumerate(posts):
        if not isinstance(view, Mapping):
            page.errors.append(f"bluesky: entry #{index} from {where} is not a post view")
            continue
        if is_gone(view):
            page.deleted.append(_label(view, index))
            continue
        if not _note_time(page, sort_at(view), not_before):
            continue
        try:
            post, did = parse_post_view(view, source)
        except MalformedPost as exc:
            page.errors.append(f"bluesky: post {_label(view, index)} from {where}: {exc}")
            continue
        _add(page, post, did)
    return page


def parse_feed_page(
    data: Any, source: str, not_before: datetime | None = None, where: str = ""
) -> BlueskyPage:
    """An ``app.bsky.feed.getAuthorFeed`` answer -> posts and reposts.

    A repost (``reason`` of type reasonRepost) stores the original once and adds an
    amplification by ``reason.by``; reply context (parents, roots, possibly
    ``notFoundPost``) is not a crawled post and is ignored.
    """
    page = BlueskyPage()
    feed = data.get("feed") if isinstance(data, Mapping) else None
    if not isinstance(feed, list):
        page.errors.append(f"bluesky: no feed list in the author feed from {where}")
        return page
    page.entries = len(feed)
    for index, item in enumerate(feed):
        view = item.get("post") if isinstance(item, Mapping) else None
        if not isinstance(view, Mapping):
            page.errors.append(f"bluesky: feed item #{index} from {where} has no post")
            continue
        if is_gone(view):
            page.deleted.append(_label(view, index))
            continue
        reason = item.get("reason")
        repost = isinstance(reason, Mapping) and reason.get("$type") == REPOST
        moment = parse_date(reason.get("indexedAt")) if repost else sort_at(view)
        if not _note_time(page, moment, not_before):
            continue
        try:
            post, did = parse_post_view(view, source)
            amplification = _repost(reason, post, source) if repost else None
        except MalformedPost as exc:
            page.errors.append(f"bluesky: post {_label(view, index)} from {where}: {exc}")
            continue
        _add(page, post, did)
        if amplification is not None:
            page.amplifications.append(amplification[0])
            page.amplifier_dids[amplification[0].external_id] = amplification[1]
    return page


def _repost(reason: Any, original: NewPost, source: str) -> tuple[NewAmplification, str]:
    by = reason.get("by")
    if not isinstance(by, Mapping) or not isinstance(by.get("did"), str):
        raise MalformedPost("a repost without reason.by.did")
    did = by["did"]
    handle = by.get("handle") if isinstance(by.get("handle"), str) else None
    # Newer AppViews give the repost record's own uri; older ones only who reposted.
    repost_uri = reason.get("uri")
    external_id = repost_uri if isinstance(repost_uri, str) else f"{original.external_id}#by:{did}"
    amplification = NewAmplification(
        source=source,
        original_external_id=original.external_id,
        external_id=external_id,
        amplifier=handle or did,
        amplified_at=parse_date(reason.get("indexedAt")),
    )
    return amplification, did


def parse_profiles(data: Any) -> dict[str, int | None] | None:
    """``app.bsky.actor.getProfiles`` -> followers by DID; None when it is not that."""
    profiles = data.get("profiles") if isinstance(data, Mapping) else None
    if not isinstance(profiles, list):
        return None
    return {
        profile["did"]: to_count(profile.get("followersCount"))
        for profile in profiles
        if isinstance(profile, Mapping) and isinstance(profile.get("did"), str)
    }


def apply_followers(page: BlueskyPage, followers: Mapping[str, int | None]) -> None:
    """Fill in authors' and amplifiers' follower counts from ``followers`` (by DID)."""
    for post in page.posts:
        did = page.author_dids.get(post.external_id)
        if did is not None and followers.get(did) is not None:
            post.author_followers = followers[did]
    for amplification in page.amplifications:
        did = page.amplifier_dids.get(amplification.external_id)
        if did is not None and followers.get(did) is not None:
            amplification.amplifier_followers = followers[did]
