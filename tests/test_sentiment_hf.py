"""Bring your own model: a tiny random BERT classifier saved to disk, loaded offline through
the config, its labels mapped onto (negative, neutral, positive)."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

from flows.config import ConfigError, parse_config
from sentiment.config import ModelLabel, SentimentSettings
from sentiment.data import Example
from sentiment.encoder import encoder_folder
from sentiment.errors import ModelError
from sentiment.evaluate import EvalSet, evaluate_models, main
from sentiment.hf_model import (
    HfSentimentModel,
    label_columns,
    load_hf_model,
    model_version,
    resolve_model_folder,
    weights_sha256,
)

TEXTS = [
    "Terrible service, never again",
    "ok",
    "The parcel arrived on time and the support team was lovely, thank you so much for the help!",
    "",
    "快递太慢了",
    "   ",
    "Fine I guess",
]
IDENTITY: dict[str, ModelLabel | list[ModelLabel]] = {
    "negative": "LABEL_0",
    "neutral": "LABEL_1",
    "positive": "LABEL_2",
}


def save_tiny_model(folder: Path, labels: list[str], seed: int = 0) -> Path:
    """A random 1-layer BERT classifier with MiniLM's tokenizer, in save_pretrained layout."""
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=128,
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    model = BertForSequenceClassification(config)
    with torch.no_grad():  # large random logits, so the columns differ clearly
        model.classifier.weight.normal_(0.0, 2.0)
        model.classifier.bias.copy_(torch.linspace(-1.0, 1.0, len(labels)))
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(encoder_folder(), local_files_only=True).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_model(
        tmp_path_factory.mktemp("hf") / "tiny-bert", ["LABEL_0", "LABEL_1", "LABEL_2"]
    )


@pytest.fixture(scope="module")
def identity_model(tiny: Path) -> HfSentimentModel:
    settings = SentimentSettings(model="hf", hf_model=str(tiny), hf_labels=IDENTITY, threads=2)
    return load_hf_model(settings)


def direct_probabilities(folder: Path, texts: list[str]) -> np.ndarray:
    """The model's own softmax, one text at a time, no uproar code involved."""
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    network = BertForSequenceClassification.from_pretrained(folder, local_files_only=True).eval()
    rows = []
    with torch.inference_mode():
        for text in texts:
            encoded = tokenizer(text, return_tensors="pt", truncation=True, max_length=126)
            rows.append(torch.softmax(network(**encoded).logits.double(), -1)[0].numpy())
    return np.array(rows)


def test_probabilities_shape_sum_and_order_match_the_model(
    identity_model: HfSentimentModel, tiny: Path
) -> None:
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    p = identity_model.probabilities(TEXTS, batch_size=3)
    assert p.shape == (len(TEXTS), 3)
    assert np.allclose(p.sum(axis=1), 1.0)
    # Empty and whitespace-only texts are exactly neutral, as with uproar's own model.
    assert p[3].tolist() == [0.0, 1.0, 0.0] and p[5].tolist() == [0.0, 1.0, 0.0]
    present = [i for i, text in enumerate(TEXTS) if text.strip()]
    expected = direct_probabilities(tiny, [TEXTS[i] for i in present])
    # Length-bucketed, padded batches give each text what the model gives it alone.
    assert np.allclose(p[present], expected, atol=1e-5)
    assert not np.allclose(expected[:, 0], expected[:, 2], atol=1e-3), "columns must differ"


def test_label_mapping_permutes_columns(identity_model: HfSentimentModel, tiny: Path) -> None:
    permuted = load_hf_model(
        SentimentSettings(
            model="hf",
            hf_model=str(tiny),
            hf_labels={"negative": "LABEL_2", "neutral": "LABEL_0", "positive": "LABEL_1"},
        )
    )
    by_index = load_hf_model(
        SentimentSettings(
            model="hf", hf_model=str(tiny), hf_labels={"negative": 2, "neutral": 0, "positive": 1}
        )
    )
    base = identity_model.probabilities(TEXTS)
    swapped = permuted.probabilities(TEXTS)
    present = [i for i, text in enumerate(TEXTS) if text.strip()]
    assert np.allclose(swapped[present], base[present][:, [2, 0, 1]])
    assert np.allclose(by_index.probabilities(TEXTS), swapped)


def test_scores_carry_the_version_and_the_threshold_rule(tiny: Path) -> None:
    settings = SentimentSettings(
        model="hf", hf_model=str(tiny), hf_labels=IDENTITY, hf_negativity_threshold=0.01
    )
    model = load_hf_model(settings)
    scores = model.score(TEXTS)
    assert model.version == f"hf:tiny-bert@{weights_sha256(tiny)[:12]}"
    assert all(s.model == model.version for s in scores)
    for text, score in zip(TEXTS, scores, strict=True):
        expected = "neutral" if not text.strip() else "negative"  # P(neg) >= 0.01 everywhere
        assert score.label == expected
        assert score.negative + score.neutral + score.positive == pytest.approx(1.0)
    with pytest.raises(TypeError):
        model.score("one string")


def test_version_follows_the_weights(tmp_path: Path, tiny: Path) -> None:
    other = save_tiny_model(tmp_path / "tiny-bert", ["LABEL_0", "LABEL_1", "LABEL_2"], seed=1)
    assert weights_sha256(other) != weights_sha256(tiny)
    assert len(model_version("x" * 300, "f" * 64)) == 100


def test_loads_with_the_network_unreachable(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    settings = SentimentSettings(model="hf", hf_model=str(tiny), hf_labels=IDENTITY)
    assert load_hf_model(settings).probabilities(["still works"]).shape == (1, 3)


def test_hub_id_not_cached_needs_allow_download() -> None:
    with pytest.raises(ModelError, match="allow_download = true"):
        resolve_model_folder("cardiffnlp/twitter-xlm-roberta-base-sentiment", False)
    with pytest.raises(ModelError, match="no such folder"):
        resolve_model_folder("/nonexistent/model/folder", True)


def test_self_named_labels_need_no_mapping(tmp_path: Path) -> None:
    folder = save_tiny_model(tmp_path / "named", ["Negative", "Neutral", "Positive"])
    model = load_hf_model(SentimentSettings(model="hf", hf_model=str(folder)))
    assert model.columns.tolist() == np.eye(3).tolist()


def test_binary_and_five_star_models(tmp_path: Path) -> None:
    binary = save_tiny_model(tmp_path / "binary", ["NEGATIVE", "POSITIVE"])
    model = load_hf_model(
        SentimentSettings(
            model="hf", hf_model=str(binary), hf_labels={"negative": "NEGATIVE", "positive": 1}
        )
    )
    p = model.probabilities(TEXTS[:3])
    assert np.all(p[:, 1] == 0.0) and np.allclose(p.sum(axis=1), 1.0)
    stars = ["1 star", "2 stars", "3 stars", "4 stars", "5 stars"]
    columns = label_columns(
        dict(enumerate(stars)),
        {"negative": ["1 star", "2 stars"], "neutral": "3 stars", "positive": [3, 4]},
    )
    assert columns.argmax(axis=1).tolist() == [0, 0, 1, 2, 2]


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"negative": "LABEL_9", "neutral": 1, "positive": 2}, r"no label 'LABEL_9'.*LABEL_0"),
        ({"negative": 0, "neutral": 1, "positive": 5}, "index 5 is out of range"),
        ({"negative": 0, "positive": 2}, r"\['LABEL_1'\] are not mapped"),
        ({"negative": 0, "neutral": "LABEL_0", "positive": 2}, "mapped twice"),
        ({}, "set hf_labels"),
    ],
)
def test_bad_label_mappings_are_explained(mapping: dict[str, object], message: str) -> None:
    id2label = {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}
    with pytest.raises(ModelError, match=message):
        label_columns(id2label, mapping)  # type: ignore[arg-type]


def test_bad_mapping_on_load_names_the_models_labels(tiny: Path) -> None:
    settings = SentimentSettings(
        model="hf", hf_model=str(tiny), hf_labels={"negative": "neg", "positive": "LABEL_2"}
    )
    with pytest.raises(ModelError, match=r"no label 'neg'; its labels are \['LABEL_0'"):
        load_hf_model(settings)


@pytest.mark.parametrize(
    ("sentiment", "message"),
    [
        ({"model": "hf", "hf_model": "x", "hf_labels": {"negatve": 0, "positive": 1}}, "negatve"),
        ({"model": "hf", "hf_model": "x", "hf_labels": {"negative": 0}}, "negative and positive"),
        ({"model": "hf", "hf_model": "x", "hf_labels": {"negative": 0, "positive": 0}}, "twice"),
        ({"model": "hf"}, "needs hf_model"),
        ({"hf_model": "some/model"}, 'set model = "hf"'),
        ({"model": "hf", "hf_model": "x", "allow_dowload": True}, "allow_dowload"),
    ],
)
def test_config_errors_name_the_key(sentiment: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as raised:
        parse_config({"sentiment": sentiment}, origin="uproar.toml")
    assert "uproar.toml" in str(raised.value) and "sentiment" in str(raised.value)


def test_config_reads_the_toml_shape() -> None:
    config = parse_config(
        {
            "sentiment": {
                "model": "hf",
                "hf_model": "cardiffnlp/twitter-xlm-roberta-base-sentiment",
                "hf_labels": {"negative": "negative", "neutral": "neutral", "positive": 2},
                "allow_download": False,
            }
        }
    )
    assert config.sentiment.hf_labels == {
        "negative": "negative",
        "neutral": "neutral",
        "positive": 2,
    }
    assert config.sentiment.allow_download is False


def test_evaluation_accepts_a_hf_model(identity_model: HfSentimentModel) -> None:
    examples = [Example(text, label, "t", label) for label, text in enumerate(TEXTS[:3])]
    sets = [EvalSet("s", "three_class", "en", examples)]
    report = evaluate_models({"hf": identity_model}, sets, "t")
    result = report.model("hf").set("s")
    assert result.n == 3 and result.macro_recall is not None
    stored = json.loads(json.dumps(report.to_json()))
    assert stored["models"][0]["version"] == identity_model.version


def test_eval_command_runs_a_hf_model(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sample = Path(__file__).parent / "data" / "sentiment_sample.jsonl"
    labels = json.dumps(IDENTITY)
    argv = ["--sample", str(sample), "--limit", "4", "--no-baseline", "--json"]
    main([*argv, "--model", "hf", "--hf-model", str(tiny), "--hf-labels", labels])
    stored = json.loads(capsys.readouterr().out)
    assert stored["models"][0]["version"].startswith("hf:tiny-bert@")
    assert [s["n"] for s in stored["models"][0]["sets"]] == [4, 4, 4]
