"""The training script end to end on a tiny sample: it must write a model uproar can load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sentiment import SentimentSettings
from sentiment.model import load_model
from sentiment.train import main as train_main

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.mark.skipif(not DATA.is_dir(), reason=f"training data not found at {DATA}")
def test_smoke_training_writes_a_loadable_model(tmp_path: Path) -> None:
    out = tmp_path / "model"
    train_main(
        [
            "--data",
            str(DATA),
            "--out",
            str(out),
            "--limit",
            "200",
            "--c-grid",
            "1",
            "4",
            "--threads",
            "2",
        ]
    )

    spec = json.loads((out / "model.json").read_text(encoding="utf-8"))
    assert spec["training"]["limit"] == 200
    assert spec["training"]["pool"] == 200
    assert 0 < spec["training"]["examples"] <= 200
    assert set(spec["validation"]) >= {
        "tweeteval_val_macro_recall",
        "sst2_dev_accuracy",
        "zh_val_accuracy",
    }
    assert spec["held_out"]["zh_test"]["ids"]
    assert spec["held_out"]["scores"]["zh_test_routed_zh"] > 0.9
    assert spec["validation"]["tweeteval_val_routed_zh"] < 0.1
    en, zh = spec["heads"]["en"], spec["heads"]["zh"]
    assert set(en["examples_by_source"]) <= {"semeval2013_2016_train.jsonl", "sst2_train.tsv"}
    assert "semeval2013_2016_train.jsonl" in en["examples_by_source"]
    assert set(zh["examples_by_source"]) <= {
        "waimai_10k.csv",
        "ChnSentiCorp_htl_all.csv",
        "online_shopping_10_cats.zip",
    }
    assert zh["labels"].keys() == {"negative", "positive"}
    assert (out / en["file"]).is_file() and (out / zh["file"]).is_file()
    assert "Smoke model" in (out / "MODEL_CARD.md").read_text(encoding="utf-8")

    model = load_model(SentimentSettings(model=str(out)))
    assert model.version == spec["version"]
    scores = model.score(["great", "awful", "", "很好"])
    assert [round(s.negative + s.neutral + s.positive, 6) for s in scores] == [1.0] * 4
    assert scores[3].neutral < 1e-6  # routed to the binary Chinese head
