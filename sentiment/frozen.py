"""A model's frozen encoder with other heads, scored from embeddings already computed.

Retraining compares the current heads with new ones on the same validation texts; embedding
those texts once and reading both from memory is what makes that cheap. :class:`HeadsModel`
scores exactly as a saved model with these heads would (routing by the base model's own
``languages``, empty text neutral), which the retrain checks against the real loader.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from sentiment.head import LinearHead, decide_labels

NEUTRAL = np.array([0.0, 1.0, 0.0])


class EmbeddingMemo:
    """Text → embedding, filled from known arrays and, for unseen texts, by ``embed``."""

    def __init__(self, embed: Callable[[list[str]], np.ndarray]) -> None:
        self.embed = embed
        self.known: dict[str, np.ndarray] = {}

    def remember(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        for text, vector in zip(texts, vectors, strict=True):
            self.known[text] = vector

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        missing = sorted({text for text in texts if text not in self.known})
        if missing:
            self.remember(missing, np.asarray(self.embed(missing)))
        return np.stack([self.known[text] for text in texts])


class HeadsModel:
    """What a model with ``heads`` and ``thresholds`` on ``base``'s encoder scores."""

    def __init__(
        self,
        version: str,
        base: Any,
        heads: Mapping[str, LinearHead],
        thresholds: Mapping[str, float],
        vectors: EmbeddingMemo,
    ) -> None:
        self.version = version
        self.base = base
        self.heads = dict(heads)
        self.negativity_thresholds = dict(thresholds)
        self.vectors = vectors

    def languages(self, texts: Sequence[str]) -> list[str]:
        return list(self.base.languages(texts))

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        result = np.tile(NEUTRAL, (len(texts), 1))
        present = [i for i, text in enumerate(texts) if text and not text.isspace()]
        if not present:
            return result
        chosen = [texts[i] for i in present]
        vectors = self.vectors(chosen)
        languages = np.array(self.languages(chosen), dtype=object)
        rows = np.zeros((len(chosen), 3))
        for language, head in self.heads.items():
            mine = np.flatnonzero(languages == language)
            if mine.size:
                rows[mine] = head.probabilities(vectors[mine])
        result[present] = rows
        return result

    def decide_labels(self, texts: Sequence[str], probabilities: np.ndarray) -> np.ndarray:
        per_row = np.array([self.negativity_thresholds[lang] for lang in self.languages(texts)])
        return decide_labels(probabilities, per_row) if len(texts) else np.zeros(0, dtype=int)
