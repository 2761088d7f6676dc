"""Plain text and language from crawled HTML: what the sentiment model and watches read."""

from __future__ import annotations

import re
from functools import cache

import html_text
from py3langid.langid import MODEL_FILE, LanguageIdentifier

from crawlers.query import CJK_CHARS

MIN_LETTERS_FOR_DETECTION = 20
# py3langid's normalised probability below which a guess is no answer ("Acme" is not
# Romanian). Deterministic, ships its model, and ~30x faster than langdetect per post.
MIN_LANGUAGE_CONFIDENCE = 0.5
CJK_SHARE_FOR_CHINESE = 0.3
_WHITESPACE = re.compile(r"\s+")
_CJK = re.compile(f"[{CJK_CHARS}]")
_KANA = re.compile("[\u3040-\u30ff]")
_HANGUL = re.compile("[\uac00-\ud7af]")
_LINK_SCHEMES = ("http://", "https://")


def normalise_whitespace(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def html_to_text(html: str | None) -> str:
    """Visible text of an HTML fragment, one line, with link targets kept as ``text (url)``.

    Link targets matter for complaints ("see https://..."), so they are not dropped.
    """
    if not html or not html.strip():
        return ""
    if "<" not in html and "&" not in html:
        return normalise_whitespace(html)
    tree = html_text.parse_html(html)
    for link in tree.iter("a"):
        href = (link.get("href") or "").strip()
        if not href.startswith(_LINK_SCHEMES):
            continue
        label = normalise_whitespace(link.text_content())
        if label == href:
            continue
        link.tail = f" ({href}){link.tail or ''}" if label else f"{href}{link.tail or ''}"
    return normalise_whitespace(html_text.extract_text(tree, guess_layout=False))


def primary_subtag(language: str) -> str:
    """``"en"`` from ``"en-US"``, ``"en_us"`` or ``" EN "``: how languages are compared."""
    return language.strip().replace("_", "-").split("-")[0].lower()


CJK_LANGUAGES = frozenset({"zh", "ja", "ko"})


def _script_language(text: str, letters: int) -> str | None:
    """zh / ja / ko when CJK characters dominate the ``letters`` of ``text``, else None."""
    if not letters:
        return None
    cjk = _CJK.findall(text)
    if len(cjk) / letters < CJK_SHARE_FOR_CHINESE:
        return None
    if len(_KANA.findall(text)) / len(cjk) >= 0.2:
        return "ja"
    if len(_HANGUL.findall(text)) / len(cjk) >= 0.5:
        return "ko"
    return "zh"


def detect_language(text: str, hint: str | None = None) -> str | None:
    """ISO 639-1 code of ``text``: the feed's or page's own ``hint`` wins unless the script
    contradicts it (a Chinese post in a feed labelled "en" is Chinese), CJK script decides
    for Chinese/Japanese/Korean, else py3langid; ``None`` when too short or unsure."""
    letters = sum(char.isalpha() for char in text)
    script = _script_language(text, letters)
    if hint and hint.strip():
        declared = primary_subtag(hint)
        if script is not None and declared not in CJK_LANGUAGES:
            return script
        return declared
    if script is not None:
        return script
    if letters < MIN_LETTERS_FOR_DETECTION:
        return None
    language, confidence = _identifier().classify(text)
    return primary_subtag(language) if confidence >= MIN_LANGUAGE_CONFIDENCE else None


@cache
def _identifier() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
