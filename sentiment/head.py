"""The classification head: a linear layer + softmax over (negative, neutral, positive).

Stored as safetensors so inference needs only numpy; scikit-learn is a training-time tool.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from sentiment.errors import ModelError


@dataclass(frozen=True)
class LinearHead:
    """``softmax(embeddings @ weight.T + bias)``; weight is (3, dim), bias is (3,)."""

    weight: np.ndarray
    bias: np.ndarray

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        logits = embeddings.astype(np.float64) @ self.weight.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))

    def save(self, path: Path) -> None:
        save_file(
            {
                "weight": np.ascontiguousarray(self.weight, dtype=np.float32),
                "bias": np.ascontiguousarray(self.bias, dtype=np.float32),
            },
            str(path),
        )


def load_head(path: Path, classes: int, dim: int) -> LinearHead:
    """Read a head written by :meth:`LinearHead.save`, checking its shape."""
    try:
        tensors = load_file(str(path))
    except Exception as exc:
        raise ModelError(f"could not read the sentiment head {path}: {exc}") from exc
    weight = tensors.get("weight")
    bias = tensors.get("bias")
    if weight is None or bias is None:
        raise ModelError(f"the sentiment head {path} needs tensors 'weight' and 'bias'")
    if weight.shape != (classes, dim) or bias.shape != (classes,):
        raise ModelError(
            f"the sentiment head {path} has weight {weight.shape} and bias {bias.shape}; "
            f"expected ({classes}, {dim}) and ({classes},)"
        )
    return LinearHead(weight.astype(np.float64), bias.astype(np.float64))


# A binary head never predicts neutral: its neutral logit sits this far below the others.
NEVER = -1.0e4


def three_class(weight: np.ndarray, bias: np.ndarray, classes: Sequence[int]) -> LinearHead:
    """A (3, dim) head from a classifier fitted on ``classes`` (scikit-learn's coef_ layout).

    Binary data (negative vs positive only) gives one row ``w`` with P(positive) =
    sigmoid(w·x + b); as softmax rows that is negative 0, positive ``w``, neutral never.
    """
    if list(classes) == [0, 1, 2]:
        return LinearHead(weight.astype(np.float64), bias.astype(np.float64))
    if list(classes) != [0, 2]:
        raise ValueError(f"a head needs classes [0, 1, 2] or [0, 2], got {list(classes)}")
    zeros = np.zeros_like(weight[0], dtype=np.float64)
    return LinearHead(
        np.stack([zeros, zeros, weight[0].astype(np.float64)]),
        np.array([0.0, NEVER, float(bias[0])]),
    )


def decide_labels(
    probabilities: np.ndarray, negativity_threshold: float | np.ndarray
) -> np.ndarray:
    """Label indices: the most likely class, except that a negative probability at or above
    ``negativity_threshold`` (one number, or one per row) always means negative (0).

    Missing a complaint costs more than a second look at a lukewarm post, so negative wins
    before it is the single largest class.
    """
    labels = probabilities.argmax(axis=1)
    labels[probabilities[:, 0] >= negativity_threshold] = 0
    return np.asarray(labels)
