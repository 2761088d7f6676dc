"""The anchored head refit: two-class rows move only the negative/positive boundary."""

from __future__ import annotations

import numpy as np
import pytest

from sentiment.anchored_head import refit_anchored, two_way_accuracy
from sentiment.head import LinearHead

RNG = np.random.default_rng(7)
DIM = 8


def two_class_data(n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Negative (0) when the first feature is positive, else positive (2)."""
    x = RNG.normal(size=(n, DIM))
    y = np.where(x[:, 0] > 0, 0, 2)
    return x, y


def wrong_base() -> LinearHead:
    """A head that reads the second feature instead: about 50% on the data above."""
    weight = np.zeros((3, DIM))
    weight[0, 1], weight[2, 1] = 1.0, -1.0
    weight[1, 2] = 0.7  # the neutral row, which two-class rows must leave alone
    return LinearHead(weight, np.array([0.0, 0.3, 0.0]))


def test_two_class_rows_fix_the_boundary_and_keep_the_neutral_row() -> None:
    x, y = two_class_data()
    base = wrong_base()
    assert two_way_accuracy(base, x, y) < 0.65
    head = refit_anchored(base, x, y, np.ones(len(y), dtype=bool), strength=1e-3)
    assert two_way_accuracy(head, x, y) > 0.95
    np.testing.assert_allclose(head.weight[1], base.weight[1], atol=1e-9)
    assert head.bias[1] == pytest.approx(base.bias[1], abs=1e-9)


def test_a_strong_anchor_keeps_the_base_head() -> None:
    x, y = two_class_data()
    base = wrong_base()
    head = refit_anchored(base, x, y, np.ones(len(y), dtype=bool), strength=1e4)
    np.testing.assert_allclose(head.weight, base.weight, atol=1e-3)


def test_neutral_corrections_move_the_neutral_row() -> None:
    x, y = two_class_data()
    neutral = RNG.normal(size=(60, DIM))
    neutral[:, 3] = 3.0  # what neutral posts have in common
    features = np.vstack([x, neutral])
    labels = np.concatenate([y, np.ones(len(neutral), dtype=np.int64)])
    two_way = np.concatenate([np.ones(len(y), dtype=bool), np.zeros(len(neutral), dtype=bool)])
    base = wrong_base()
    head = refit_anchored(base, features, labels, two_way, strength=1e-3)
    assert head.weight[1, 3] > base.weight[1, 3] + 0.5
    assert (head.probabilities(neutral).argmax(axis=1) == 1).mean() > 0.9


def test_bad_input_is_named() -> None:
    x, y = two_class_data(10)
    base = wrong_base()
    with pytest.raises(ValueError, match="cannot be labelled neutral"):
        refit_anchored(base, x, np.ones(10, dtype=np.int64), np.ones(10, dtype=bool), strength=1)
    with pytest.raises(ValueError, match="one entry per row"):
        refit_anchored(base, x, y[:5], np.ones(10, dtype=bool), strength=1)
    with pytest.raises(ValueError, match="strength"):
        refit_anchored(base, x, y, np.ones(10, dtype=bool), strength=-1)
