"""The training script end to end on a tiny sample (--smoke): it must write a model uproar can
load, with the adapter, calibrated heads, thresholds, held-out ids, scores and a card."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sentiment import SentimentSettings
from sentiment.model import load_model, read_spec
from sentiment.train import main as train_main

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

pytestmark = pytest.mark.xdist_group("e5")


@pytest.mark.timeout(1200)
@pytest.mark.skipif(not DATA.is_dir(), reason=f"training data not found at {DATA}")
def test_smoke_training_writes_a_loadable_model(tmp_path: Path) -> None:
    out = tmp_path / "model"
    train_main(
        ["--data", str(DATA), "--out", str(out), "--smoke", "--runtime", "torch", "--threads", "2"]
    )

    spec = json.loads((out / "model.json").read_text(encoding="utf-8"))
    assert spec["format"] == 3 and spec["encoder"]["kind"] == "e5"
    assert spec["training"]["smoke"] is True
    assert spec["training"]["examples_by_source"]["semeval2013_2016_train.jsonl"] == 48
    assert spec["held_out"]["zh_test"]["ids"]
    for language in ("en", "zh"):
        head = spec["heads"][language]
        assert 0.0 < head["negativity_threshold"] <= 0.5
        assert head["calibration"]["method"] in ("temperature", "vector")
        assert "after_max" in head["ece"]
    names = {s["name"] for m in spec["scores"]["models"] for s in m["sets"]}
    assert names == {"tweeteval_val", "sst2_dev", "zh_test"}
    assert {m["name"] for m in spec["scores"]["models"]} == {"model", "vader"}
    assert "Smoke model" in (out / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert (out / "adapter.safetensors").stat().st_size < 5_000_000

    model = load_model(SentimentSettings(model=str(out), runtime="torch"))
    assert model.version == spec["version"] == read_spec(out).version
    scores = model.score(["great", "awful", "", "很好"])
    assert [round(s.negative + s.neutral + s.positive, 6) for s in scores] == [1.0] * 4
    assert scores[2].neutral == 1.0
