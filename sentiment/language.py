"""Which head reads a text: Chinese when enough of its letters are CJK ideographs, else English.

A deliberately plain rule: the encoder barely understands Chinese, and a head trained on mixed
languages scores English worse, so each language gets its own head and this picks one.
"""

from __future__ import annotations

from typing import Literal

Language = Literal["en", "zh"]
LANGUAGES: tuple[Language, ...] = ("en", "zh")

# A text is Chinese when at least this share of its letters are CJK ideographs. Letters are
# characters for which str.isalpha() holds (so digits, punctuation, emoji and spaces do not
# count); an English sentence quoting one Chinese name stays English, a Chinese review with a
# brand name in Latin letters goes to the Chinese head.
ZH_MIN_CJK_SHARE = 0.3

_CJK_RANGES = (
    (0x3400, 0x4DBF),  # CJK Unified Ideographs Extension A
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0xF900, 0xFAFF),  # CJK Compatibility Ideographs
    (0x20000, 0x3134F),  # Extensions B to G
)


def is_cjk(char: str) -> bool:
    """Whether one character is a CJK ideograph (hanzi / kanji / hanja)."""
    point = ord(char)
    return any(low <= point <= high for low, high in _CJK_RANGES)


def cjk_share(text: str) -> float:
    """The share of the letters in ``text`` that are CJK ideographs; 0.0 with no letters."""
    letters = [char for char in text if char.isalpha()]
    if not letters:
        return 0.0
    return sum(1 for char in letters if is_cjk(char)) / len(letters)


def language_of(text: str, zh_min_cjk_share: float = ZH_MIN_CJK_SHARE) -> Language:
    """``"zh"`` when at least ``zh_min_cjk_share`` of the letters are CJK, else ``"en"``."""
    share = cjk_share(text)
    return "zh" if share > 0.0 and share >= zh_min_cjk_share else "en"
