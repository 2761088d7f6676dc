"""``uproar sentiment eval``: the committed sample through the real model and VADER, the JSON
report, the metric rules, and the data checks."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pytest

from sentiment import SentimentSettings
from sentiment.data import Example
from sentiment.eval_table import print_report
from sentiment.evaluate import (
    DataError,
    EvalReport,
    EvalSet,
    SetResult,
    check_data,
    decided_labels,
    default_zh_test_ids,
    evaluate,
    evaluate_models,
    evaluation_sets,
    main,
    sample_sets,
    score_set,
    two_way,
    two_way_labels,
)
from sentiment.model import SentimentModel, load_model
from sentiment.vader import VaderBaseline

SAMPLE = Path(__file__).parent / "data" / "sentiment_sample.jsonl"
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
LABEL_INDEX = {"negative": 0, "neutral": 1, "positive": 2}


@pytest.fixture(scope="module")
def model() -> SentimentModel:
    return load_model(SentimentSettings(batch_size=32, threads=2))


PER_SET = 40  # of the sample's 90 / 40 / 90: enough to exercise every metric, and fast


@pytest.fixture(scope="module")
def report(model: SentimentModel) -> EvalReport:
    sets = [replace(s, examples=s.examples[:PER_SET]) for s in sample_sets(SAMPLE)]
    return evaluate_models({"model": model, "vader": VaderBaseline()}, sets, "s")


def test_sample_sets_are_typed_by_their_labels() -> None:
    sets = {s.name: s for s in sample_sets(SAMPLE)}
    assert set(sets) == {"tweeteval_val", "sst2_dev", "zh_val"}
    assert sets["tweeteval_val"].kind == "three_class"
    assert sets["sst2_dev"].kind == "binary" and sets["zh_val"].kind == "binary"
    assert sets["zh_val"].language == "zh" and sets["sst2_dev"].language == "en"
    assert sum(len(s.examples) for s in sets.values()) == 220


def test_json_report_has_every_field(report: EvalReport) -> None:
    stored = json.loads(json.dumps(report.to_json()))
    assert stored["source"] == "s"
    assert stored["sets"] == {"tweeteval_val": PER_SET, "sst2_dev": PER_SET, "zh_val": PER_SET}
    assert set(stored["rules"]) >= {"macro_recall", "accuracy", "decision_accuracy", "ece_max"}
    names = {f.name for f in fields(SetResult)}
    for entry in stored["models"]:
        assert set(entry) == {"name", "version", "sets"}
        for result in entry["sets"]:
            assert set(result) == names
            if result["skipped"]:
                continue
            assert result["score"] is not None and 0 <= result["score"] <= 1
            for kind in ("reliability_max", "reliability_negative"):
                table = result[kind]
                assert table["n"] == result["n"] and len(table["bins"]) == 15
                assert set(table["bins"][0]) == {
                    "lower",
                    "upper",
                    "count",
                    "mean_confidence",
                    "accuracy",
                }
                assert sum(b["count"] for b in table["bins"]) == result["n"]
                assert table["ece"] == pytest.approx(result[kind.replace("reliability", "ece")])


def test_model_is_scored_on_every_set(report: EvalReport, model: SentimentModel) -> None:
    result = report.model("model")
    assert result.version == model.version
    for set_result in result.sets:
        assert set_result.skipped is None
        assert None not in (set_result.score, set_result.decision_accuracy, set_result.ece_max)
    assert result.set("tweeteval_val").metric == "macro_recall"
    assert result.set("sst2_dev").metric == "accuracy"
    assert result.set("zh_val").routed_zh == 1.0
    assert result.set("sst2_dev").routed_zh == 0.0


def test_eval_labels_are_the_labels_the_model_stores(model: SentimentModel) -> None:
    """The decision metrics must use exactly SentimentModel.score's labels (threshold rule)."""
    tweets = next(s for s in sample_sets(SAMPLE) if s.name == "tweeteval_val").examples[:15]
    texts = [e.text for e in tweets] + ["快递太慢了，客服态度也很差", ""]
    stored = [LABEL_INDEX[score.label] for score in model.score(texts)]
    assert decided_labels(model, texts, model.probabilities(texts)).tolist() == stored
    assert len(set(stored)) == 3


def test_vader_is_the_english_baseline(report: EvalReport) -> None:
    vader = report.model("vader")
    assert vader.version == "vaderSentiment-3.3.2"
    assert vader.set("zh_val").skipped == "zh not supported (only en)"
    assert vader.set("zh_val").score is None
    tweets = vader.set("tweeteval_val")
    assert tweets.macro_recall is not None and 0.4 < tweets.macro_recall < 0.8
    baseline = VaderBaseline()
    texts = ["I love it", "I hate it", "It is a table", ""]
    assert baseline.decide_labels(texts, baseline.probabilities(texts)).tolist() == [2, 0, 1, 1]
    assert baseline.probabilities([""])[0].tolist() == [0.0, 1.0, 0.0]


def test_table_prints_every_set_and_model(report: EvalReport) -> None:
    from rich.console import Console

    console = Console(record=True, width=120)
    print_report(report, console, reliability=True)
    text = console.export_text()
    for name in ("tweeteval_val", "sst2_dev", "zh_val", "vader", "model"):
        assert name in text
    assert "vader on zh_val: skipped" in text
    assert "(0.933, 1.000]" in text


def test_command_line_json_on_the_sample(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--sample", str(SAMPLE), "--limit", "3", "--threads", "2", "--json"])
    stored = json.loads(capsys.readouterr().out)
    assert [m["name"] for m in stored["models"]] == ["model", "vader"]
    assert stored["sets"] == {"tweeteval_val": 3, "sst2_dev": 3, "zh_val": 3}


# ------------------------------------------------------------------ metric rules (pure)


def test_two_way_ignores_neutral_and_ties_go_positive() -> None:
    p = np.array([[0.3, 0.6, 0.1], [0.1, 0.8, 0.1], [0.0, 1.0, 0.0], [0.2, 0.0, 0.8]])
    assert two_way_labels(p).tolist() == [0, 2, 2, 2]
    q = two_way(p)
    assert q[0].tolist() == pytest.approx([0.75, 0.0, 0.25])
    assert q[2].tolist() == [0.5, 0.0, 0.5]
    assert np.allclose(q.sum(axis=1), 1.0)


def test_binary_set_scores_by_hand() -> None:
    gold = np.array([0, 0, 2, 2])
    p = np.array([[0.3, 0.6, 0.1], [0.1, 0.2, 0.7], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8]])
    stored = np.array([1, 2, 1, 2])  # the model's labels: neutral, positive, neutral, positive
    metrics = score_set(gold, p, stored, "binary")
    # Two-way: neg, pos, neg, pos -> 2 of 4 right. Decision: nothing flagged -> 2 of 4.
    assert metrics["accuracy"] == 0.5
    assert metrics["decision_accuracy"] == 0.5
    assert metrics["negative_recall"] == 0.0 and metrics["negative_precision"] == 0.0
    assert "macro_recall" not in metrics


def test_three_class_set_scores_by_hand() -> None:
    gold = np.array([0, 1, 2, 2])
    p = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.6, 0.3], [0.1, 0.1, 0.8]])
    stored = p.argmax(axis=1)
    metrics = score_set(gold, p, stored, "three_class")
    assert metrics["macro_recall"] == pytest.approx((1 + 1 + 0.5) / 3)
    assert metrics["accuracy"] == 0.75
    assert metrics["negative_f1"] == 1.0


def test_flat_scores(model: SentimentModel) -> None:
    sets = [
        EvalSet("tiny", "binary", "en", [Example("awful", 0, "t", 0), Example("great", 2, "t", 1)])
    ]
    flat = evaluate(model, sets)
    assert set(flat) == {
        "tiny_accuracy",
        "tiny_decision_accuracy",
        "tiny_negative_f1",
        "tiny_ece_max",
        "tiny_ece_negative",
    }


# ------------------------------------------------------------------ data


def test_missing_data_folder_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError, match=str(missing)):
        check_data(missing)
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "val_text.txt").write_text("x\n")
    with pytest.raises(DataError, match=r"lacks: .*val_labels\.txt"):
        check_data(tmp_path)
    with pytest.raises(DataError, match="nowhere"):
        main(["--data", str(missing), "--no-baseline"])


def test_malformed_sample_line_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"set": "a", "label": "negative", "text": "x"}\n{"set": "a"}\n')
    with pytest.raises(DataError, match=r"bad\.jsonl:2"):
        sample_sets(bad)


@pytest.mark.skipif(not DATA.is_dir(), reason=f"labelled data not found at {DATA}")
def test_full_sets_use_the_models_held_out_split() -> None:
    ids = default_zh_test_ids()
    sets = {s.name: s for s in evaluation_sets(DATA, ids, limit=30)}
    assert [len(s.examples) for s in sets.values()] == [30, 30, 30]
    for example in sets["zh_test"].examples:
        assert example.row in ids[example.source]
    assert {e.label for e in sets["zh_test"].examples} <= {0, 2}
    with pytest.raises(DataError, match="data changed since training"):
        evaluation_sets(DATA, {"waimai_10k.csv": [0, 10**9]})
