"""Train the default sentiment head: frozen MiniLM embeddings + logistic regression.

    python -m sentiment.train --data /work/shared/data --out sentiment/default_model

Training data: a sample of SemEval 2013-2016 tweets (3-class), SST-2 train and Chinese
reviews (binary). C and the negativity threshold are chosen on TweetEval val, SST-2 dev and
a Chinese validation split; a separate Chinese split is held out and only reported. Every
sample is drawn with ``--seed``, so a rerun writes the same model. ``--cache`` keeps
embeddings between runs (point it at /tmp, never into the repository).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sentiment import card
from sentiment.data import (
    ZH_SOURCES,
    Example,
    load_semeval,
    load_sst2,
    load_tweeteval_val,
    sample,
    split_zh,
)
from sentiment.encoder import Encoder, load_encoder
from sentiment.evaluate import headline, scores_for
from sentiment.head import LinearHead, decide_labels
from sentiment.model import HEAD_FILE, LABELS, SPEC_FILE

C_GRID = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
THRESHOLD_GRID = tuple(round(0.25 + 0.01 * i, 2) for i in range(36))  # 0.25 .. 0.60
NO_THRESHOLD = 1.01


def embed_cached(
    encoder: Encoder, texts: list[str], cache: Path | None, batch_size: int
) -> np.ndarray:
    """Embeddings for ``texts``, reused from ``cache`` when the same texts were seen before."""
    if cache is None:
        return encoder.embed(texts, batch_size)
    key = hashlib.sha256()
    key.update(f"{encoder.info.weights_sha256}:{encoder.max_length}".encode())
    for text in texts:
        key.update(text.encode("utf-8") + b"\x00")
    path = cache / f"emb-{key.hexdigest()[:24]}.npy"
    if path.exists():
        return np.asarray(np.load(path))
    vectors = encoder.embed(texts, batch_size)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def training_set(args: argparse.Namespace) -> tuple[list[Example], dict[str, list[Example]]]:
    """The training examples and the validation sets used for tuning."""
    zh = split_zh(args.data, args.seed, args.zh_test_per_source, args.zh_val_per_source)
    zh_train: list[Example] = []
    for index, source in enumerate(ZH_SOURCES):
        pool = [e for e in zh.train if e.source == source]
        zh_train += sample(pool, args.zh_train_per_source, args.seed + index)
    train = (
        sample(load_semeval(args.data), args.semeval, args.seed)
        + load_sst2(args.data, "train")
        + zh_train
    )
    validation = {
        "tweeteval_val": load_tweeteval_val(args.data),
        "sst2_dev": load_sst2(args.data, "dev"),
        "zh_val": zh.val,
    }
    if args.limit is not None:
        train = sample(train, args.limit, args.seed)
        validation = {k: sample(v, args.limit, args.seed) for k, v in validation.items()}
        zh.test[:] = sample(zh.test, args.limit, args.seed)
    if len({e.label for e in train}) != len(LABELS):
        raise SystemExit(f"the training sample of {len(train)} lacks a class; raise --limit")
    args.zh_test = zh.test
    return train, validation


def validation_scores(
    head: LinearHead, embedded: dict[str, tuple[np.ndarray, np.ndarray]], threshold: float
) -> dict[str, float]:
    scores: dict[str, float] = {}
    for name, (vectors, gold) in embedded.items():
        predicted = decide_labels(head.probabilities(vectors), threshold)
        scores |= scores_for(name, gold, predicted)
    return scores


def fit(vectors: np.ndarray, labels: np.ndarray, c: float, seed: int) -> LinearHead:
    from sklearn.linear_model import LogisticRegression

    classifier = LogisticRegression(C=c, class_weight="balanced", max_iter=3000, random_state=seed)
    classifier.fit(vectors, labels)
    return LinearHead(classifier.coef_.astype(np.float64), classifier.intercept_.astype(np.float64))


def train(args: argparse.Namespace) -> dict[str, Any]:
    """Run the whole recipe and write head, model.json and MODEL_CARD.md to ``args.out``."""
    started = time.monotonic()
    train_examples, validation = training_set(args)
    encoder = load_encoder(max_length=args.max_length, threads=args.threads)

    def embed(examples: Sequence[Example]) -> np.ndarray:
        texts = [e.text for e in examples]
        return embed_cached(encoder, texts, args.cache, args.batch_size)

    x_train = embed(train_examples)
    y_train = np.array([e.label for e in train_examples])
    embedded = {k: (embed(v), np.array([e.label for e in v])) for k, v in validation.items()}

    c_search: dict[str, float] = {}
    best: tuple[float, float, LinearHead] | None = None
    for c in args.c_grid:
        head = fit(x_train, y_train, c, args.seed)
        objective = headline(validation_scores(head, embedded, NO_THRESHOLD))
        c_search[str(c)] = round(objective, 4)
        print(f"C={c}: validation headline {objective:.4f}", flush=True)
        if best is None or objective > best[0]:
            best = (objective, c, head)
    assert best is not None
    _, chosen_c, head = best

    threshold_search = {t: headline(validation_scores(head, embedded, t)) for t in THRESHOLD_GRID}
    threshold = max(threshold_search, key=lambda t: (round(threshold_search[t], 4), -t))
    if threshold_search[threshold] <= headline(validation_scores(head, embedded, NO_THRESHOLD)):
        threshold = 0.5
    validation_result = validation_scores(head, embedded, threshold)
    print(f"C={chosen_c} threshold={threshold}: {validation_result}", flush=True)

    zh_test: list[Example] = args.zh_test
    zh_test_ids: dict[str, list[int]] = {
        s: sorted(e.row for e in zh_test if e.source == s) for s in ZH_SOURCES
    }
    test_vectors = embed(zh_test)
    held_out = validation_scores(
        head, {"zh_test": (test_vectors, np.array([e.label for e in zh_test]))}, threshold
    )

    args.out.mkdir(parents=True, exist_ok=True)
    head_path = args.out / HEAD_FILE
    head.save(head_path)
    head_path.chmod(0o644)
    head_sha = hashlib.sha256(head_path.read_bytes()).hexdigest()
    spec = {
        "format": 1,
        "version": f"uproar-minilm-lr-{head_sha[:10]}",
        "labels": list(LABELS),
        "negativity_threshold": threshold,
        "head": {"file": HEAD_FILE, "sha256": head_sha, "dim": int(x_train.shape[1])},
        "encoder": {
            "package": encoder.info.package,
            "version": encoder.info.version,
            "weights_file": "model.safetensors",
            "weights_sha256": encoder.info.weights_sha256,
            "pooling": "attention-masked mean, then L2 normalisation",
            "max_length": args.max_length,
        },
        "training": {
            "method": (
                "frozen all-MiniLM-L6-v2 sentence embeddings; scikit-learn LogisticRegression "
                "(multinomial, lbfgs, class_weight=balanced); C chosen on validation"
            ),
            "C": chosen_c,
            "c_search": c_search,
            "threshold_search": {str(t): round(v, 4) for t, v in threshold_search.items()},
            "seed": args.seed,
            "limit": args.limit,
            "examples": len(train_examples),
            "examples_by_source": dict(Counter(e.source for e in train_examples)),
            "labels": {LABELS[k]: v for k, v in sorted(Counter(y_train.tolist()).items())},
            "never_trained_on": [
                "en/val_text.txt",
                "en/sst2_dev.tsv",
                "zh validation split",
                "zh held-out split",
            ],
            "seconds": round(time.monotonic() - started, 1),
        },
        "validation": {k: round(v, 4) for k, v in validation_result.items()},
        "held_out": {
            "zh_test": {
                "seed": args.seed,
                "per_source": args.zh_test_per_source,
                "split": "each zh file deduplicated by text, shuffled with"
                " Random(f'{seed}:{file}'), first per_source rows held out, next"
                " zh_val_per_source rows for validation",
                "zh_val_per_source": args.zh_val_per_source,
                "ids": zh_test_ids,
            },
            "scores": {k: round(v, 4) for k, v in held_out.items()},
        },
    }
    (args.out / SPEC_FILE).write_text(json.dumps(spec, indent=1, ensure_ascii=False) + "\n")
    (args.out / card.CARD_FILE).write_text(card.render(spec), encoding="utf-8")
    return spec


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Train the uproar sentiment head.")
    parser.add_argument("--data", type=Path, required=True, help="the shared data folder")
    parser.add_argument("--out", type=Path, required=True, help="folder to write the model to")
    parser.add_argument("--limit", type=int, default=None, help="tiny run: N examples per set")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--semeval", type=int, default=16000, help="tweets sampled for training")
    parser.add_argument("--zh-train-per-source", type=int, default=3500)
    parser.add_argument("--zh-val-per-source", type=int, default=300)
    parser.add_argument("--zh-test-per-source", type=int, default=500)
    parser.add_argument("--c-grid", type=float, nargs="+", default=list(C_GRID))
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--cache", type=Path, default=None, help="embedding cache folder")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    spec = train(parse_args(argv))
    print(
        json.dumps(
            {"version": spec["version"], **spec["validation"], **spec["held_out"]["scores"]},
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
