"""``uproar sentiment eval``: how good and how honest a sentiment model is, next to VADER.

Sets (none ever trained on): TweetEval sentiment validation (3 classes, English tweets), SST-2
dev (binary, English sentences) and the Chinese held-out split (binary reviews: the rows named
by the model's model.json ``held_out.zh_test.ids``, so it is exactly the split its training
held out; a model without that list, such as a Hugging Face one, uses the default model's).

Metrics, per set and per model (every one is computed from the model's (negative, neutral,
positive) probabilities and, for "decision", from the labels the model would store):

* ``macro_recall`` (3-class sets; TweetEval's official metric) and ``accuracy``: label accuracy
  on 3-class sets; on binary sets the **two-way accuracy**: a text is called negative when
  ``P(negative) > P(positive)`` (neutral mass ignored, ties go to positive). That is the
  headline of a binary set (``metric``/``score``).
* ``decision_accuracy``, ``negative_precision``/``recall``/``f1``: the decision uproar acts on,
  "is it negative?", with the model's own label rule (its negativity threshold, or VADER's
  compound rule).
* ``ece_max`` and ``ece_negative`` with their reliability tables
  (:mod:`sentiment.reliability`, 15 bins). On a binary set both use the two-way probabilities
  ``P(negative) / (P(negative) + P(positive))``: the set has no neutral texts.

``python -m sentiment.evaluate --data /work/shared/data`` prints the table; ``--json`` the JSON.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from sentiment.config import HF_MODEL, SentimentSettings
from sentiment.data import NEGATIVE, sample as sample_of
from sentiment.eval_sets import (
    LABEL_INDEX,
    DataError,
    EvalSet,
    Kind,
    check_data,
    default_zh_test_ids,
    evaluation_sets,
    sample_sets,
    zh_test_ids_of,
)
from sentiment.reliability import Reliability, json_ready, max_reliability, negative_reliability

__all__ = [
    "LABEL_INDEX",
    "DataError",
    "EvalReport",
    "EvalSet",
    "ModelResult",
    "ProbabilityModel",
    "SetResult",
    "check_data",
    "decided_labels",
    "default_zh_test_ids",
    "evaluate",
    "evaluate_models",
    "evaluate_set",
    "evaluation_sets",
    "load_configured_model",
    "macro_recall",
    "main",
    "negative_accuracy",
    "run_evaluation",
    "sample_sets",
    "score_set",
    "scores_for",
    "strict_accuracy",
    "two_way",
    "two_way_labels",
    "zh_test_ids_of",
]

FLAT_METRICS = (
    "macro_recall",
    "accuracy",
    "decision_accuracy",
    "negative_f1",
    "ece_max",
    "ece_negative",
)
RULES = {
    "macro_recall": "mean per-class recall over negative, neutral, positive (3-class sets)",
    "accuracy": "3-class sets: label accuracy; binary sets: two-way accuracy, negative when "
    "P(negative) > P(positive), ties positive",
    "decision_accuracy": "is it negative? with the model's own label rule (threshold / VADER "
    "compound <= -0.05) against gold negative",
    "negative_precision/recall/f1": "the negative class under the model's own label rule",
    "ece_max": "ECE, 15 equal-width bins, top-class probability vs top class correct "
    "(binary sets: two-way probabilities)",
    "ece_negative": "ECE, 15 bins, P(negative) vs gold negative (binary sets: two-way)",
}

# --------------------------------------------------------------------------- metrics


def macro_recall(gold: np.ndarray, predicted: np.ndarray, classes: int = 3) -> float:
    """Mean per-class recall, TweetEval's sentiment metric."""
    recalls = [
        float(np.mean(predicted[gold == c] == c)) for c in range(classes) if np.any(gold == c)
    ]
    return float(np.mean(recalls))


def negative_accuracy(gold: np.ndarray, predicted: np.ndarray) -> float:
    """Accuracy of 'is it negative?' (a neutral prediction counts as not negative)."""
    return float(np.mean((gold == NEGATIVE) == (predicted == NEGATIVE)))


def strict_accuracy(gold: np.ndarray, predicted: np.ndarray) -> float:
    """Plain label accuracy (a neutral prediction on a binary set counts as wrong)."""
    return float(np.mean(gold == predicted))


def scores_for(name: str, gold: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Label-only metrics keyed ``<name>_<metric>``, as training tunes and model.json records
    them: on binary sets ``accuracy`` here is the decision accuracy."""
    if name.startswith("tweeteval"):
        return {
            f"{name}_macro_recall": macro_recall(gold, predicted),
            f"{name}_accuracy": strict_accuracy(gold, predicted),
        }
    return {
        f"{name}_accuracy": negative_accuracy(gold, predicted),
        f"{name}_strict_accuracy": strict_accuracy(gold, predicted),
    }


def two_way(probabilities: np.ndarray) -> np.ndarray:
    """(n, 3) probabilities restricted to negative vs positive and renormalised (neutral 0);
    a row with no negative or positive mass becomes (0.5, 0, 0.5)."""
    p = np.asarray(probabilities, dtype=np.float64)
    mass = p[:, 0] + p[:, 2]
    negative = np.divide(p[:, 0], mass, out=np.full(len(p), 0.5), where=mass > 0)
    return np.stack([negative, np.zeros(len(p)), 1.0 - negative], axis=1)


def two_way_labels(probabilities: np.ndarray) -> np.ndarray:
    """Negative (0) when P(negative) > P(positive), else positive (2)."""
    p = np.asarray(probabilities, dtype=np.float64)
    return np.where(p[:, 0] > p[:, 2], 0, 2)


def _negative_prf(gold: np.ndarray, predicted: np.ndarray) -> tuple[float, float, float]:
    flagged, actual = predicted == NEGATIVE, gold == NEGATIVE
    hits = int(np.sum(flagged & actual))
    precision = hits / int(flagged.sum()) if flagged.any() else 0.0
    recall = hits / int(actual.sum()) if actual.any() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


# --------------------------------------------------------------------------- sets

# --------------------------------------------------------------------------- models


@runtime_checkable
class ProbabilityModel(Protocol):
    """What evaluation needs from a model: a version and (n, 3) probabilities.

    Optional: ``decide_labels(texts, probabilities) -> label indices`` (the stored labels;
    otherwise the per-language ``negativity_thresholds`` of a :class:`SentimentModel`, or
    argmax), ``languages(texts)`` (routing), ``supported_languages`` (sets in other
    languages are skipped).
    """

    @property
    def version(self) -> str: ...

    def probabilities(self, texts: Sequence[str]) -> np.ndarray: ...


def decided_labels(model: ProbabilityModel, texts: Sequence[str], p: np.ndarray) -> np.ndarray:
    """The labels ``model`` would store for ``texts`` given their probabilities ``p``."""
    decide = getattr(model, "decide_labels", None)
    if callable(decide):
        return np.asarray(decide(texts, p))
    thresholds = getattr(model, "negativity_thresholds", None)
    languages = getattr(model, "languages", None)
    labels = p.argmax(axis=1)
    if thresholds and callable(languages):
        per_row = np.array([thresholds[language] for language in languages(texts)])
        labels[p[:, NEGATIVE] >= per_row] = NEGATIVE
    return np.asarray(labels)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class SetResult:
    """One model on one set; ``skipped`` says why a set was not scored (then metrics are None)."""

    name: str
    kind: str
    language: str
    n: int
    metric: str
    score: float | None = None
    macro_recall: float | None = None
    accuracy: float | None = None
    decision_accuracy: float | None = None
    negative_precision: float | None = None
    negative_recall: float | None = None
    negative_f1: float | None = None
    ece_max: float | None = None
    ece_negative: float | None = None
    reliability_max: Reliability | None = None
    reliability_negative: Reliability | None = None
    routed_zh: float | None = None
    seconds: float | None = None
    texts_per_second: float | None = None
    skipped: str | None = None


@dataclass(frozen=True)
class ModelResult:
    name: str
    version: str
    sets: list[SetResult]

    def set(self, name: str) -> SetResult:
        return next(result for result in self.sets if result.name == name)


@dataclass(frozen=True)
class EvalReport:
    """Everything ``uproar sentiment eval`` prints; :meth:`to_json` is its ``--json``."""

    source: str
    sets: dict[str, int]
    models: list[ModelResult]
    rules: dict[str, str] = field(default_factory=lambda: dict(RULES))

    def model(self, name: str) -> ModelResult:
        return next(result for result in self.models if result.name == name)

    def to_json(self) -> dict[str, Any]:
        return dict(json_ready(asdict(self), places=4))


def score_set(
    gold: np.ndarray, probabilities: np.ndarray, labels: np.ndarray, kind: Kind
) -> dict[str, Any]:
    """The metrics of one set from gold labels, probabilities and the stored labels (pure)."""
    if kind == "three_class":
        judged = probabilities
        headline = {
            "macro_recall": macro_recall(gold, labels),
            "accuracy": strict_accuracy(gold, labels),
        }
    else:
        judged = two_way(probabilities)
        headline = {"accuracy": strict_accuracy(gold, two_way_labels(probabilities))}
    precision, recall, f1 = _negative_prf(gold, labels)
    top, negative = max_reliability(judged, gold), negative_reliability(judged, gold)
    return {
        **headline,
        "decision_accuracy": negative_accuracy(gold, labels),
        "negative_precision": precision,
        "negative_recall": recall,
        "negative_f1": f1,
        "ece_max": top.ece,
        "ece_negative": negative.ece,
        "reliability_max": top,
        "reliability_negative": negative,
    }


def evaluate_set(model: ProbabilityModel, eval_set: EvalSet) -> SetResult:
    """Score one set with one model and measure it (``skipped`` when its language is not
    among the model's ``supported_languages``)."""
    result = SetResult(
        name=eval_set.name,
        kind=eval_set.kind,
        language=eval_set.language,
        n=len(eval_set.examples),
        metric=eval_set.metric,
    )
    supported = getattr(model, "supported_languages", None)
    if supported is not None and eval_set.language not in supported:
        reason = f"{eval_set.language} not supported (only {', '.join(supported)})"
        return replace(result, skipped=reason)
    texts = [e.text for e in eval_set.examples]
    gold = np.array([e.label for e in eval_set.examples], dtype=np.int64)
    started = time.perf_counter()
    probabilities = np.asarray(model.probabilities(texts), dtype=np.float64)
    seconds = time.perf_counter() - started
    if probabilities.shape != (len(texts), 3):
        raise ValueError(f"{model.version}: probabilities {probabilities.shape} for {len(texts)}")
    metrics = score_set(
        gold, probabilities, decided_labels(model, texts, probabilities), eval_set.kind
    )
    languages = getattr(model, "languages", None)
    if callable(languages):
        metrics["routed_zh"] = list(languages(texts)).count("zh") / max(len(texts), 1)
    return replace(
        result,
        score=metrics[eval_set.metric],
        seconds=seconds,
        texts_per_second=len(texts) / seconds if seconds > 0 else None,
        **metrics,
    )


def evaluate_models(
    models: Mapping[str, ProbabilityModel], sets: Sequence[EvalSet], source: str
) -> EvalReport:
    """Every model on every set, in order."""
    results = [
        ModelResult(name, model.version, [evaluate_set(model, s) for s in sets])
        for name, model in models.items()
    ]
    return EvalReport(source, {s.name: len(s.examples) for s in sets}, results)


def evaluate(model: ProbabilityModel, sets: Sequence[EvalSet]) -> dict[str, float]:
    """Flat ``<set>_<metric>`` numbers of one model, rounded to 4 places (for logs and retrain)."""
    flat: dict[str, float] = {}
    for result in evaluate_models({"model": model}, sets, "").models[0].sets:
        for key in FLAT_METRICS:
            value = getattr(result, key)
            if value is not None:
                flat[f"{result.name}_{key}"] = round(float(value), 4)
    return flat


def run_evaluation(
    settings: SentimentSettings,
    data: Path | None = None,
    sample: Path | None = None,
    limit: int | None = None,
    baseline: bool = True,
) -> EvalReport:
    """Load the configured model (and VADER), load the sets, evaluate: the eval command's body.

    Exactly one of ``data`` (the labelled data folder) and ``sample`` (a JSON-lines sample)
    is given. Raises :class:`DataError` or :class:`sentiment.errors.ModelError`.
    """
    if (data is None) == (sample is None):
        raise ValueError("give exactly one of data (a folder) and sample (a JSON-lines file)")
    if data is not None:
        check_data(data)  # before the slow model load
    model = load_configured_model(settings)
    models: dict[str, ProbabilityModel] = {"model": model}
    if baseline:
        from sentiment.vader import VaderBaseline

        models["vader"] = VaderBaseline()
    if data is not None:
        sets = evaluation_sets(data, zh_test_ids_of(model), limit)
        source = str(data)
    else:
        assert sample is not None
        sets = [
            EvalSet(s.name, s.kind, s.language, sample_of(s.examples, limit, 0))
            for s in sample_sets(sample)
        ]
        source = str(sample)
    return evaluate_models(models, sets, source)


def load_configured_model(settings: SentimentSettings) -> ProbabilityModel:
    """The model ``settings`` names: a Hugging Face one for ``model = "hf"``, else uproar's."""
    if settings.model == HF_MODEL:
        from sentiment.hf_model import load_hf_model

        return load_hf_model(settings)
    from sentiment.model import load_model

    return load_model(settings)


def main(argv: Sequence[str] | None = None) -> None:
    import argparse

    from sentiment.eval_table import print_report

    parser = argparse.ArgumentParser(description="Evaluate the sentiment model and VADER.")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--data", type=Path, help="the labelled data folder (en/, zh/)")
    where.add_argument("--sample", type=Path, help="a JSON-lines sample (set, lang, label, text)")
    parser.add_argument("--model", default="default", help="'default', a model folder or 'hf'")
    parser.add_argument("--hf-model", default=None, help="with --model hf: folder or hub id")
    parser.add_argument(
        "--hf-labels", type=json.loads, default={}, help='with --model hf: {"negative": ...}'
    )
    parser.add_argument("--limit", type=int, default=None, help="score at most N per set")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--no-baseline", action="store_true", help="skip VADER")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--reliability", action="store_true", help="print reliability tables")
    args = parser.parse_args(argv)
    settings = SentimentSettings(
        model=args.model, threads=args.threads, hf_model=args.hf_model, hf_labels=args.hf_labels
    )
    report = run_evaluation(settings, args.data, args.sample, args.limit, not args.no_baseline)
    if args.json:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        print_report(report, reliability=args.reliability)


if __name__ == "__main__":
    main()
