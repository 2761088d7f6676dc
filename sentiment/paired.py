"""Is a retrained model worse? A paired bootstrap on the same validation examples.

Pure numpy. Both models label the same texts, so the question is about the difference of one
metric on those texts. Resampling the examples (the same resample for both models) gives the
spread of that difference; a drop counts as real when the one-sided 95% upper bound of the
difference is below zero. The rule :func:`judge` applies: refuse when the drop is real **and**
larger than ``max_drop`` (default 0.01), so a refit on the same data is never refused for a
wobble of a few examples, while a model that is clearly worse always is.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

CONFIDENCE = 0.95
RESAMPLES = 2000


def macro_recall_rows(gold: np.ndarray, correct: np.ndarray) -> np.ndarray:
    """Macro-recall of each row of a (B, n) resample (classes absent from a row skipped)."""
    recalls = []
    for label in np.unique(gold):
        members = gold == label
        count = members.sum(axis=1)
        hits = (members & correct).sum(axis=1)
        recalls.append(np.where(count > 0, hits / np.maximum(count, 1), np.nan))
    return np.asarray(np.nanmean(np.stack(recalls), axis=0))


def macro_recall(gold: np.ndarray, predicted: np.ndarray) -> float:
    """Mean recall over the classes present in ``gold`` (balanced accuracy on binary sets)."""
    gold = np.asarray(gold)
    return float(macro_recall_rows(gold[None, :], (np.asarray(predicted) == gold)[None, :])[0])


@dataclass(frozen=True)
class Comparison:
    """One validation set: the metric before and after, and the bootstrap of the difference."""

    name: str
    n: int
    before: float
    after: float
    difference: float
    lower: float
    upper: float
    significantly_worse: bool
    worse: bool

    def to_json(self) -> dict[str, Any]:
        return {k: round(v, 5) if isinstance(v, float) else v for k, v in asdict(self).items()}


def compare(
    name: str,
    gold: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
    max_drop: float,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> Comparison:
    """Macro-recall of ``after`` minus ``before`` labels on ``gold``, with its bootstrap.

    ``worse`` is the decision: a real drop (upper bound below 0) of more than ``max_drop``.
    """
    gold = np.asarray(gold)
    before, after = np.asarray(before), np.asarray(after)
    if not (len(gold) == len(before) == len(after)) or len(gold) == 0:
        raise ValueError(
            f"{name}: need the same n > 0 labels, got {len(gold)}, {len(before)}, {len(after)}"
        )
    point_before, point_after = macro_recall(gold, before), macro_recall(gold, after)
    rows = np.random.default_rng(seed).integers(0, len(gold), size=(resamples, len(gold)))
    sampled = gold[rows]
    differences = macro_recall_rows(sampled, after[rows] == sampled) - macro_recall_rows(
        sampled, before[rows] == sampled
    )
    tail = (1.0 - CONFIDENCE) * 100
    lower, upper = (float(v) for v in np.nanpercentile(differences, [tail, 100 - tail]))
    difference = point_after - point_before
    real = upper < 0.0
    return Comparison(
        name=name,
        n=len(gold),
        before=point_before,
        after=point_after,
        difference=difference,
        lower=lower,
        upper=upper,
        significantly_worse=real,
        worse=real and difference < -max_drop,
    )


def judge(comparisons: list[Comparison]) -> tuple[bool, str]:
    """(accepted, why): accepted when no gating set got worse by :func:`compare`'s rule."""
    worse = [c for c in comparisons if c.worse]
    if worse:
        detail = "; ".join(
            f"{c.name} macro-recall {c.before:.4f} -> {c.after:.4f} "
            f"(95% upper bound of the change {c.upper:+.4f})"
            for c in worse
        )
        return False, f"validation got worse: {detail}"
    summary = "; ".join(f"{c.name} {c.before:.4f} -> {c.after:.4f}" for c in comparisons)
    return True, f"validation did not get worse: {summary}"
