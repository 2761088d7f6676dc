"""Weibo-style container JSON (``m.weibo.cn/api/container/getIndex``) -> posts: pure, no I/O.

A page is ``{"ok": 1, "data": {"cards": [...], "cardlistInfo": {"page": 2}}}``; cards of
``card_type`` 9 carry an ``mblog``, cards of type 11 nest more cards in ``card_group``.
Weibo shows counts and times the way its app displays them ("100万+", "5分钟前",
"昨天 23:10"), so those are turned back into numbers and UTC times against a ``now`` the
caller passes in.

A retweet stores its original once (a post) plus who retweeted it (an amplification). The
retweeter's own comment is not stored as a post: on Weibo it is usually "转发微博" or a
``//@name:`` chain that does not name the brand, and the complaint is the original.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import lxml.etree
import lxml.html

from crawlers.spiders.api import ParsedPage, cursor_order
from crawlers.text import detect_language, html_to_text
from crawlers.weibo_values import DEFAULT_TIMEZONE, parse_count, parse_created_at
from storage.posts import NewAmplification, NewPost

PLATFORM = "weibo"
CARD_MBLOG = 9
SEARCH_CONTAINER = "100103type=1&q={term}"  # "综合" search as m.weibo.cn sends it
DETAIL_URL = "{base_url}/detail/{id}"
LONG_TEXT_URL = "{base_url}/statuses/extend?id={id}"
MORE_LINK_TEXT = "全文"  # the "read more" link at the end of a truncated long post
# What Weibo puts in place of a post that is gone or hidden from the public.
DELETED_TEXT_PREFIXES = (
    "抱歉，此微博已被",
    "此微博已被",
    "该微博因被多人投诉",
    "抱歉，由于作者设置",
    "抱歉，作者已设置",
    "该账号因被投诉",
)
# Hosts of Weibo's own pages: links to them (topics, @users, the post itself) are navigation,
# not something the author linked to, so only their text is kept.
WEIBO_HOSTS = ("weibo.cn", "weibo.com", "sina.cn")
REGION_PREFIXES = ("发布于", "IP属地：", "IP属地:")

_TAG = re.compile(r"<[^>]*>")


# -- URLs -------------------------------------------------------------------------------


def container_url(base_url: str, container_id: str, page: int, *, search: bool = False) -> str:
    """The getIndex URL of one page of a container, ``containerid`` percent-encoded whole."""
    url = (
        f"{base_url.rstrip('/')}/api/container/getIndex?containerid={quote(container_id, safe='')}"
    )
    if search:
        url += "&page_type=searchall"
    return f"{url}&page={page}"


def search_container(term: str) -> str:
    return SEARCH_CONTAINER.format(term=term)


def long_text_url(base_url: str, status_id: str) -> str:
    return LONG_TEXT_URL.format(base_url=base_url.rstrip("/"), id=quote(status_id, safe=""))


def parse_region(value: Any) -> str | None:
    """``"上海"`` from ``"发布于 上海"`` (or ``"IP属地：上海"``)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    for prefix in REGION_PREFIXES:
        text = text.removeprefix(prefix).strip()
    return text or None


# -- text -------------------------------------------------------------------------------


def _replace_with_text(element: Any, text: str) -> None:
    """Put ``text`` (plus the element's tail) where ``element`` was, then drop it."""
    parent = element.getparent()
    joined = text + (element.tail or "")
    previous = element.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + joined
    else:
        parent.text = (parent.text or "") + joined
    parent.remove(element)


def _is_weibo_link(href: str) -> bool:
    host = (urlsplit(href).hostname or "").lower()
    return not host or any(host == h or host.endswith(f".{h}") for h in WEIBO_HOSTS)


def _link_target(href: str) -> str | None:
    """Where a link really goes: ``weibo.cn/sinaurl?u=<target>`` wraps external links;
    Weibo's own pages (topics, users, the post) are navigation and give ``None``."""
    parts = urlsplit(href)
    if parts.path.rstrip("/").endswith("/sinaurl"):
        target = parse_qs(parts.query).get("u", [""])[0]
        return target if target.startswith(("http://", "https://")) else None
    return None if _is_weibo_link(href) else href


def mblog_text(html: str | None) -> str:
    """Clean text of an mblog's HTML ``text``.

    Emoji images become their names ("[怒]": sentiment needs them), the "全文" link of a
    truncated post goes, links to Weibo's own pages keep only their text (``@name``,
    ``#topic#``), wrapped external links are unwrapped and kept.
    """
    if not html or not html.strip():
        return ""
    if "<" not in html:
        return html_to_text(html)
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return html_to_text(html)
    for image in list(root.iter("img")):
        _replace_with_text(image, image.get("alt") or "")
    for link in list(root.iter("a")):
        if link.text_content().strip() == MORE_LINK_TEXT:
            _replace_with_text(link, "")
            continue
        href = (link.get("href") or "").strip()
        target = _link_target(href) if href else None
        if target is None:
            link.attrib.pop("href", None)
        else:
            link.set("href", target)
    return html_to_text(lxml.html.tostring(root, encoding="unicode"))


# -- mblogs -----------------------------------------------------------------------------


def status_id(mblog: Mapping[str, Any]) -> str | None:
    """The numeric id of an mblog as text (``id`` may be a number or a string)."""
    for key in ("id", "idstr", "mid"):
        value = mblog.get(key)
        if isinstance(value, bool) or value is None:
            continue
        text = str(value).strip()
        if text:
            return text
    return None


def is_deleted(mblog: Mapping[str, Any]) -> bool:
    """A post Weibo no longer shows: flagged ``deleted`` or replaced by a notice."""
    if str(mblog.get("deleted", "")).strip() in {"1", "true", "True"}:
        return True
    text = mblog.get("text")
    if not isinstance(text, str):
        return False
    return _TAG.sub("", text).strip().startswith(DELETED_TEXT_PREFIXES)


def iter_mblogs(cards: Any) -> Iterator[Any]:
    """The mblog of every type-9 card, descending into type-11 card groups."""
    if not isinstance(cards, list):
        return
    for card in cards:
        if not isinstance(card, Mapping):
            continue
        if card.get("card_type") == CARD_MBLOG and "mblog" in card:
            yield card["mblog"]
        elif "card_group" in card:
            yield from iter_mblogs(card["card_group"])


@dataclass(frozen=True)
class WeiboContext:
    """What parsing needs besides the JSON: who asked, for which site, at what time."""

    source: str
    base_url: str
    now: datetime
    timezone: str | tzinfo = DEFAULT_TIMEZONE


def _author(mblog: Mapping[str, Any]) -> tuple[str | None, int | None]:
    user = mblog.get("user")
    if not isinstance(user, Mapping):
        return None, None
    name = user.get("screen_name")
    return (str(name) if name else None), parse_count(user.get("followers_count"))


def mblog_post(mblog: Mapping[str, Any], context: WeiboContext) -> NewPost:
    """The post an mblog is; the caller checked it has an id and is not deleted."""
    sid = status_id(mblog) or ""
    text = mblog_text(mblog.get("text"))
    author, followers = _author(mblog)
    return NewPost(
        source=context.source,
        platform=PLATFORM,
        external_id=sid,
        text=text,
        url=DETAIL_URL.format(base_url=context.base_url.rstrip("/"), id=sid),
        author=author,
        author_followers=followers,
        language=detect_language(text),
        published_at=parse_created_at(mblog.get("created_at"), context.now, context.timezone),
        likes=parse_count(mblog.get("attitudes_count")),
        reposts=parse_count(mblog.get("reposts_count")),
        replies=parse_count(mblog.get("comments_count")),
        region=parse_region(mblog.get("region_name")),
    )


def with_long_text(post: NewPost, html: str) -> NewPost:
    """``post`` with its full text (from ``statuses/extend``), masked and re-detected."""
    text = mblog_text(html)
    return replace(post, text=text, language=detect_language(text))


def long_text_html(payload: Any) -> str | None:
    """``data.longTextContent`` of a ``statuses/extend`` answer, or None."""
    if not isinstance(payload, Mapping) or payload.get("ok") != 1:
        return None
    data = payload.get("data")
    content = data.get("longTextContent") if isinstance(data, Mapping) else None
    return content if isinstance(content, str) and content.strip() else None


@dataclass
class WeiboPage(ParsedPage):
    """A parsed getIndex page and what the spider pages on."""

    ended: bool = False  # ok 0 or no cards: nothing more to page through
    next_page: int | None = None  # cardlistInfo.page when it says
    status_ids: list[str] = field(default_factory=list)  # top-level mblogs, for the cursor
    fresh: int = 0  # top-level mblogs newer than the cursor / inside the first-run window
    long_text: set[str] = field(default_factory=set)  # post ids whose full text to fetch


def _next_page(data: Mapping[str, Any]) -> int | None:
    info = data.get("cardlistInfo")
    value = info.get("page") if isinstance(info, Mapping) else None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def parse_page(
    payload: Any,
    context: WeiboContext,
    *,
    where: str,
    cursor: str | None = None,
    since: datetime | None = None,
) -> WeiboPage:
    """Posts, retweets and deletions on one getIndex page.

    An mblog is *fresh* when its id is above ``cursor`` (an incremental run) or, on a
    first run (``since`` set), when it is not older than ``since``; first-run mblogs older
    than ``since`` are dropped. Full texts are asked for (``long_text``) only for fresh
    mblogs: a known post keeps its stored text anyway. Errors name ``where`` (the URL).
    """
    page = WeiboPage()
    if not isinstance(payload, Mapping):
        page.errors.append(f"weibo: expected a JSON object from {where}")
        page.ended = True
        return page
    data = payload.get("data")
    if payload.get("ok") != 1 or not isinstance(data, Mapping) or not data.get("cards"):
        page.ended = True  # Weibo's "no (more) results": ok 0 or an empty card list
        return page
    page.next_page = _next_page(data)
    reader = _PageReader(context, page, where, cursor, since)
    for number, mblog in enumerate(iter_mblogs(data.get("cards")), start=1):
        reader.read(mblog, number)
    page.posts = list(reader.seen.values())
    return page


@dataclass
class _PageReader:
    """Reads a page's mblogs into ``page``, each post once (``seen``)."""

    context: WeiboContext
    page: WeiboPage
    where: str
    cursor: str | None
    since: datetime | None
    seen: dict[str, NewPost] = field(default_factory=dict)

    def error(self, what: str) -> None:
        self.page.errors.append(f"weibo {what} in {self.where}")

    def read(self, mblog: Any, number: int) -> None:
        if not isinstance(mblog, Mapping):
            self.error(f"mblog #{number} is not an object")
            return
        sid = status_id(mblog)
        if sid is None or not sid.isdigit():
            self.error(f"mblog #{number} has no numeric id ({sid!r})")
            return
        self.page.status_ids.append(sid)
        when = parse_created_at(mblog.get("created_at"), self.context.now, self.context.timezone)
        if self.cursor is not None:
            fresh = cursor_order(sid) > cursor_order(self.cursor)
        elif self.since is not None and when is not None and when < self.since:
            return  # older than the first run reaches back
        else:
            fresh = True
        self.page.fresh += fresh
        if is_deleted(mblog):
            self.page.deleted.append(sid)
            return
        original = mblog.get("retweeted_status")
        if original is None:
            self.keep(mblog, sid, fresh)
            return
        if not isinstance(original, Mapping):
            self.error(f"mblog {sid}: retweeted_status is not an object")
            return
        original_id = status_id(original)
        if original_id is None or is_deleted(original):
            self.page.deleted.append(original_id or sid)  # a retweet of a deleted post
            return
        retweeter, followers = _author(mblog)
        if not self.keep(original, original_id, fresh):
            return
        if retweeter is None:
            self.error(f"retweet {sid} has no user.screen_name")
            return
        self.page.amplifications.append(
            NewAmplification(
                source=self.context.source,
                original_external_id=original_id,
                external_id=sid,
                amplifier=retweeter,
                amplifier_followers=followers,
                amplified_at=when,
            )
        )

    def keep(self, mblog: Mapping[str, Any], sid: str, fresh: bool) -> bool:
        """Add ``mblog`` as a post (once); False (with an error) when it has no text."""
        if sid in self.seen:
            return True
        if not isinstance(mblog.get("text"), str):
            self.error(f"mblog {sid} has no text")
            return False
        self.seen[sid] = mblog_post(mblog, self.context)
        if fresh and mblog.get("isLongText") is True:
            self.page.long_text.add(sid)
        return True
