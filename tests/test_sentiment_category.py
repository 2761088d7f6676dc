"""Complaint categories: the labelled evaluation set, keyword rules, prototypes, quality bars.

The quality bars are the figures measured on ``tests/data/categories_eval.jsonl`` with the
packaged MiniLM encoder, minus a small margin: a change that makes the classifier worse fails
here. Part "B" of the set was written after the rules and prototypes were frozen, so its bar is
the honest one for wording nobody anticipated.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from sentiment.category import (
    CATEGORIES,
    CATEGORY_IDS,
    OTHER,
    CategoryClassifier,
    CategoryResult,
    CategorySettings,
    classify_categories,
    default_classifier,
    main,
)
from sentiment.category_eval import (
    Example,
    evaluate_categories,
    load_examples,
    report_for,
)
from sentiment.category_index import PROTOTYPES_FILE, Prototypes, prototype_language
from sentiment.category_keywords import keyword_hits

DATA = Path(__file__).parent / "data"
EVAL_SET = DATA / "categories_eval.jsonl"
DEV_SET = DATA / "categories_dev.jsonl"

# Measured with MiniLM when the bars were set; with base e5 (what the default model reads
# categories with) macro-F1 measured 0.898 on all 360 posts.
MIN_MACRO_F1 = 0.86  # measured 0.879 with MiniLM (keywords + prototypes, all 360 posts)
MIN_MACRO_F1_KEYWORDS_ONLY = 0.82  # measured 0.850
MIN_MACRO_F1_PART_B = 0.68  # measured 0.720 (90 posts written after the rules were frozen)
MIN_CLASS_F1 = 0.78  # every category; lowest measured 0.822 (promises_not_kept)


def fake_embed(texts: Sequence[str]) -> np.ndarray:
    """A deterministic stand-in encoder: hashed character trigrams, L2-normalised."""
    rows = np.zeros((len(texts), 64), dtype=np.float32)
    for row, text in enumerate(texts):
        padded = f"  {text.lower()}  "
        for i in range(len(padded) - 2):
            rows[row, zlib.crc32(padded[i : i + 3].encode()) % 64] += 1.0
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms == 0, 1.0, norms)


class CountingEncoder:
    """An encoder object whose bound ``embed`` counts the texts it was asked to embed."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        return fake_embed(texts)


# ---- the evaluation set -------------------------------------------------------------------


def test_eval_set_is_large_balanced_and_bilingual() -> None:
    examples = load_examples(EVAL_SET)
    assert len(examples) >= 240
    per_category = Counter(e.category for e in examples)
    assert set(per_category) == set(CATEGORY_IDS)
    assert min(per_category.values()) >= 15, per_category
    languages = Counter(e.language for e in examples)
    assert set(languages) == {"en", "zh"}
    assert min(languages.values()) >= 0.4 * len(examples)
    for category in CATEGORY_IDS:
        for language in ("en", "zh"):
            assert sum(e.category == category and e.language == language for e in examples) >= 7
    assert len({e.text for e in examples}) == len(examples), "duplicate posts"


def test_eval_set_is_kept_apart_from_prototypes_and_dev_set() -> None:
    """An honest evaluation: no eval post is a prototype or a dev (tuning) post."""
    eval_texts = {e.text for e in load_examples(EVAL_SET)}
    dev_texts = {e.text for e in load_examples(DEV_SET)}
    prototypes = Prototypes.load(CATEGORY_IDS)
    phrases = {p for by_lang in prototypes.phrases.values() for ps in by_lang.values() for p in ps}
    assert not eval_texts & dev_texts
    assert not eval_texts & phrases


def test_load_examples_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "x", "language": "en", "category": "logistics"}\n{"text": 1}\n')
    with pytest.raises(ValueError, match="line 2"):
        load_examples(path)
    path.write_text('{"text": "x", "language": "en", "category": "shipping"}\n')
    with pytest.raises(ValueError, match="unknown category 'shipping'"):
        load_examples(path)


# ---- categories and prototypes ------------------------------------------------------------


def test_category_ids_are_the_stable_list_with_descriptions() -> None:
    assert CATEGORY_IDS == (
        "logistics",
        "product_quality",
        "after_sales",
        "service_attitude",
        "communication",
        "promises_not_kept",
        "privacy",
        "pricing",
        "other",
    )
    assert all(description.strip() for _, description in CATEGORIES)
    assert all(len(category) <= 40 for category in CATEGORY_IDS)  # storage column width


def test_prototypes_cover_every_category_in_both_languages() -> None:
    prototypes = Prototypes.load(CATEGORY_IDS)
    for category in CATEGORY_IDS:
        for language in ("en", "zh"):
            assert len(prototypes.phrases[category][language]) >= 8, (category, language)


def test_prototypes_file_with_unknown_category_is_refused(tmp_path: Path) -> None:
    raw = json.loads(PROTOTYPES_FILE.read_text(encoding="utf-8"))
    raw["categories"]["shipping"] = {"en": ["late"]}
    path = tmp_path / "prototypes.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ValueError, match="unknown categories \\['shipping'\\]"):
        Prototypes.load(CATEGORY_IDS, path)


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "en"), ("zh", "zh"), ("zh-CN", "zh"), ("zh_TW", "zh"), ("EN", "en"), ("ja", "*")],
)
def test_prototype_language(language: str, expected: str) -> None:
    assert prototype_language(language, ("en", "zh")) == expected


# ---- keyword rules --------------------------------------------------------------------------

KEYWORD_CASES = [
    ("my parcel still hasn't arrived after two weeks", "logistics"),
    ("the courier left it in the rain, box soaked", "logistics"),
    ("they sent me someone else's order", "logistics"),
    ("the strap broke after a day, terrible quality", "product_quality"),
    ("looks nothing like the photos", "product_quality"),
    ("still waiting for my refund, returned it weeks ago", "after_sales"),
    ("the repair has taken a month", "after_sales"),
    ("the cashier was so rude and rolled her eyes", "service_attitude"),
    ("'that's the policy' is all they said", "service_attitude"),
    ("on hold for an hour and nobody answers emails", "communication"),
    ("three agents gave me contradictory answers", "communication"),
    ("they refused to honour the warranty", "promises_not_kept"),
    ("coupon code not valid, fine print says selected items", "promises_not_kept"),
    ("my personal data was leaked in a breach", "privacy"),
    ("spam calls started the day after I ordered", "privacy"),
    ("charged twice for the same order", "pricing"),
    ("so overpriced, prices went up again", "pricing"),
    ("boycott them, that ad campaign is awful", "other"),
    ("快递一周了还没到，物流也不更新", "logistics"),
    ("发错货了，还压坏了", "logistics"),
    ("质量太差，用两天就坏了，严重色差", "product_quality"),
    ("退款申请十天了还没到账", "after_sales"),
    ("客服态度极差，爱答不理", "service_attitude"),
    ("客服电话一直打不通，发消息也不回复", "communication"),
    ("说好的七天无理由退货不给退", "promises_not_kept"),
    ("个人信息泄露了，天天骚扰电话", "privacy"),
    ("大数据杀熟，老用户更贵", "pricing"),
    ("代言人塌房了，抵制", "other"),
]


@pytest.mark.parametrize(("text", "expected"), KEYWORD_CASES)
def test_keyword_rules_alone(text: str, expected: str) -> None:
    language = "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en"
    [result] = CategoryClassifier().classify([text], [language])
    assert result.category == expected, result
    assert result.keywords, "a keyword decision names the words it matched"
    assert result.prototype is None  # no encoder, no prototypes


@pytest.mark.parametrize(
    ("text", "matched", "not_matched"),
    [
        ("REFUND me now", "refund", None),
        ("a non-refundable deposit", None, "refund"),  # whole words only
        ("two parcels went missing", "parcels", None),
        ("roads were busy", None, "ads"),
        ("it hasn\u2019t arrived", "hasn't arrived", None),  # curly apostrophe
        ("ＡＰＰ一直闪退", "闪退", None),  # full-width letters are normalised
    ],
)
def test_keyword_matching_details(text: str, matched: str | None, not_matched: str | None) -> None:
    words = {hit.matched for hit in keyword_hits(text)}
    if matched is not None:
        assert matched in words, words
    if not_matched is not None:
        assert not any(not_matched in word for word in words), words


def test_unrelated_text_is_other_without_an_encoder() -> None:
    texts = ["I had pasta for dinner", "what a game last night", "晚饭吃了面条"]
    results = CategoryClassifier().classify(texts, ["en", "en", "zh"])
    assert [r.category for r in results] == [OTHER] * 3


@pytest.mark.parametrize("embed", [None, fake_embed])
def test_empty_text_is_other_with_no_confidence(embed: object) -> None:
    texts = ["", "   ", "still waiting for my refund"]
    results = classify_categories(texts, ["en", "zh", "en"], embed)  # type: ignore[arg-type]
    assert results[0] == CategoryResult(OTHER, 0.0)
    assert results[1] == CategoryResult(OTHER, 0.0)
    assert results[2].category == "after_sales"


def test_no_texts() -> None:
    assert classify_categories([], [], fake_embed) == []
    assert classify_categories([], [], None) == []


def test_texts_and_languages_must_match() -> None:
    with pytest.raises(ValueError, match="2 texts but 1 languages"):
        classify_categories(["a", "b"], ["en"], None)


# ---- prototypes on an encoder ---------------------------------------------------------------


def test_prototype_embeddings_are_cached_per_encoder() -> None:
    classifier = CategoryClassifier()
    encoder = CountingEncoder()
    classifier.classify(["the parcel is late"], ["en"], encoder.embed)
    first = list(encoder.calls)
    assert len(first) == 2  # the English prototypes, then the post
    classifier.classify(["the parcel is late", "still late"], ["en", "en"], encoder.embed)
    assert encoder.calls[len(first) :] == [2]  # only the posts: prototypes came from the cache
    classifier.classify(["快递太慢"], ["zh"], encoder.embed)
    assert len(encoder.calls) == len(first) + 3  # Chinese prototypes once, then the post
    other = CountingEncoder()
    classifier.classify(["the parcel is late"], ["en"], other.embed)
    assert len(other.calls) == 2  # a different encoder gets its own prototype embeddings


def test_precomputed_embeddings_give_the_same_result() -> None:
    texts = ["my parcel never arrived", "客服态度太差", "the app keeps crashing"]
    languages = ["en", "zh", "en"]
    direct = classify_categories(texts, languages, fake_embed)
    reused = classify_categories(texts, languages, fake_embed, embeddings=fake_embed(texts))
    assert direct == reused


def test_embeddings_of_the_wrong_size_are_refused() -> None:
    with pytest.raises(ValueError, match="dimensions"):
        classify_categories(["late"], ["en"], fake_embed, embeddings=np.ones((1, 8)))
    with pytest.raises(ValueError, match="shape"):
        classify_categories(["late", "slow"], ["en", "en"], fake_embed, np.ones((1, 64)))


def test_a_prototype_decision_names_its_nearest_example() -> None:
    settings = CategorySettings(keyword_weight=0.0, prototype_weight=3.0, other_bias=0.0)
    classifier = CategoryClassifier(settings=settings)
    prototypes = Prototypes.load(CATEGORY_IDS)
    phrase = prototypes.phrases["privacy"]["en"][0]
    [result] = classifier.classify([phrase], ["en"], fake_embed)
    assert result.category == "privacy"
    assert result.prototype == phrase
    assert result.prototype_similarity == pytest.approx(1.0, abs=1e-4)
    assert phrase in result.evidence


# ---- evaluation ---------------------------------------------------------------------------


def test_report_arithmetic() -> None:
    gold = ["logistics", "logistics", "pricing", "other"]
    predicted = ["logistics", "pricing", "pricing", "pricing"]
    report = report_for(gold, predicted)
    assert report.per_class["logistics"].precision == 1.0
    assert report.per_class["logistics"].recall == 0.5
    assert report.per_class["pricing"].precision == pytest.approx(1 / 3)
    assert report.per_class["pricing"].recall == 1.0
    assert report.per_class["other"].f1 == 0.0
    assert report.accuracy == 0.5
    assert report.confusion["other"]["pricing"] == 1
    f1s = [2 / 3, 0.5, 0.0]  # logistics, pricing, other
    assert report.macro_f1 == pytest.approx(sum(f1s) / 3)


def test_evaluate_groups_by_language_and_part_and_prints() -> None:
    examples = [
        Example("parcel late", "en", "logistics", "A"),
        Example("快递太慢", "zh", "logistics", "B"),
        Example("rude staff", "en", "service_attitude", "A"),
    ]
    report = evaluate_categories(examples, lambda texts, _langs: ["logistics"] * len(texts))
    assert set(report.by_language) == {"en", "zh"}
    assert set(report.by_part) == {"A", "B"}
    assert report.by_language["zh"].accuracy == 1.0
    text = report.format()
    assert "macro-F1" in text and "confusion" in text and "part B" in text
    assert json.loads(json.dumps(report.to_dict()))["total"] == 3


def test_cli_prints_the_keyword_only_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--eval", str(EVAL_SET), "--keywords-only"]) == 0
    out = capsys.readouterr().out
    assert "precision" in out and "macro-F1" in out
    for category in CATEGORY_IDS:
        assert category in out


# ---- quality bars -------------------------------------------------------------------------


def test_keywords_only_quality_bar() -> None:
    classifier = CategoryClassifier()
    report = evaluate_categories(load_examples(EVAL_SET), classifier.classify)
    assert report.macro_f1 >= MIN_MACRO_F1_KEYWORDS_ONLY, report.format()


@pytest.fixture(scope="module")
def model_embed():  # type: ignore[no-untyped-def]
    """The encoder and settings the default model reads categories with (base e5)."""
    from sentiment import SentimentSettings
    from sentiment.category import settings_for
    from sentiment.model import load_model

    encoder = load_model(SentimentSettings(threads=2)).category_encoder
    return encoder.embed, settings_for(encoder.info.package)


def test_quality_bar_with_the_sentiment_encoder(model_embed) -> None:  # type: ignore[no-untyped-def]
    classifier = default_classifier()  # shared, so the next test reuses its prototype cache
    embed, settings = model_embed
    report = evaluate_categories(
        load_examples(EVAL_SET),
        lambda texts, langs: classifier.classify(texts, langs, embed, settings=settings),
    )
    assert report.macro_f1 >= MIN_MACRO_F1, report.format()
    assert report.by_part["B"].macro_f1 >= MIN_MACRO_F1_PART_B, report.format()
    for category, scores in report.per_class.items():
        assert scores.f1 >= MIN_CLASS_F1, (category, report.format())


def test_unrelated_text_is_other_with_the_sentiment_encoder(model_embed) -> None:  # type: ignore[no-untyped-def]
    texts = ["I had pasta for dinner with my sister", "what a game last night", "晚饭吃了面条"]
    embed, settings = model_embed
    results = classify_categories(texts, ["en", "en", "zh"], embed, settings=settings)
    assert [r.category for r in results] == [OTHER] * 3, results
