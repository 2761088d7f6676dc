"""Near-duplicate and quote detection on post text (pure), table-driven and by property."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from alerts.similarity import (
    best_match,
    jaccard,
    near_duplicate_similarity,
    normalise,
    references,
    shingles,
    tokens,
    url_key,
)

THRESHOLD = 0.5
MIN_SHINGLES = 3

ORIGINAL_EN = (
    'Larkspur lost my parcel AGAIN and support says "that\'s the rule". '
    "Order #LK-20931, three weeks late. Never again."
)
ORIGINAL_ZH = "云雀家居的快递又丢了，客服说这是规定，订单三周还没到，再也不买了"


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        # a retweet-style copy with a mention prefix, a link and changed case/punctuation
        (
            ORIGINAL_EN,
            "RT @angry_anna: larkspur lost my parcel again and support says that's the rule. "
            "Order #LK-20931, three weeks late. Never again! https://t.example/x1",
            True,
        ),
        # a cross-post with two words changed
        (
            ORIGINAL_EN,
            "Larkspur lost my parcel again, support says it's the rule. Order #LK-20931 "
            "three weeks late. never again",
            True,
        ),
        # a different complaint about the same shop
        (
            ORIGINAL_EN,
            "Larkspur refund still not paid after 72 hours, support keeps stalling.",
            False,
        ),
        # Chinese: a repost with 转发 and different punctuation
        (
            ORIGINAL_ZH,
            "转发：云雀家居的快递又丢了！客服说这是规定。订单三周还没到，再也不买了。",
            True,
        ),
        # Chinese: full-width characters are the same text
        (ORIGINAL_ZH, "云雀家居的快递又丢了，客服说这是规定，订单３周还没到，再也不买了", True),
        # Chinese: a different complaint
        (ORIGINAL_ZH, "云雀家居退款72小时还没到账，客服态度很差", False),
        # too short to be a story: only identical short texts match
        ("Terrible service", "terrible service!", True),
        ("Terrible service", "Terrible delivery", False),
        ("", "", False),
    ],
)
def test_near_duplicates(a: str, b: str, same: bool) -> None:
    found = near_duplicate_similarity(shingles(a), shingles(b), THRESHOLD, MIN_SHINGLES)
    assert (found is not None) is same


def test_short_templated_complaints_of_different_people_stay_apart() -> None:
    from alerts.config import GroupingSettings

    settings = GroupingSettings()
    a, b = (
        shingles("Order not delivered yet, number 123"),
        shingles("Order not delivered yet, number 456"),
    )
    assert near_duplicate_similarity(a, b, settings.near_duplicate_threshold, 3) is not None
    found = near_duplicate_similarity(
        a, b, settings.near_duplicate_threshold, settings.min_shingles
    )
    assert found is None


def test_cjk_is_tokenised_per_character_and_latin_per_word() -> None:
    assert tokens("云雀家居 Larkspur-Home 客服") == [
        "云", "雀", "家", "居", "larkspur", "home", "客", "服"
    ]  # fmt: skip
    assert normalise("RT @x: Hello, WORLD https://a.example/b") == "hello world"


@pytest.mark.parametrize(
    ("text", "url", "external_id", "quoted"),
    [
        (
            "look at this https://mastodon.example/@a/123",
            "https://mastodon.example/@a/123",
            "9",
            True,
        ),
        (
            "look http://www.Mastodon.example/@a/123/?utm=x",
            "https://mastodon.example/@a/123",
            "9",
            True,
        ),
        ("look https://mastodon.example/@a/1234", "https://mastodon.example/@a/123", "9", False),
        (
            "quoting at://did:plc:abc/app.bsky.feed.post/3k",
            None,
            "at://did:plc:abc/app.bsky.feed.post/3k",
            True,
        ),
        ("see 1skbyfv12 for the thread", None, "1skbyfv12", True),
        ("see x1skbyfv12 for the thread", None, "1skbyfv12", False),
        ("post 123 is bad", None, "123", False),  # a short id in text is an accident
    ],
)
def test_quotes_are_links_or_ids(
    text: str, url: str | None, external_id: str, quoted: bool
) -> None:
    assert references(text, url, external_id) is quoted


def test_url_key_ignores_scheme_www_query_and_slash() -> None:
    assert url_key("HTTPS://www.Example.com/a/b/?q=1#c") == url_key("http://example.com/a/b")


def test_best_match_takes_the_most_similar() -> None:
    target = shingles("parcel lost again support useless order late")
    others = [
        (1, shingles("completely different words here about refunds")),
        (2, shingles("parcel lost again support useless order very late")),
        (3, shingles("parcel lost again support useless order late")),
    ]
    assert best_match(target, others, THRESHOLD, MIN_SHINGLES) == (3, 1.0)
    assert best_match(target, others[:1], THRESHOLD, MIN_SHINGLES) is None


texts = st.text(
    alphabet=st.sampled_from(list("abcde fgh云雀家居快递，。!@#")), min_size=0, max_size=60
)


@given(texts, texts)
def test_jaccard_is_symmetric_and_bounded(a: str, b: str) -> None:
    sa, sb = shingles(a), shingles(b)
    assert jaccard(sa, sb) == jaccard(sb, sa)
    assert 0.0 <= jaccard(sa, sb) <= 1.0


@given(texts)
def test_a_text_is_a_near_duplicate_of_itself_and_of_its_repost(text: str) -> None:
    own = shingles(text)
    if not own:
        return
    assert near_duplicate_similarity(own, own, THRESHOLD, MIN_SHINGLES) == 1.0
    repost = shingles(f"RT @someone: {text.upper()} https://t.example/abc")
    assert near_duplicate_similarity(own, repost, THRESHOLD, MIN_SHINGLES) == 1.0


@given(texts, st.floats(min_value=0.01, max_value=1.0))
def test_a_higher_threshold_never_matches_more(text: str, threshold: float) -> None:
    a = shingles(text)
    b = shingles(text + " plus a few extra words")
    strict = near_duplicate_similarity(a, b, threshold, 1)
    loose = near_duplicate_similarity(a, b, threshold / 2, 1)
    assert strict is None or loose is not None
