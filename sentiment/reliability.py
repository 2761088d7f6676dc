"""How far probabilities are from what happens: expected calibration error and reliability tables.

Pure numpy. 15 equal-width bins on [0, 1]; bin ``i`` holds the confidences in
``(i/15, (i+1)/15]`` (the first bin also holds 0). ECE is the count-weighted mean gap between a
bin's mean confidence and how often the event happened in it. Two events are measured: "the top
class is the gold label" against the top-class probability (``kind="max"``), and "the text is
negative" against the negative-class probability (``kind="negative"``, what uproar acts on).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

NEGATIVE = 0
BINS = 15


@dataclass(frozen=True)
class ReliabilityBin:
    """One confidence bin; ``accuracy`` is how often the event happened (None when empty)."""

    lower: float
    upper: float
    count: int
    mean_confidence: float | None
    accuracy: float | None


@dataclass(frozen=True)
class Reliability:
    """ECE and its reliability table. ``kind`` is ``"max"`` (top class right?) or
    ``"negative"`` (is the text negative?)."""

    kind: str
    n: int
    ece: float
    bins: tuple[ReliabilityBin, ...]

    def to_json(self) -> dict[str, Any]:
        return json_ready(asdict(self))


def bin_index(confidence: np.ndarray, bins: int = BINS) -> np.ndarray:
    """Bin ``i`` holds ``(i/bins, (i+1)/bins]``; 0 goes to the first bin."""
    c = np.clip(np.asarray(confidence, dtype=np.float64), 0.0, 1.0)
    return np.asarray(np.clip(np.ceil(c * bins) - 1, 0, bins - 1).astype(np.int64))


def reliability(
    confidence: np.ndarray, outcome: np.ndarray, kind: str, bins: int = BINS
) -> Reliability:
    """The reliability table and ECE of predicted probabilities ``confidence`` for a 0/1 event."""
    c = np.asarray(confidence, dtype=np.float64)
    o = np.asarray(outcome, dtype=np.float64)
    if c.shape != o.shape or c.ndim != 1:
        raise ValueError(f"confidence {c.shape} and outcome {o.shape} must be equal 1-d shapes")
    index = bin_index(c, bins)
    rows = []
    ece = 0.0
    for i in range(bins):
        members = index == i
        count = int(members.sum())
        if count:
            mean_c, acc = float(c[members].mean()), float(o[members].mean())
            ece += count / len(c) * abs(acc - mean_c)
            rows.append(ReliabilityBin(i / bins, (i + 1) / bins, count, mean_c, acc))
        else:
            rows.append(ReliabilityBin(i / bins, (i + 1) / bins, 0, None, None))
    return Reliability(kind, len(c), float(ece) if len(c) else 0.0, tuple(rows))


def max_reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = BINS) -> Reliability:
    """Top-class confidence against whether the top class is the gold label."""
    p = np.asarray(probabilities, dtype=np.float64)
    correct = p.argmax(axis=1) == np.asarray(labels)
    return reliability(p.max(axis=1), correct, "max", bins)


def negative_reliability(
    probabilities: np.ndarray, labels: np.ndarray, bins: int = BINS
) -> Reliability:
    """Negative-class probability against whether the gold label is negative."""
    p = np.asarray(probabilities, dtype=np.float64)
    return reliability(p[:, NEGATIVE], np.asarray(labels) == NEGATIVE, "negative", bins)


def expected_calibration_error(
    probabilities: np.ndarray, labels: np.ndarray, kind: str = "max", bins: int = BINS
) -> float:
    """ECE on the top class (``kind="max"``) or on the negative class (``"negative"``)."""
    if kind == "max":
        return max_reliability(probabilities, labels, bins).ece
    if kind == "negative":
        return negative_reliability(probabilities, labels, bins).ece
    raise ValueError(f"ECE kind must be 'max' or 'negative', not {kind!r}")


def json_ready(value: Any, places: int = 6) -> Any:
    """Floats rounded for a readable model.json; tuples become lists."""
    if isinstance(value, float):
        return round(value, places)
    if isinstance(value, dict):
        return {str(k): json_ready(v, places) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v, places) for v in value]
    return value
