"""Validation scores for a sentiment model: TweetEval val, SST-2 dev, Chinese held-out.

``python -m sentiment.evaluate --data /work/shared/data [--model PATH]`` prints them as JSON.
Binary sets are scored on the decision uproar acts on: a gold-negative text is right when
labelled negative, a gold-positive text is right when labelled anything else. Texts go
through the model exactly as in production (routed by language); ``<set>_routed_zh`` is the
share of a set that went to the Chinese head, so a routing slip shows up next to the scores.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sentiment.data import (
    NEGATIVE,
    Example,
    load_sst2,
    load_tweeteval_val,
    sample,
    select_rows,
)

if TYPE_CHECKING:
    from sentiment.model import SentimentModel

LABEL_INDEX = {"negative": 0, "neutral": 1, "positive": 2}


def macro_recall(gold: np.ndarray, predicted: np.ndarray, classes: int = 3) -> float:
    """Mean per-class recall, TweetEval's sentiment metric."""
    recalls = [
        float(np.mean(predicted[gold == c] == c)) for c in range(classes) if np.any(gold == c)
    ]
    return float(np.mean(recalls))


def negative_accuracy(gold: np.ndarray, predicted: np.ndarray) -> float:
    """Accuracy of 'is it negative?' on a binary negative/positive set."""
    return float(np.mean((gold == NEGATIVE) == (predicted == NEGATIVE)))


def strict_accuracy(gold: np.ndarray, predicted: np.ndarray) -> float:
    """Plain label accuracy (a neutral prediction on a binary set counts as wrong)."""
    return float(np.mean(gold == predicted))


def scores_for(name: str, gold: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """The metrics reported for one evaluation set, keyed ``<name>_<metric>``."""
    if name.startswith("tweeteval"):
        return {
            f"{name}_macro_recall": macro_recall(gold, predicted),
            f"{name}_accuracy": strict_accuracy(gold, predicted),
        }
    return {
        f"{name}_accuracy": negative_accuracy(gold, predicted),
        f"{name}_strict_accuracy": strict_accuracy(gold, predicted),
    }


def evaluation_sets(
    data: Path, zh_test_ids: dict[str, list[int]], limit: int | None = None
) -> dict[str, list[Example]]:
    """The sets a finished model is reported on (none of them is ever trained on)."""
    return {
        "tweeteval_val": sample(load_tweeteval_val(data), limit, seed=0),
        "sst2_dev": sample(load_sst2(data, "dev"), limit, seed=0),
        "zh_test": sample(select_rows(data, zh_test_ids), limit, seed=0),
    }


def evaluate(
    model: SentimentModel, sets: Mapping[str, Sequence[Example]], batch_size: int = 64
) -> dict[str, float]:
    """Score every set with ``model`` and return the metrics, rounded to 4 places."""
    results: dict[str, float] = {}
    for name, examples in sets.items():
        scores = model.score([e.text for e in examples], batch_size=batch_size)
        gold = np.array([e.label for e in examples])
        predicted = np.array([LABEL_INDEX[s.label] for s in scores])
        results |= scores_for(name, gold, predicted)
        languages = model.languages([e.text for e in examples])
        results[f"{name}_routed_zh"] = languages.count("zh") / max(len(languages), 1)
    return {key: round(value, 4) for key, value in results.items()}


def main(argv: Sequence[str] | None = None) -> None:
    from sentiment.config import SentimentSettings
    from sentiment.model import load_model

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="the shared data folder")
    parser.add_argument("--model", default="default", help="'default' or a saved model folder")
    parser.add_argument("--limit", type=int, default=None, help="score at most N per set")
    args = parser.parse_args(argv)
    model = load_model(SentimentSettings(model=args.model))
    sets = evaluation_sets(args.data, model.spec.zh_test_ids, args.limit)
    print(json.dumps({"model": model.version, **evaluate(model, sets)}, indent=2))


if __name__ == "__main__":
    main()
