"""Watch queries: parsing, matching and syntax errors, table-driven plus properties."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, strategies as st

from crawlers.config import WatchConfig
from crawlers.query import QuerySyntaxError, parse_watch_query, search_terms

MATCHES = [
    # (query, text, expected)
    ("acme", "I love Acme", True),
    ("acme", "ACME rocks", True),
    ("acme", "Acme's new phone", True),
    ("acme", "#acme trending", True),
    ("acme", "@acme help!", True),
    ("acme", "acme.", True),
    ("acme", "(acme)", True),
    ("acme", "acmeville is a town", False),
    ("acme", "superacme", False),
    ("acme", "acme_corp", False),
    ("acme", "acme2", False),
    ("acme", "", False),
    ("Acme", "acme", True),
    ("#acme", "love #acme", True),
    ("#acme", "love acme", False),
    ("c++", "I write c++ daily", True),
    ("café", "Le CAFÉ est fermé", True),
    ("café", "cafés", False),
    # phrases
    ('"acme phone"', "my acme phone broke", True),
    ('"acme phone"', "my ACME\n  Phone broke", True),
    ('"acme phone"', "my phone from acme", False),
    ('"acme phone"', "acme phones", False),
    # implicit and explicit AND
    ("acme phone", "phone by acme", True),
    ("acme phone", "acme only", False),
    ("acme AND phone", "phone by acme", True),
    ("acme AND phone", "phone only", False),
    # OR, precedence of AND over OR
    ("acme OR globex", "globex is bad", True),
    ("acme OR globex", "initech", False),
    ("acme OR globex phone", "acme", True),
    ("acme OR globex phone", "globex", False),
    ("acme OR globex phone", "globex phone", True),
    ("(acme OR globex) phone", "acme", False),
    ("(acme OR globex) phone", "acme phone", True),
    # NOT and -exclusion
    ("acme NOT job", "acme is hiring, job ad", False),
    ("acme NOT job", "acme broke my phone", True),
    ("acme -job", "acme job", False),
    ("acme -job", "acme jobs", True),
    ('acme -"job ad"', "acme job ad", False),
    ('acme -"job ad"', "acme job", True),
    ("acme -(job OR hiring)", "acme hiring", False),
    ("acme -(job OR hiring)", "acme refund", True),
    ("NOT NOT acme", "acme", True),
    ("-acme", "nothing here", True),
    ("e-mail", "send an e-mail", True),
    # lower-case operators are plain terms
    ("acme or globex", "acme or globex", True),
    ("acme or globex", "acme globex", False),
    # CJK: substrings, mixed with Latin
    ("阿克美", "我爱阿克美手机", True),
    ("阿克美", "我爱阿克手机", False),
    ("阿克美 OR acme", "我爱acme手机", True),
    ("acme", "我爱acme手机", True),
    ("acme", "我爱acmeville", False),
    ('"阿克美 手机"', "阿克美 手机", True),
    ("退款 -已解决", "退款还没到账", True),
    ("退款 -已解决", "退款已解决", False),
    ("アクメ", "アクメの電話", True),
    # match all
    ("*", "", True),
    ("*", "anything", True),
    ("* -spam", "spam offer", False),
]


@pytest.mark.parametrize(("query", "text", "expected"), MATCHES)
def test_matches(query: str, text: str, expected: bool) -> None:
    assert parse_watch_query(query).matches(text) is expected


ERRORS = [
    # (query, message fragment, position)
    ("", "empty query", 0),
    ("   ", "empty query", 3),
    ("acme OR (foo))", 'unbalanced ")"', 13),
    ("acme)", 'unbalanced ")"', 4),
    (")", 'unbalanced ")"', 0),
    ("(acme", 'unbalanced "("', 0),
    ("acme (foo OR (bar)", 'unbalanced "("', 5),
    ('"acme', "unterminated quote", 0),
    ('acme "phone', "unterminated quote", 5),
    ("acme AND", "AND needs a term after it", 5),
    ("acme OR", "OR needs a term after it", 5),
    ("NOT", "NOT needs a term after it", 0),
    ("OR acme", "OR needs a term before it", 0),
    ("AND acme", "AND needs a term before it", 0),
    ("acme AND OR b", "unexpected OR", 9),
    ("acme -", "- needs a term right after it", 5),
    ("acme - job", "- needs a term right after it", 5),
    ("()", "empty parentheses", 1),
    ('""', "empty phrase", 0),
]


@pytest.mark.parametrize(("query", "fragment", "position"), ERRORS)
def test_syntax_errors_name_the_position(query: str, fragment: str, position: int) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_watch_query(query)
    assert fragment in str(caught.value)
    assert caught.value.position == position
    assert f"at position {position}" in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_watch_config_reports_query_errors_with_position() -> None:
    with pytest.raises(ValueError, match=r'unbalanced "\)" at position 13'):
        WatchConfig(name="acme", query="acme OR (foo))")


def test_watch_config_forbids_unknown_keys() -> None:
    with pytest.raises(ValueError, match="extra"):
        WatchConfig.model_validate({"name": "a", "query": "a", "qeury": "b"})


words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8).filter(
    lambda word: word.upper() not in ("AND", "OR", "NOT")
)
texts = st.text(max_size=80)


@given(word=words, text=texts)
def test_a_term_and_its_negation_disagree(word: str, text: str) -> None:
    assert parse_watch_query(word).matches(text) is not parse_watch_query(f"-{word}").matches(text)


@given(a=words, b=words, text=texts)
def test_boolean_laws(a: str, b: str, text: str) -> None:
    def m(query: str) -> bool:
        return parse_watch_query(query).matches(text)

    assert m(f"{a} OR {b}") == (m(a) or m(b))
    assert m(f"{a} AND {b}") == m(f"{a} {b}") == (m(a) and m(b))
    assert m(f"NOT ({a} OR {b})") == m(f"-{a} -{b}")


@given(word=words, before=texts, after=texts)
def test_a_term_between_non_letters_always_matches(word: str, before: str, after: str) -> None:
    text = f"{before} {word.upper()} {after}"
    assert parse_watch_query(word).matches(text)


@given(query=st.text(max_size=40))
def test_any_input_parses_or_raises_a_positioned_syntax_error(query: str) -> None:
    try:
        parsed = parse_watch_query(query)
    except QuerySyntaxError as exc:
        assert 0 <= exc.position <= len(query)
        assert re.search(r"at position \d+", str(exc))
    else:
        parsed.matches(query)  # never raises


@pytest.mark.parametrize(
    ("query", "terms"),
    [
        ("acme", ["acme"]),
        ('acme OR "acme corp"', ["acme", "acme corp"]),
        ("acme delivery", ["acme"]),  # AND: the narrowest side is enough
        ("(acme OR widgetco) (late OR broken OR refund)", ["acme", "widgetco"]),
        ("acme -job -hiring", ["acme"]),
        ("云雀 OR larkspur", ["云雀", "larkspur"]),
        ("*", None),
        ("-spam", None),
        ("acme OR -spam", None),  # one side matches posts without any word: no cover
    ],
)
def test_search_terms_cover_every_matching_post(query: str, terms: list[str] | None) -> None:
    assert search_terms(parse_watch_query(query)) == terms


@given(st.lists(st.sampled_from(["acme", "late", "refund", "widget"]), min_size=1, max_size=6))
def test_a_post_the_query_matches_contains_a_search_term(words: list[str]) -> None:
    query = parse_watch_query("(acme OR widget) (late OR refund)")
    text = " ".join(words)
    terms = search_terms(query) or []
    if query.matches(text):
        assert any(parse_watch_query(f'"{term}"').matches(text) for term in terms)
