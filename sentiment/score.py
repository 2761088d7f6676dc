"""What a score is, and what anything that scores must offer (no torch needed to import)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

LABELS = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class Score:
    """One text's verdict: class probabilities (summing to 1), the label and the model version."""

    negative: float
    neutral: float
    positive: float
    label: str
    model: str


class Scorer(Protocol):
    """The model as the storage and JSON-lines edges see it; :class:`SentimentModel` is one."""

    @property
    def version(self) -> str: ...

    def score(self, texts: Sequence[str], batch_size: int | None = None) -> list[Score]: ...
