"""The fine-tuning recipe for the default model: which data, which settings, which checks.

    python -m sentiment.e5.recipe --data /work/shared/data --out /tmp/e5-adapter

Tweets (SemEval 2013-2016, 3-class), SST-2 train and the Chinese review training pool
(binary) are mixed; the adapter state kept is the one that clears every validation bar by the
widest margin (``BARS``). The Chinese held-out split is the one ``split_zh`` makes with the
recorded seed.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoTokenizer, BertModel

from sentiment.data import (
    ZH_SOURCES,
    Example,
    load_semeval,
    load_sst2,
    load_tweeteval_val,
    sample,
    split_zh,
)
from sentiment.e5.finetune import (
    FinetuneConfig,
    encode_examples,
    finetune,
    save_adapter,
)
from sentiment.e5.tokenizer import Normaliser
from sentiment.evaluate import macro_recall

SEMEVAL = "semeval2013_2016_train.jsonl"
# The checkpoint kept is the one that clears every quality bar by the widest margin (the
# worst of score minus bar over the validation sets), not the best on any single set: a
# state that is best on tweets but misses the review bar is not the better model.
BARS = {
    "tweeteval_val_macro_recall": 0.72,
    "sst2_dev_accuracy": 0.85,
    "zh_val_accuracy": 0.88,
}
OBJECTIVE = "worst_margin_to_bar"


def tokenizer_for(folder: Path, max_length: int) -> Callable[[list[str]], list[list[int]]]:
    fast = AutoTokenizer.from_pretrained(folder)
    normalise = Normaliser.from_folder(folder)

    def tokenize(texts: list[str]) -> list[list[int]]:
        encoded = fast([normalise.query(t) for t in texts], truncation=True, max_length=max_length)
        return [list(ids) for ids in encoded["input_ids"]]

    return tokenize


def mixture(data: Path, args: argparse.Namespace) -> tuple[list[Example], dict[str, list[Example]]]:
    tweets = sample(load_semeval(data), args.semeval, args.seed)
    sst2 = sample(load_sst2(data, "train"), args.sst2, args.seed)
    split = split_zh(data, args.seed, args.zh_test_per_source, args.zh_val_per_source)
    zh = []
    for source in ZH_SOURCES:
        pool = [e for e in split.train if e.source == source]
        zh += sample(pool, args.zh_train_per_source, args.seed)
    validation = {
        "tweeteval_val": load_tweeteval_val(data),
        "sst2_dev": load_sst2(data, "dev"),
        "zh_val": split.val,
    }
    return tweets + sst2 + zh, validation


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The recipe's knobs; defaults are the committed model's."""
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--semeval", type=int, default=24000, help="tweets sampled for training")
    parser.add_argument("--sst2", type=int, default=None, help="SST-2 train sentences (all)")
    parser.add_argument("--zh-train-per-source", type=int, default=3000)
    parser.add_argument("--zh-val-per-source", type=int, default=300)
    parser.add_argument("--zh-test-per-source", type=int, default=500)
    parser.add_argument("--frozen-layers", type=int, default=6)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--lr", type=float, default=6e-4)
    parser.add_argument("--eval-every", type=int, default=8000)
    parser.add_argument("--val-limit", type=int, default=None, help="validation texts per set")
    parser.add_argument("--threads", type=int, default=None)


def run_finetune(data: Path, base: Path, out: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Fine-tune and write ``adapter.safetensors``, ``head.pt`` and ``history.json`` to ``out``."""
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = FinetuneConfig(
        frozen_layers=args.frozen_layers,
        rank=args.rank,
        alpha=2.0 * args.rank,
        epochs=args.epochs,
        lr=args.lr,
        seed=args.seed,
        eval_every=args.eval_every,
    )
    train, validation = mixture(data, args)
    validation = {k: v[: args.val_limit] for k, v in validation.items()}
    by_source = dict(Counter(e.source for e in train))
    print(f"training on {by_source}", flush=True)
    model = BertModel.from_pretrained(base, add_pooling_layer=False)
    model.eval()
    tokenize = tokenizer_for(base, cfg.max_length)
    encoded = encode_examples(tokenize, model, train, cfg.frozen_layers)
    val_encoded = {
        k: encode_examples(tokenize, model, v, cfg.frozen_layers) for k, v in validation.items()
    }
    print("lower layers cached", flush=True)
    tweets = np.array([e.label for e in train if e.source == SEMEVAL], dtype=np.int64)
    counts = np.maximum(np.bincount(tweets, minlength=3).astype(float), 1.0)
    class_weights = torch.tensor(counts.sum() / (3 * counts), dtype=torch.float32)

    def evaluate(probabilities: Callable[[list[torch.Tensor]], np.ndarray]) -> dict[str, float]:
        scores: dict[str, float] = {}
        for name, enc in val_encoded.items():
            p = probabilities(enc.states)
            if name == "tweeteval_val":
                scores["tweeteval_val_macro_recall"] = round(
                    macro_recall(enc.labels, p.argmax(1)), 4
                )
            else:
                predicted = np.where(p[:, 0] > p[:, 2], 0, 2)
                scores[f"{name}_accuracy"] = round(float(np.mean(predicted == enc.labels)), 4)
        scores[OBJECTIVE] = round(min(scores[k] - bar for k, bar in BARS.items() if k in scores), 4)
        return scores

    result = finetune(model, encoded, class_weights, cfg, evaluate, OBJECTIVE)
    out.mkdir(parents=True, exist_ok=True)
    save_adapter(
        result,
        out / "adapter.safetensors",
        {"frozen_layers": str(cfg.frozen_layers), "rank": str(cfg.rank)},
    )
    torch.save({"weight": result.head_weight, "bias": result.head_bias}, out / "head.pt")
    config = {k: v for k, v in vars(cfg).items() if k != "log"}
    config["examples_by_source"] = by_source
    history = {"history": result.history, "seconds": result.seconds, "config": config}
    (out / "history.json").write_text(json.dumps(history, indent=1))
    print("done", result.seconds, flush=True)
    return history


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--base", type=Path, required=True, help="converted e5 BertModel folder")
    parser.add_argument("--out", type=Path, required=True)
    add_arguments(parser)
    args = parser.parse_args(argv)
    run_finetune(args.data, args.base, args.out, args)


if __name__ == "__main__":
    main()
