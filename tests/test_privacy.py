"""Personal data masking: what must be masked (EN + ZH) and what must stay readable."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from storage.privacy import luhn_valid, mask_personal_data

MASKED = [
    # e-mail
    ("write to jane.doe+orders@example.co.uk today", "write to [email] today"),
    ("我的邮箱是zhang.san@qq.com谢谢", "我的邮箱是[email]谢谢"),
    ("Mail: BOB_99@Mail.Example.COM.", "Mail: [email]."),
    # international phone numbers
    ("call +44 20 7946 0958 or +44 7700 900123", "call [phone] or [phone]"),
    ("ring +447700900123 now", "ring [phone] now"),
    ("+1 (415) 555-0132", "[phone]"),
    ("+86 138 0013 8000", "[phone]"),
    ("+86-13800138000", "[phone]"),
    ("tel:+861380013800", "tel:[phone]"),
    # US numbers
    ("(415) 555-0132 / 415-555-0132 / 415.555.0132", "[phone] / [phone] / [phone]"),
    ("1-800-555-0199 is the hotline", "[phone] is the hotline"),
    # UK national numbers
    ("my mobile is 07700 900123", "my mobile is [phone]"),
    ("office 020 7946 0958", "office [phone]"),
    # Chinese mobile and landline
    ("我的手机13800138000请联系", "我的手机[phone]请联系"),
    ("手机：138 0013 8000", "手机：[phone]"),
    ("电话 159-1234-5678", "电话 [phone]"),
    ("座机010-12345678", "座机[phone]"),
    # Chinese ID card numbers (18 characters, last may be X)
    ("身份证号11010519491231002X", "身份证号[id-number]"),
    ("身份证 110105194912310021 已经泄露", "身份证 [id-number] 已经泄露"),
    ("id 11010519491231002x", "id [id-number]"),
    # bank card numbers (Luhn-valid)
    ("card 4111 1111 1111 1111 please", "card [card-number] please"),
    ("4111-1111-1111-1111", "[card-number]"),
    ("5500000000000004", "[card-number]"),
    ("Amex 3782 822463 10005", "Amex [card-number]"),
    ("卡号6222021234567890128", "卡号[card-number]"),
    ("银行卡 6222 0212 3456 7890 128 退款还没到", "银行卡 [card-number] 退款还没到"),
    ("6212345678901232。", "[card-number]。"),
    # as customers really write them in complaints
    (
        "@Larkspur refund still missing!! ring me 07700 900123",
        "@Larkspur refund still missing!! ring me [phone]",
    ),
    (
        "客服让我发身份证号110105194912310021和手机13912345678过去？？",
        "客服让我发身份证号[id-number]和手机[phone]过去？？",
    ),
    ("退款打到尾号不对的卡 6222021234567890128 了", "退款打到尾号不对的卡 [card-number] 了"),
    ("DM'd you my email (ana.lopez@gmail.com) 3 times", "DM'd you my email ([email]) 3 times"),
    # several in one text
    (
        "I'm jane@example.com, card 4111111111111111, phone +44 7700 900123",
        "I'm [email], card [card-number], phone [phone]",
    ),
]

NOT_MASKED = [
    "price $1,299.99 and ¥1299 and 1299元 and €49,90",
    "order #123456, qty 3, 2 items",
    "订单号 20240517001 共2件，运费12元",
    "delivered 2024-05-17 at 14:30, promised 17/05/2024",
    "2024年5月17日下单，等了72小时",
    "tracking SF1234567890123 still not moving",
    "https://mastodon.social/@bob/112345678901234567",
    "https://x.com/user/status/1790000000000000000",
    "unix time 1700000000",
    "version v2.3.1 broke it",
    "pi is 3.14159265358979323",
    "4111111111111112 fails Luhn",
    "id 12345678901234567 is too short for an ID",
    "10000 followers, 500 reposts, 95% negative",
    "order number 4155550132",  # bare 10 digits: not a US number without separators
    "serial 2024-0517-8800",
    "room 1203, floor 12",
    "买了3件，每件¥299.00，共¥897，满300减50",
    "双11 11.11 00:00 开抢，2024/11/11 10:02 还没发货",
    "iPhone 15 Pro 256GB, 1TB plan, 4K 120Hz",
    "ISBN 978-3-16-148410-0",
    "waited 45 minutes on hold, 3rd call this week, 2 x 500ml bottles",
    "第2次投诉了，等了15天，order #A1234567",
    "",
]


@pytest.mark.parametrize(("text", "expected"), MASKED)
def test_masks_personal_data(text: str, expected: str) -> None:
    assert mask_personal_data(text) == expected


@pytest.mark.parametrize("text", NOT_MASKED)
def test_leaves_ordinary_numbers_alone(text: str) -> None:
    assert mask_personal_data(text) == text


@pytest.mark.parametrize(("text", "_expected"), MASKED)
def test_masking_is_idempotent(text: str, _expected: str) -> None:
    once = mask_personal_data(text)
    assert mask_personal_data(once) == once


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("4111111111111111", True),
        ("378282246310005", True),
        ("4111111111111112", False),
        ("", False),
    ],
)
def test_luhn(number: str, valid: bool) -> None:
    assert luhn_valid(number) is valid


@given(st.text(alphabet="0123456789 -+()@.abcxyz中文", max_size=60))
def test_never_crashes_and_is_idempotent(text: str) -> None:
    once = mask_personal_data(text)
    assert mask_personal_data(once) == once


@given(
    st.integers(min_value=13_000_000_000, max_value=19_999_999_999), st.sampled_from(["", "联系"])
)
def test_every_chinese_mobile_is_masked(number: int, prefix: str) -> None:
    text = f"{prefix}{number}"
    if str(number)[1] in "3456789":
        assert str(number) not in mask_personal_data(text)
