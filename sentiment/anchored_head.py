"""Refitting a three-class head on two-class data without losing its neutral class.

The Chinese review sets are labelled negative or positive only. A head fitted on them from
scratch cannot say "neutral", so it would call every shipping notice negative or positive.
Instead the head keeps its shape and starts from the head it replaces (``base``):

* rows from a two-class set (``two_way``) are scored on the negative and positive logits
  only (cross-entropy over those two), so they move the boundary between them and leave
  the neutral row alone;
* rows with a three-class label (a human correction saying "neutral") use all three;
* an L2 pull towards ``base`` (``strength`` times the squared distance) keeps what the
  fine-tune learned where the new data says nothing, and is what ``strength`` trades off
  against fitting the new rows. It is chosen on validation, never on held-out data.

The fit is a smooth convex problem in the head's weights; L-BFGS solves it in seconds.
"""

from __future__ import annotations

import numpy as np
import torch

from sentiment.data import NEGATIVE, NEUTRAL, POSITIVE
from sentiment.head import LinearHead


def refit_anchored(
    base: LinearHead,
    x: np.ndarray,
    y: np.ndarray,
    two_way: np.ndarray,
    *,
    strength: float,
    weights: np.ndarray | None = None,
    max_iter: int = 500,
) -> LinearHead:
    """The head minimising the weighted mean cross-entropy of ``(x, y)`` plus
    ``strength * |head - base|^2`` (module docstring). ``two_way[i]`` says row ``i`` comes
    from a two-class set; such a row must not be labelled neutral."""
    labels = np.asarray(y, dtype=np.int64)
    binary = np.asarray(two_way, dtype=bool)
    if len(labels) != len(x) or len(binary) != len(x):
        raise ValueError("x, y and two_way must have one entry per row")
    if np.any(binary & (labels == NEUTRAL)):
        raise ValueError("a row of a two-class set cannot be labelled neutral")
    if strength < 0:
        raise ValueError(f"strength must be >= 0, not {strength}")
    w0 = torch.tensor(base.weight, dtype=torch.float64)
    b0 = torch.tensor(base.bias, dtype=torch.float64)
    features = torch.tensor(np.asarray(x), dtype=torch.float64)
    row_weights = torch.tensor(
        np.ones(len(labels)) if weights is None else np.asarray(weights), dtype=torch.float64
    )
    total = float(row_weights.sum()) or 1.0
    full = torch.tensor(labels)
    pair = torch.tensor(np.where(labels == POSITIVE, 1, 0))  # 0 negative, 1 positive
    is_pair = torch.tensor(binary)
    weight = w0.clone().requires_grad_(True)
    bias = b0.clone().requires_grad_(True)
    optimiser = torch.optim.LBFGS([weight, bias], max_iter=max_iter, line_search_fn="strong_wolfe")

    def loss_fn() -> torch.Tensor:
        optimiser.zero_grad()
        logits = features @ weight.T + bias
        two = logits[:, [NEGATIVE, POSITIVE]]
        per_row = torch.where(
            is_pair,
            torch.nn.functional.cross_entropy(two, pair, reduction="none"),
            torch.nn.functional.cross_entropy(logits, full, reduction="none"),
        )
        loss = (per_row * row_weights).sum() / total
        loss = loss + strength * (((weight - w0) ** 2).sum() + ((bias - b0) ** 2).sum())
        loss.backward()
        return loss

    optimiser.step(loss_fn)
    return LinearHead(weight.detach().numpy().copy(), bias.detach().numpy().copy())


def two_way_accuracy(head: LinearHead, x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy on a two-class set: negative when P(negative) > P(positive) (as
    ``uproar sentiment eval`` scores binary sets)."""
    logits = np.asarray(x, dtype=np.float64) @ head.weight.T + head.bias
    predicted = np.where(logits[:, NEGATIVE] > logits[:, POSITIVE], NEGATIVE, POSITIVE)
    return float(np.mean(predicted == np.asarray(y)))
