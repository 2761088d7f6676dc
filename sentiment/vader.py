"""VADER, the rule-based English baseline every evaluation reports next to the model.

VADER (vaderSentiment 3.3.2) scores a text with a lexicon and rules and returns the shares of
negative, neutral and positive words (``neg``, ``neu``, ``pos``, summing to 1) and a
``compound`` score in [-1, 1]. Here the shares stand in for probabilities (they are not
probabilities, and its ECE shows it) and labels follow VADER's documented rule: positive when
``compound >= 0.05``, negative when ``compound <= -0.05``, else neutral. A text without any
lexicon word scores neutral (0, 1, 0). VADER's lexicon is English only: Chinese text has no
lexicon words, so every Chinese text would be neutral; evaluation skips it.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from sentiment.errors import ModelError

PACKAGE = "vaderSentiment"
COMPOUND_CUTOFF = 0.05


class VaderBaseline:
    """Anything evaluation can score: ``version``, ``probabilities``, ``decide_labels``."""

    supported_languages = ("en",)

    def __init__(self) -> None:
        try:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
        except ImportError as exc:
            raise ModelError(
                f"the VADER baseline needs the {PACKAGE} package: pip install {PACKAGE}==3.3.2"
            ) from exc
        self._analyzer = SentimentIntensityAnalyzer()
        self._scores = lru_cache(maxsize=200_000)(self._analyzer.polarity_scores)

    @property
    def version(self) -> str:
        try:
            return f"{PACKAGE}-{importlib.metadata.version(PACKAGE)}"
        except importlib.metadata.PackageNotFoundError:
            return PACKAGE

    def probabilities(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """(n, 3) VADER word shares: negative, neutral, positive."""
        result = np.tile(np.array([0.0, 1.0, 0.0]), (len(texts), 1))
        for i, text in enumerate(texts):
            scores = self._scores(text)
            shares = np.array([scores["neg"], scores["neu"], scores["pos"]], dtype=np.float64)
            if shares.sum() > 0:
                result[i] = shares / shares.sum()
        return result

    def compound(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([self._scores(text)["compound"] for text in texts], dtype=np.float64)

    def decide_labels(self, texts: Sequence[str], probabilities: np.ndarray) -> np.ndarray:
        """VADER's own rule on ``compound``; ``probabilities`` is not needed."""
        compound = self.compound(texts)
        labels = np.ones(len(texts), dtype=np.int64)
        labels[compound >= COMPOUND_CUTOFF] = 2
        labels[compound <= -COMPOUND_CUTOFF] = 0
        return labels
