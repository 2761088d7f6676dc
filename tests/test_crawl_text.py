"""HTML to text and language detection for crawled posts."""

from __future__ import annotations

import pytest

from crawlers.text import detect_language, html_to_text


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("", ""),
        (None, ""),
        ("plain   text\n here", "plain text here"),
        ("<p>a &amp; b</p><p>c</p>", "a & b c"),
        (
            '<p>see <a href="https://x.example/t/1">my ticket</a>.</p>',
            "see my ticket (https://x.example/t/1).",
        ),
        ('<a href="https://x.example/">https://x.example/</a>', "https://x.example/"),
        ('<a href="https://x.example/"><img src="i.png"></a> hi', "https://x.example/ hi"),
        ('<a href="/relative">rel</a> and <a href="mailto:a@b">mail</a>', "rel and mail"),
        ("<script>var x = 1;</script><style>p{}</style><b>bold</b>", "bold"),
        ("<p>阿克美<br>退款</p>", "阿克美 退款"),
    ],
)
def test_html_to_text(html: str | None, expected: str) -> None:
    assert html_to_text(html) == expected


@pytest.mark.parametrize(
    ("text", "hint", "expected"),
    [
        ("whatever", "en-US", "en"),
        ("这个手机很好", "pt_BR", "zh"),  # the script contradicts a feed-wide label
        ("云雀家居的沙发质量很好", "en", "zh"),
        ("Acme phone broke", "zh-CN", "zh"),  # a declared CJK language is kept
        ("東京店の対応", "ja", "ja"),
        ("Bonjour tout le monde", "fr-CA", "fr"),
        ("用了三天就坏了，客服一直不回复，退款也没到账。", None, "zh"),
        ("Acme 的客服太差了", None, "zh"),
        ("アクメの電話が壊れました", None, "ja"),
        ("아크미 휴대폰이 고장났어요", None, "ko"),
        ("The parcel never arrived and support stopped answering my emails.", None, "en"),
        ("Das Paket ist nie angekommen und der Kundendienst antwortet nicht.", None, "de"),
        ("ok", None, None),
        ("12345 !!!", None, None),
        ("", None, None),
    ],
)
def test_detect_language(text: str, hint: str | None, expected: str | None) -> None:
    assert detect_language(text, hint) == expected


def test_detection_is_deterministic() -> None:
    text = "Le colis n'est jamais arrivé et personne ne répond."
    assert {detect_language(text) for _ in range(5)} == {"fr"}
