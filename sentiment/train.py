"""Train the default sentiment model: frozen MiniLM embeddings + one logistic-regression head
per language (English, Chinese), texts routed by :func:`sentiment.language.language_of`.

    python -m sentiment.train --data /work/shared/data --out sentiment/default_model

English head: SemEval 2013-2016 tweets (3-class), with or without SST-2 train (binary); the data
variant, C and the negativity threshold are chosen on TweetEval val macro-recall (SST-2 dev is
reported, not optimised: a head that mixes domains scored tweets worse). Chinese head: the
Chinese review files (binary); C and threshold are chosen on a Chinese validation split, and a
separate Chinese split is held out and only reported. Every sample is drawn with ``--seed``, so
a rerun writes the same model. ``--cache`` keeps embeddings between runs (point it at /tmp,
never into the repository).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
from sentiment.encoder import Encoder, file_sha256, load_encoder
from sentiment.evaluate import scores_for
from sentiment.head import LinearHead, decide_labels, three_class
from sentiment.language import ZH_MIN_CJK_SHARE, Language, language_of
from sentiment.model import FORMAT, HEAD_FILES, LABELS, SPEC_FILE, routed_probabilities

C_GRID = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
THRESHOLD_GRID = tuple(round(0.25 + 0.01 * i, 2) for i in range(36))  # 0.25 .. 0.60
NO_THRESHOLD = 1.01
SEMEVAL = "semeval2013_2016_train.jsonl"
SST2 = "sst2_train.tsv"
# English training data variants, tried in this order; the first wins a tie.
EN_VARIANTS: dict[str, tuple[str, ...]] = {"tweets": (SEMEVAL,), "tweets+sst2": (SEMEVAL, SST2)}
# What each head's C, data variant and threshold maximise, and on which validation sets.
OBJECTIVES: dict[Language, str] = {"en": "tweeteval_val_macro_recall", "zh": "zh_val_accuracy"}
HEAD_VALIDATION: dict[Language, tuple[str, ...]] = {
    "en": ("tweeteval_val", "sst2_dev"),
    "zh": ("zh_val",),
}
HEAD_CLASSES: dict[Language, tuple[int, ...]] = {"en": (0, 1, 2), "zh": (0, 2)}

Embedded = dict[str, tuple[np.ndarray, np.ndarray]]


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
    """The training pool (every source, in a fixed order) and the validation sets."""
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
    args.zh_test = zh.test
    return train, validation


def validation_scores(head: LinearHead, embedded: Embedded, threshold: float) -> dict[str, float]:
    """Every set in ``embedded`` scored by one head (no routing): what tuning looks at."""
    scores: dict[str, float] = {}
    for name, (vectors, gold) in embedded.items():
        predicted = decide_labels(head.probabilities(vectors), threshold)
        scores |= scores_for(name, gold, predicted)
    return scores


def fit(vectors: np.ndarray, labels: np.ndarray, c: float, seed: int) -> LinearHead:
    from sklearn.linear_model import LogisticRegression

    classifier = LogisticRegression(C=c, class_weight="balanced", max_iter=3000, random_state=seed)
    classifier.fit(vectors, labels)
    return three_class(classifier.coef_, classifier.intercept_, classifier.classes_.tolist())


@dataclass(frozen=True)
class TunedHead:
    """A head with the choices validation made for it, and the searches behind them."""

    head: LinearHead
    variant: str
    c: float
    threshold: float
    search: dict[str, float]
    threshold_search: dict[str, float]
    examples_by_source: dict[str, int]
    labels: dict[str, int]


def tune_head(
    language: Language,
    variants: Mapping[str, np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    sources: np.ndarray,
    embedded: Embedded,
    c_grid: Sequence[float],
    seed: int,
) -> TunedHead:
    """Fit every (data variant, C), keep the best on the head's objective, then pick a threshold.

    ``variants`` maps a name to a boolean mask over the training pool ``x``.
    """
    objective_key = OBJECTIVES[language]

    def objective(head: LinearHead, threshold: float) -> float:
        return validation_scores(head, embedded, threshold)[objective_key]

    search: dict[str, float] = {}
    best: tuple[float, str, float, LinearHead] | None = None
    for variant, mask in variants.items():
        classes = tuple(sorted(set(y[mask].tolist())))
        if classes != HEAD_CLASSES[language]:
            raise SystemExit(
                f"the {language} training data ({variant}, {int(mask.sum())} texts) has classes "
                f"{list(classes)}, expected {list(HEAD_CLASSES[language])}; raise --limit"
            )
        for c in c_grid:
            head = fit(x[mask], y[mask], c, seed)
            value = objective(head, NO_THRESHOLD)
            search[f"{variant} C={c}"] = round(value, 4)
            print(f"{language} {variant} C={c}: {objective_key} {value:.4f}", flush=True)
            if best is None or value > best[0]:
                best = (value, variant, c, head)
    assert best is not None
    plain, variant, c, head = best
    threshold_search = {t: objective(head, t) for t in THRESHOLD_GRID}
    threshold = max(threshold_search, key=lambda t: (round(threshold_search[t], 4), -t))
    if threshold_search[threshold] <= plain:
        threshold = 0.5
    mask = variants[variant]
    return TunedHead(
        head=head,
        variant=variant,
        c=c,
        threshold=threshold,
        search=search,
        threshold_search={str(t): round(v, 4) for t, v in threshold_search.items()},
        examples_by_source=dict(Counter(sources[mask].tolist())),
        labels={LABELS[k]: v for k, v in sorted(Counter(y[mask].tolist()).items())},
    )


def routed_scores(
    tuned: Mapping[Language, TunedHead], sets: Mapping[str, Sequence[Example]], embedded: Embedded
) -> dict[str, float]:
    """Scores as the saved model will give them: each text through the head of its language."""
    heads = {language: t.head for language, t in tuned.items()}
    scores: dict[str, float] = {}
    for name, examples in sets.items():
        vectors, gold = embedded[name]
        languages = [language_of(e.text) for e in examples]
        probabilities = routed_probabilities(vectors, languages, heads)
        thresholds = np.array([tuned[language].threshold for language in languages])
        scores |= scores_for(name, gold, decide_labels(probabilities, thresholds))
        scores[f"{name}_routed_zh"] = languages.count("zh") / max(len(languages), 1)
    return scores


def _save(head: LinearHead, path: Path) -> str:
    head.save(path)
    path.chmod(0o644)
    return file_sha256(path)


def train(args: argparse.Namespace) -> dict[str, Any]:
    """Run the whole recipe and write both heads, model.json and MODEL_CARD.md to ``args.out``."""
    started = time.monotonic()
    pool, validation = training_set(args)
    zh_test: list[Example] = args.zh_test
    encoder = load_encoder(max_length=args.max_length, threads=args.threads)

    def embed(examples: Sequence[Example]) -> np.ndarray:
        return embed_cached(encoder, [e.text for e in examples], args.cache, args.batch_size)

    # One embedding call for the whole pool (in a fixed order) keeps the cache key stable.
    x = embed(pool)
    y = np.array([e.label for e in pool])
    sources = np.array([e.source for e in pool])
    embedded = {k: (embed(v), np.array([e.label for e in v])) for k, v in validation.items()}
    embedded["zh_test"] = (embed(zh_test), np.array([e.label for e in zh_test]))

    en_variants = {name: np.isin(sources, list(srcs)) for name, srcs in EN_VARIANTS.items()}
    zh_variants = {"zh reviews": np.isin(sources, list(ZH_SOURCES))}
    tuned: dict[Language, TunedHead] = {}
    plan: tuple[tuple[Language, dict[str, np.ndarray]], ...] = (
        ("en", en_variants),
        ("zh", zh_variants),
    )
    for language, variants in plan:
        sets = {name: embedded[name] for name in HEAD_VALIDATION[language]}
        tuned[language] = tune_head(language, variants, x, y, sources, sets, args.c_grid, args.seed)
    validation_result = routed_scores(tuned, validation, embedded)
    held_out = routed_scores(tuned, {"zh_test": zh_test}, embedded)
    print(f"validation {validation_result}\nheld out {held_out}", flush=True)

    args.out.mkdir(parents=True, exist_ok=True)
    shas = {
        language: _save(t.head, args.out / HEAD_FILES[language]) for language, t in tuned.items()
    }
    fingerprint = hashlib.sha256(f"{shas['en']}:{shas['zh']}:{ZH_MIN_CJK_SHARE}".encode())
    zh_test_ids = {s: sorted(e.row for e in zh_test if e.source == s) for s in ZH_SOURCES}
    spec = {
        "format": FORMAT,
        "version": f"uproar-minilm-lr2-{fingerprint.hexdigest()[:10]}",
        "labels": list(LABELS),
        "routing": {
            "rule": "zh when at least zh_min_cjk_share of the letters (str.isalpha) are CJK"
            " ideographs, else en; empty text is neutral",
            "zh_min_cjk_share": ZH_MIN_CJK_SHARE,
        },
        "heads": {
            language: {
                "file": HEAD_FILES[language],
                "sha256": shas[language],
                "dim": int(x.shape[1]),
                "negativity_threshold": t.threshold,
                "objective": OBJECTIVES[language],
                "data": t.variant,
                "C": t.c,
                "search": t.search,
                "threshold_search": t.threshold_search,
                "examples": int(sum(t.examples_by_source.values())),
                "examples_by_source": t.examples_by_source,
                "labels": t.labels,
            }
            for language, t in tuned.items()
        },
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
                "frozen all-MiniLM-L6-v2 sentence embeddings; one scikit-learn "
                "LogisticRegression per language (lbfgs, class_weight=balanced); data variant, "
                "C and threshold chosen per head on validation"
            ),
            "seed": args.seed,
            "limit": args.limit,
            "pool": len(pool),
            "examples": sum(int(sum(t.examples_by_source.values())) for t in tuned.values()),
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
    parser = argparse.ArgumentParser(description="Train the uproar sentiment heads.")
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
