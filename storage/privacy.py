"""Masking customers' personal data before anything leaves the database.

Phone numbers, ID numbers, bank card numbers and e-mail addresses must never be spread
further: every string that goes to Slack or into a log passes through
:func:`mask_personal_data`. The patterns err towards masking where a leak would hurt and
use cheap checks (Luhn for cards, a real birth date for Chinese ID numbers, separators for
US numbers) so prices, quantities, dates and short order numbers stay readable.

Digit patterns only start where no ASCII letter, digit, ``_`` or ``/`` comes before, so
tracking codes such as ``SF1234567890123`` and numeric IDs inside URL paths are left alone,
while Chinese text directly before a number (``卡号6222...``) still matches.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"
ID_MASK = "[id-number]"
CARD_MASK = "[card-number]"

_START = r"(?<![0-9A-Za-z_/])(?<!\d[.,])"
_END = r"(?![0-9A-Za-z_])(?![.,]\d)"

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
# 6-digit region code, birth date YYYYMMDD, 3-digit sequence, check character.
_CN_ID = re.compile(_START + r"[1-9]\d{5}(?:18|19|20)\d{2}\d{4}\d{3}[0-9Xx]" + _END)
# 13-19 digits: unbroken, or in groups separated by single spaces or dashes.
_CARD = re.compile(
    _START
    + r"(?:\d{13,19}"
    + r"|\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,3})?"  # 4-4-4-4, 4-4-4-4-3 (UnionPay 19)
    + r"|\d{4}[ -]\d{6}[ -]\d{4,5}"  # Amex / Diners 4-6-5, 4-6-4
    + r"|\d{6}[ -]\d{13})"  # 6-13 as some Chinese banks print 19-digit cards
    + _END
)
# International: +country code then 6-14 more digits with optional spaces, dashes, dots
# and one bracketed area code: +44 20 7946 0958, +1 (415) 555-0132, +86 138 0013 8000.
_INTERNATIONAL = re.compile(
    r"(?<![0-9A-Za-z_])\+\d{1,3}(?:[ .-]?\(?\d{1,5}\)?){1,5}(?:[ .-]?\d{2,5})" + _END
)
# Chinese mobile: 1[3-9]x xxxx xxxx, unbroken or as 3-4-4 with spaces or dashes.
_CN_MOBILE = re.compile(_START + r"1[3-9]\d(?:[ -]?\d{4}){2}" + _END)
# US: (415) 555-0132, 415-555-0132, 415.555.0132, optionally with a leading 1.
# A separator before the last four digits is required so bare 10-digit numbers stay.
_US = re.compile(
    _START + r"(?:1[ .-]?)?(?:\([2-9]\d{2}\)\s?|[2-9]\d{2}[ .-])[2-9]\d{2}[ .-]\d{4}" + _END
)
# UK national: 07700 900123, 020 7946 0958, 0161 496 0000 (10-11 digits, leading 0).
_UK = re.compile(_START + r"0[1237]\d{1,4}[ -]?\d{3,4}[ -]?\d{3,4}" + _END)
# Chinese landline: 010-12345678, 0755-1234567.
_CN_LANDLINE = re.compile(_START + r"0\d{2,3}-\d{7,8}" + _END)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def luhn_valid(number: str) -> bool:
    """The Luhn checksum every major card scheme uses."""
    digits = [int(ch) for ch in number if ch.isdigit()]
    if not digits:
        return False
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def _plausible_cn_id(number: str) -> bool:
    """A real birth date inside; the check character is not required, so a mistyped ID
    number is still masked."""
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return born.year >= 1880


def _replace_if(
    pattern: re.Pattern[str], mask: str, keep: Callable[[str], bool] | None = None
) -> Callable[[str], str]:
    def apply(text: str) -> str:
        def swap(match: re.Match[str]) -> str:
            found = match.group(0)
            if keep is not None and not keep(found):
                return found
            return mask

        return pattern.sub(swap, text)

    return apply


def _phone_length_ok(found: str) -> bool:
    return 7 <= len(_digits(found)) <= 15


def _card_ok(found: str) -> bool:
    digits = _digits(found)
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


_STEPS: tuple[Callable[[str], str], ...] = (
    _replace_if(_EMAIL, EMAIL_MASK),
    _replace_if(_CN_ID, ID_MASK, _plausible_cn_id),
    _replace_if(_CARD, CARD_MASK, _card_ok),
    _replace_if(_INTERNATIONAL, PHONE_MASK, _phone_length_ok),
    _replace_if(_CN_MOBILE, PHONE_MASK),
    _replace_if(_US, PHONE_MASK),
    _replace_if(_UK, PHONE_MASK, lambda found: len(_digits(found)) in (10, 11)),
    _replace_if(_CN_LANDLINE, PHONE_MASK),
)


def mask_personal_data(text: str) -> str:
    """``text`` with e-mail addresses, phone, ID and bank card numbers replaced by
    ``[email]``, ``[phone]``, ``[id-number]`` and ``[card-number]``. Idempotent."""
    if not text:
        return text
    for step in _STEPS:
        text = step(text)
    return text
