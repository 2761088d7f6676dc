"""App Store customer reviews RSS (JSON flavour) -> posts: pure, no I/O.

``{base}/{country}/rss/customerreviews/page={n}/id={app}/sortby=mostrecent/json`` answers
``{"feed": {"entry": [...]}}`` where every value is wrapped as ``{"label": ...}``. Quirks
handled: ``entry`` is a single object when the page has one review and absent when it has
none; older feeds put the app's own metadata first (it has ``im:name``, no ``im:rating``);
``content`` may be a list of a text and an HTML variant.

A review's ``external_id`` is Apple's review id alone: the ids are global across
storefronts, so the country is not needed to keep them apart (it is kept as ``region``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crawlers.feeds import parse_date, to_count
from crawlers.spiders.api import ParsedPage
from crawlers.text import detect_language, html_to_text
from storage.posts import NewPost

PLATFORM = "appstore"
RATING_SCALE = 5.0
MAX_PAGES = 10  # Apple serves at most ten pages of 50 reviews
REVIEWS_URL = (
    "{base_url}/{country}/rss/customerreviews/page={page}/id={app_id}/sortby=mostrecent/json"
)
APP_URL = "https://apps.apple.com/{country}/app/id{app_id}?see-all=reviews"  # when no link


def reviews_url(base_url: str, country: str, page: int, app_id: str) -> str:
    return REVIEWS_URL.format(
        base_url=base_url.rstrip("/"), country=country, page=page, app_id=app_id
    )


def cursor_value(when: datetime) -> str:
    """A time as the cursor text: UTC, fixed width, so cursors compare as text."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def label(value: Any) -> str | None:
    """The text inside ``{"label": ...}`` (or a bare string), stripped; None if empty."""
    if isinstance(value, Mapping):
        value = value.get("label")
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        text = str(value).strip()
        return text or None
    return None


def _content(value: Any) -> str | None:
    """Review text from ``content``: a wrapped value, or a list of text/html variants."""
    variants = value if isinstance(value, list) else [value]
    html: str | None = None
    for variant in variants:
        text = label(variant)
        if text is None:
            continue
        attributes = variant.get("attributes") if isinstance(variant, Mapping) else None
        kind = attributes.get("type") if isinstance(attributes, Mapping) else None
        if kind == "html":
            html = html or text
        else:
            return text
    if html is None:
        return None
    return html_to_text(html) or None


def _link(value: Any) -> str | None:
    links = value if isinstance(value, list) else [value]
    hrefs = []
    for link in links:
        attributes = link.get("attributes") if isinstance(link, Mapping) else None
        if isinstance(attributes, Mapping) and isinstance(attributes.get("href"), str):
            hrefs.append((attributes.get("rel") == "related", attributes["href"]))
    return max(hrefs, key=lambda pair: pair[0])[1] if hrefs else None


def _rating(value: str | None) -> float | None:
    try:
        rating = float(value) if value is not None else None
    except ValueError:
        return None
    return rating if rating is not None and 1 <= rating <= RATING_SCALE else None


def entries(feed: Mapping[str, Any]) -> list[Any]:
    """``feed.entry`` as a list: one review comes as an object, none as no key at all."""
    entry = feed.get("entry")
    if entry is None:
        return []
    return entry if isinstance(entry, list) else [entry]


def is_app_metadata(entry: Mapping[str, Any]) -> bool:
    """The app's own entry that older feeds list first: a name, no rating."""
    return "im:name" in entry and "im:rating" not in entry


@dataclass
class ReviewsPage(ParsedPage):
    """One parsed page of reviews, and the update times the spider pages on."""

    empty: bool = False  # no entries at all: the last page was the one before
    updated: list[datetime] = field(default_factory=list)  # every review with a time


def review_post(
    entry: Mapping[str, Any], source: str, country: str, app_id: str
) -> tuple[NewPost | None, str | None]:
    """The post a review entry is (None if unusable), and what is wrong with it (if
    anything). A review without a usable rating is kept, without a rating."""
    review_id = label(entry.get("id"))
    if review_id is None:
        return None, "review without id.label"
    title = label(entry.get("title"))
    text = _content(entry.get("content"))
    if text is None and title is None:
        return None, f"review {review_id} has neither content.label nor title.label"
    raw_rating = label(entry.get("im:rating"))
    rating = _rating(raw_rating)
    problem = None
    if rating is None:
        problem = f"review {review_id} has no 1-5 im:rating.label (found {raw_rating!r})"
    author = entry.get("author")
    body = text or ""
    post = NewPost(
        source=source,
        platform=PLATFORM,
        external_id=review_id,
        text=body,
        title=title,
        url=_link(entry.get("link")) or APP_URL.format(country=country, app_id=app_id),
        author=label(author.get("name")) if isinstance(author, Mapping) else None,
        language=detect_language(f"{title or ''} {body}"),
        published_at=parse_date(label(entry.get("updated"))),
        rating=rating,
        rating_scale=RATING_SCALE if rating is not None else None,
        likes=to_count(label(entry.get("im:voteSum"))),
        region=country.upper(),
    )
    return post, problem


def parse_reviews(
    payload: Any,
    source: str,
    country: str,
    app_id: str,
    *,
    where: str,
    since: datetime | None = None,
) -> ReviewsPage:
    """Reviews on one page. Reviews updated before ``since`` (a first run's window) are
    left out but still reported in ``updated``; broken entries become errors naming
    ``where`` (the URL), the rest of the page is kept."""
    page = ReviewsPage()
    feed = payload.get("feed") if isinstance(payload, Mapping) else None
    if not isinstance(feed, Mapping):
        page.errors.append(f"appstore: no feed object in the JSON from {where}")
        page.empty = True
        return page
    found = entries(feed)
    page.empty = not found
    for number, entry in enumerate(found, start=1):
        if not isinstance(entry, Mapping):
            page.errors.append(f"appstore entry #{number} in {where} is not an object")
            continue
        if is_app_metadata(entry):
            continue
        post, problem = review_post(entry, source, country, app_id)
        if problem is not None:
            page.errors.append(f"appstore {problem} (entry #{number} in {where})")
        if post is None:
            continue
        if post.published_at is not None:
            page.updated.append(post.published_at)
            if since is not None and post.published_at < since:
                continue
        page.posts.append(post)
    return page
