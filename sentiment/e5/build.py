"""Assemble the default model folder from a fine-tuning run: calibrated heads, thresholds,
model.json and the model card.

The fine-tuned head is copied to one head per language and each copy is calibrated on its own
validation set (English: TweetEval val, three classes; Chinese: the Chinese validation split,
binary) by temperature scaling, which changes how sure the model claims to be but never which
class wins. The calibration is folded into the head weights, so scoring needs no extra step, and
the negativity threshold is chosen on the calibrated validation probabilities.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sentiment import card
from sentiment.calibration import calibrate_head
from sentiment.data import ZH_SOURCES, Example, load_tweeteval_val, split_zh
from sentiment.e5.encoder import E5Encoder, Runtime
from sentiment.encoder import file_sha256
from sentiment.head import LinearHead
from sentiment.language import ZH_MIN_CJK_SHARE
from sentiment.model import ADAPTER_FILE, FORMAT, HEAD_FILES, LABELS, SPEC_FILE


def _logits(vectors: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    return vectors.astype(np.float64) @ weight.T + bias


def build_model_folder(
    run: Path,
    data: Path,
    out: Path,
    *,
    seed: int = 13,
    zh_test_per_source: int = 500,
    zh_val_per_source: int = 300,
    training: dict[str, Any] | None = None,
    limit: int | None = None,
    runtime: Runtime = "onnx",
) -> dict[str, Any]:
    """Write ``out`` (adapter, heads, model.json, card) from the fine-tuning ``run`` folder."""
    out.mkdir(parents=True, exist_ok=True)
    adapter = out / ADAPTER_FILE
    if (run / ADAPTER_FILE).resolve() != adapter.resolve():
        shutil.copyfile(run / ADAPTER_FILE, adapter)
    head = torch.load(run / "head.pt")
    weight = head["weight"].double().numpy()
    bias = head["bias"].double().numpy()
    history = json.loads((run / "history.json").read_text())
    encoder = E5Encoder(adapter, runtime=runtime)

    split = split_zh(data, seed, zh_test_per_source, zh_val_per_source)
    validation: dict[str, list[Example]] = {
        "en": load_tweeteval_val(data)[:limit],
        "zh": split.val[:limit],
    }
    heads: dict[str, dict[str, Any]] = {}
    for language, examples in validation.items():
        vectors = encoder.embed([e.text for e in examples])
        labels = np.array([e.label for e in examples])
        # Temperature only: one scale per head never changes which class is largest, so the
        # fine-tuned decisions stay as trained (vector scaling cost 1-2 points of accuracy).
        tuned = calibrate_head(
            _logits(vectors, weight, bias), labels, methods=("temperature",), seed=seed
        )
        w, b = tuned.calibration.fold_into_linear(weight, bias)
        path = out / HEAD_FILES[language]  # type: ignore[index]
        LinearHead(w, b).save(path)
        heads[language] = {
            "file": path.name,
            "sha256": file_sha256(path),
            "dim": int(w.shape[1]),
            "negativity_threshold": tuned.threshold.threshold,
            "validation_set": "tweeteval_val" if language == "en" else "zh_val",
            **tuned.to_json(),
        }
    zh_test_ids = {s: sorted(e.row for e in split.test if e.source == s) for s in ZH_SOURCES}
    fingerprint = hashlib.sha256(
        ":".join([file_sha256(adapter), heads["en"]["sha256"], heads["zh"]["sha256"]]).encode()
    ).hexdigest()[:10]
    spec: dict[str, Any] = {
        "format": FORMAT,
        "version": f"uproar-e5lora-{fingerprint}",
        "labels": list(LABELS),
        "routing": {
            "rule": "zh when at least zh_min_cjk_share of the letters (str.isalpha) are CJK"
            " ideographs, else en; empty text is neutral",
            "zh_min_cjk_share": ZH_MIN_CJK_SHARE,
        },
        "encoder": {
            "kind": "e5",
            "package": encoder.source.package,
            "version": encoder.source.version,
            "weights_file": encoder.source.path.name,
            "weights_sha256": encoder.source.sha256,
            "adapter": {"file": ADAPTER_FILE, "sha256": file_sha256(adapter)},
            "prefix": "query: ",
            "pooling": "attention-masked mean, then L2 normalisation",
            "max_length": 128,
        },
        "heads": heads,
        "training": {
            **(training or {}),
            **history.get("config", {}),
            "history": history["history"],
            "seconds": history.get("seconds"),
        },
        "held_out": {
            "zh_test": {
                "seed": seed,
                "per_source": zh_test_per_source,
                "zh_val_per_source": zh_val_per_source,
                "split": "each zh file deduplicated by text, shuffled with"
                " Random(f'{seed}:{file}'), first per_source rows held out, next"
                " zh_val_per_source rows for validation",
                "ids": zh_test_ids,
            },
        },
    }
    (out / SPEC_FILE).write_text(json.dumps(spec, indent=1, ensure_ascii=False) + "\n")
    return spec


def record_scores(out: Path, scores: dict[str, Any]) -> dict[str, Any]:
    """Add the evaluation (model and VADER, as ``uproar sentiment eval`` prints it) to
    model.json and write the model card from it."""
    spec = json.loads((out / SPEC_FILE).read_text(encoding="utf-8"))
    spec["scores"] = scores
    (out / SPEC_FILE).write_text(json.dumps(spec, indent=1, ensure_ascii=False) + "\n")
    (out / card.CARD_FILE).write_text(card.render(spec), encoding="utf-8")
    return spec
