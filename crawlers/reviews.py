"""schema.org Reviews (JSON-LD and microdata) on a product page -> PostItems: pure, no network.

A page whose JSON-LD is broken still gives the reviews from its microdata (and the other
way round): each syntax is extracted on its own and a failing one is only reported.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import extruct

from crawlers.feeds import parse_date, to_count
from crawlers.items import PostItem
from crawlers.text import detect_language, html_to_text, primary_subtag

PLATFORM = "reviews"
SYNTAXES = ("json-ld", "microdata")
DEFAULT_BEST_RATING = 5.0  # schema.org's default for Rating.bestRating


@dataclass
class ReviewExtraction:
    """Reviews found on one page, and the syntaxes that could not be read (with why)."""

    items: list[PostItem] = field(default_factory=list)
    broken_syntaxes: list[str] = field(default_factory=list)

    @property
    def unreadable(self) -> bool:
        return len(self.broken_syntaxes) == len(SYNTAXES)


def _types(node: Mapping[str, Any]) -> set[str]:
    raw = node.get("@type") or node.get("type") or []
    values = raw if isinstance(raw, list) else [raw]
    return {str(value).rstrip("/").rsplit("/", 1)[-1] for value in values}


def _walk_reviews(data: Any) -> Iterator[Mapping[str, Any]]:
    """Every Review anywhere in the extracted data: standalone, Product.review[], @graph."""
    if isinstance(data, Mapping):
        if "Review" in _types(data) or "CriticReview" in _types(data):
            yield data
            return
        for value in data.values():
            yield from _walk_reviews(value)
    elif isinstance(data, list):
        for value in data:
            yield from _walk_reviews(value)


def _text(value: Any) -> str:
    if isinstance(value, list):
        value = next((v for v in value if v), None)
    if isinstance(value, Mapping):
        value = value.get("name") or value.get("@value")
    if value is None:
        return ""
    return html_to_text(str(value))


def _float(value: Any) -> float | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(str(value).replace(",", ".").strip())
    except ValueError:
        return None


def _rating(review: Mapping[str, Any]) -> tuple[float | None, float | None]:
    rating = review.get("reviewRating")
    if isinstance(rating, list):
        rating = rating[0] if rating else None
    if isinstance(rating, Mapping):
        value = _float(rating.get("ratingValue"))
        best = _float(rating.get("bestRating"))
    else:
        value, best = _float(rating), None
    if value is None:
        return None, None
    return value, best or DEFAULT_BEST_RATING


def review_id(page_url: str, author: str | None, date: str | None, body: str) -> str:
    """A stable id for a review that has none: the page's path + a hash of author, date and
    body. The host is left out so the same page served from a mirror, another port or
    after a domain move is still the same review (posts are already unique per source)."""
    digest = hashlib.sha256(f"{author or ''}\n{date or ''}\n{body}".encode()).hexdigest()
    parts = urlsplit(page_url)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return f"{path}#{digest[:16]}"


def _review_item(
    review: Mapping[str, Any], page_url: str, source: str, page_language: str | None
) -> PostItem:
    author = _text(review.get("author")) or None
    body = _text(review.get("reviewBody")) or _text(review.get("description"))
    title = _text(review.get("name")) or _text(review.get("headline")) or None
    raw_date = review.get("datePublished") or review.get("dateCreated")
    date_text = _text(raw_date) or None
    own_id = review.get("@id") or review.get("url")
    external_id = str(own_id) if own_id else review_id(page_url, author, date_text, body)
    rating, scale = _rating(review)
    return PostItem(
        source=source,
        platform=PLATFORM,
        external_id=external_id,
        url=str(review.get("url") or page_url),
        author=author,
        title=title,
        text=body,
        published_at=parse_date(date_text),
        language=detect_language(
            f"{title or ''} {body}", _text(review.get("inLanguage")) or page_language
        ),
        rating=rating,
        rating_scale=scale,
        likes=to_count(review.get("upvoteCount")),
    )


def extract_reviews(
    html: str, page_url: str, source: str, page_language: str | None = None
) -> ReviewExtraction:
    """All schema.org Reviews on the page at ``page_url``, deduplicated by external id.

    ``page_language`` (``<html lang>``) is the language hint unless a review names its own.
    """
    result = ReviewExtraction()
    seen: set[str] = set()
    for syntax in SYNTAXES:
        try:
            data = extruct.extract(
                html, base_url=page_url, syntaxes=[syntax], uniform=True, errors="strict"
            )
        except Exception as exc:  # broken markup in one syntax must not hide the other
            result.broken_syntaxes.append(f"{syntax}: {type(exc).__name__}: {exc}")
            continue
        for review in _walk_reviews(data.get(syntax, [])):
            item = _review_item(review, page_url, source, page_language)
            if item.external_id not in seen and (item.text or item.rating is not None):
                seen.add(item.external_id)
                result.items.append(item)
    return result


def page_language(lang_attribute: str | None) -> str | None:
    """The ``<html lang>`` attribute as a language hint (None when absent or blank)."""
    return primary_subtag(lang_attribute) or None if lang_attribute else None
