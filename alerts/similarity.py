"""Do two posts tell the same story? Pure functions on text, for grouping.

Near-duplicates are found by the Jaccard similarity of shingle sets, computed exactly:
the comparison is windowed in time and per watch (``GroupingSettings.window``), so each
new post is compared with at most a few hundred complaint posts and an approximate index
(MinHash/LSH) would only add error. Shingles are built from tokens so English and
Chinese work alike:

* text is NFKC-normalised and case-folded; links, ``@mentions``, a leading ``RT`` and
  punctuation are dropped (a copy that only adds "RT @x:" or a link is still a copy);
* a token is a run of letters/digits, except that every CJK character (Chinese,
  Japanese kana, Korean) is a token of its own — CJK has no spaces between words;
* shingles are pairs of consecutive tokens (word bigrams in English, character bigrams
  in Chinese); a one-token text is its single token.

Quotes are found by what the post gives: a link to, or the external id of, another
stored post in its text (:func:`references`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

SHINGLE_SIZE = 2

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_TOKEN = re.compile(rf"[{_CJK}]|(?:(?![{_CJK}])[^\W_])+")
_URL = re.compile(r"https?://[^\s<>\"')\]]+|\bat://[^\s<>\"')\]]+", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w@])@[\w.\-]+(?:@[\w.\-]+)?")
_LEADING_RT = re.compile(r"^\s*(?:rt|转发|轉發)\b[\s:：]*", re.IGNORECASE)
_TRAILING_PUNCTUATION = ".,;:!?)]}'\"。，！？"


def normalise(text: str) -> str:
    """``text`` without links, mentions, a leading RT, case or width differences."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _URL.sub(" ", text)
    text = _MENTION.sub(" ", text)
    text = _LEADING_RT.sub(" ", text)
    return " ".join(_TOKEN.findall(text))


def tokens(text: str) -> list[str]:
    """The tokens of ``text`` after :func:`normalise` (CJK characters one by one)."""
    return normalise(text).split()


def shingles(text: str, size: int = SHINGLE_SIZE) -> frozenset[str]:
    """The set of ``size`` consecutive tokens of ``text`` (see the module docstring)."""
    words = tokens(text)
    if len(words) < size:
        return frozenset([" ".join(words)]) if words else frozenset()
    return frozenset(" ".join(words[i : i + size]) for i in range(len(words) - size + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """|a ∩ b| / |a ∪ b|; 0.0 when both are empty."""
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)


def near_duplicate_similarity(
    a: frozenset[str], b: frozenset[str], threshold: float, min_shingles: int
) -> float | None:
    """The similarity of two shingle sets when they are near-duplicates, else None.

    Sets smaller than ``min_shingles`` match only when equal (two-word posts such as
    "terrible service" are not a story of their own)."""
    if not a or not b:
        return None
    if min(len(a), len(b)) < min_shingles:
        return 1.0 if a == b else None
    score = jaccard(a, b)
    return score if score >= threshold else None


def url_key(url: str) -> str:
    """A URL compared loosely: no scheme, ``www.``, query, fragment or trailing slash."""
    text = url.strip().rstrip(_TRAILING_PUNCTUATION)
    text = re.sub(r"^[a-z]+://", "", text, flags=re.IGNORECASE)
    text = re.sub(r"^www\.", "", text, flags=re.IGNORECASE)
    text = re.split(r"[?#]", text, maxsplit=1)[0]
    return text.rstrip("/").lower()


def linked_urls(text: str) -> set[str]:
    """The :func:`url_key` of every link (http(s) or at://) in ``text``."""
    return {url_key(match) for match in _URL.findall(text)}


def references(text: str, url: str | None, external_id: str, links: set[str] | None = None) -> bool:
    """Whether ``text`` links to the post at ``url`` or names its ``external_id``.

    An external id counts only when it cannot be an accident: a URL or URI, or at least
    eight characters standing as a word of their own. ``links`` is ``linked_urls(text)``
    when the caller already has it."""
    links = linked_urls(text) if links is None else links
    if url and url_key(url) in links:
        return True
    if "://" in external_id:
        return url_key(external_id) in links
    if len(external_id) < 8:
        return False
    return re.search(rf"(?<![\w/]){re.escape(external_id)}(?![\w])", text) is not None


def best_match(
    candidate: frozenset[str],
    others: Iterable[tuple[int, frozenset[str]]],
    threshold: float,
    min_shingles: int,
) -> tuple[int, float] | None:
    """The (key, similarity) of the most similar near-duplicate in ``others``, if any;
    ties go to the first listed."""
    best: tuple[int, float] | None = None
    for key, shingle_set in others:
        score = near_duplicate_similarity(candidate, shingle_set, threshold, min_shingles)
        if score is not None and (best is None or score > best[1]):
            best = (key, score)
    return best
