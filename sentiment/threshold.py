"""Choosing the negativity threshold on validation: the rule, the search, the choice.

Pure numpy. uproar labels a text negative when ``P(negative) >= threshold`` or negative is the
largest class (:func:`sentiment.head.decide_labels`); the threshold only ever lowers the bar, so
the grid stops at 0.5 (plain argmax).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from sentiment.reliability import NEGATIVE, json_ready

THRESHOLD_GRID = tuple(round(0.05 + 0.01 * i, 2) for i in range(46))  # 0.05 .. 0.50
Objective = Literal["f1", "macro_recall"]
# Defaults: the metric uproar is judged on (macro-recall; on a binary head it is balanced
# accuracy), as long as at least 40% of what is flagged negative is negative.
DEFAULT_OBJECTIVE: Objective = "macro_recall"
DEFAULT_MIN_PRECISION = 0.4


def negative_predictions(probabilities: np.ndarray, threshold: float) -> np.ndarray:
    """uproar's label rule: negative when ``P(negative) >= threshold`` or negative is largest.

    Same as :func:`sentiment.head.decide_labels`; a threshold at or above 0.5 is plain argmax.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    labels = p.argmax(axis=1)
    labels[p[:, NEGATIVE] >= threshold] = NEGATIVE
    return np.asarray(labels)


@dataclass(frozen=True)
class ThresholdPoint:
    threshold: float
    precision: float
    recall: float
    f1: float
    macro_recall: float


@dataclass(frozen=True)
class ThresholdChoice:
    """The chosen negativity threshold, the rule that chose it and the whole search.

    Rule: among THRESHOLD_GRID, keep the thresholds whose negative-class precision is at least
    ``min_precision``; pick the one with the best ``objective`` (negative-class F1, or
    macro-recall over the classes present), the lowest threshold on a tie (a missed complaint
    costs more than a second look). When no threshold reaches the precision, pick the most
    precise one (``constraint_met`` False).
    """

    threshold: float
    objective: str
    min_precision: float
    constraint_met: bool
    precision: float
    recall: float
    f1: float
    macro_recall: float
    n: int
    search: tuple[ThresholdPoint, ...]

    def to_json(self) -> dict[str, Any]:
        return json_ready(asdict(self))


def _macro_recall(gold: np.ndarray, predicted: np.ndarray) -> float:
    classes = np.unique(gold)
    return float(np.mean([np.mean(predicted[gold == c] == c) for c in classes]))


def threshold_point(
    probabilities: np.ndarray, labels: np.ndarray, threshold: float
) -> ThresholdPoint:
    gold = np.asarray(labels)
    predicted = negative_predictions(probabilities, threshold)
    flagged, actual = predicted == NEGATIVE, gold == NEGATIVE
    hits = int(np.sum(flagged & actual))
    precision = hits / int(flagged.sum()) if flagged.any() else 1.0
    recall = hits / int(actual.sum()) if actual.any() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return ThresholdPoint(threshold, precision, recall, f1, _macro_recall(gold, predicted))


def choose_threshold(
    probabilities: np.ndarray,
    labels: np.ndarray,
    objective: Objective = DEFAULT_OBJECTIVE,
    min_precision: float = DEFAULT_MIN_PRECISION,
    grid: Sequence[float] = THRESHOLD_GRID,
) -> ThresholdChoice:
    """Choose the negativity threshold on validation by the rule :class:`ThresholdChoice` states."""
    if objective not in ("f1", "macro_recall"):
        raise ValueError(f"threshold objective must be 'f1' or 'macro_recall', not {objective!r}")
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    if p.ndim != 2 or len(p) != len(y) or len(y) == 0:
        raise ValueError(
            f"expected (n, k) probabilities and n > 0 labels, got {p.shape}, {y.shape}"
        )
    points = tuple(threshold_point(p, y, t) for t in sorted(grid))
    allowed = [pt for pt in points if pt.precision >= min_precision]
    met = bool(allowed)
    if met:
        best = max(allowed, key=lambda pt: (round(getattr(pt, objective), 10), -pt.threshold))
    else:
        best = max(points, key=lambda pt: (round(pt.precision, 10), -pt.threshold))
    return ThresholdChoice(
        threshold=best.threshold,
        objective=objective,
        min_precision=min_precision,
        constraint_met=met,
        precision=best.precision,
        recall=best.recall,
        f1=best.f1,
        macro_recall=best.macro_recall,
        n=len(y),
        search=points,
    )
