"""Prototype phrases per category, embedded once per encoder, and how close a post is to them.

The phrases (``category_prototypes.json``) are example complaints per category and language,
written for uproar and never copied from the evaluation set. A post's similarity to a category
is the mean of its ``top_k`` highest cosine similarities to that category's phrases.

Cosine scales differ between encoders (MiniLM spreads them over roughly 0-0.7, e5 packs them
into a narrow band near 0.8), so each index also measures its own *spread*: how far, typically,
one prototype's similarity to a category stands out from its mean similarity to all categories
(each prototype left out of its own comparison). Similarities divided by that spread mean the
same thing whichever encoder made them, and a post unlike every category stays near zero.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

PROTOTYPES_FILE = Path(__file__).resolve().parent / "category_prototypes.json"

Embed = Callable[[Sequence[str]], np.ndarray]
ALL_LANGUAGES = "*"


@dataclass(frozen=True)
class Prototypes:
    """Example phrases per category and language (``{category: {language: [phrase, ...]}}``)."""

    phrases: dict[str, dict[str, tuple[str, ...]]]

    @classmethod
    def load(cls, categories: Sequence[str], path: Path = PROTOTYPES_FILE) -> Prototypes:
        """Read the JSON file, refusing categories not in ``categories``."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            found = raw["categories"]
            phrases = {
                category: {language: tuple(items) for language, items in by_language.items()}
                for category, by_language in found.items()
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(
                f"{path}: expected a JSON object with 'categories': "
                f"{{category: {{language: [phrase, ...]}}}} ({exc})"
            ) from exc
        unknown = sorted(set(phrases) - set(categories))
        if unknown:
            raise ValueError(f"{path}: unknown categories {unknown}; known: {list(categories)}")
        return cls(phrases)

    def languages(self) -> tuple[str, ...]:
        return tuple(sorted({lang for by_lang in self.phrases.values() for lang in by_lang}))


def prototype_language(language: str, available: Sequence[str]) -> str:
    """Which prototype set a post of ``language`` is compared with: its own, else all of them."""
    base = (language or "").lower().replace("_", "-").split("-")[0]
    return base if base in available else ALL_LANGUAGES


def category_similarity(
    sims: np.ndarray, labels: np.ndarray, columns: int, top_k: int
) -> tuple[np.ndarray, list[int]]:
    """Mean of the ``top_k`` highest ``sims`` per category (all when 0), and each best row.

    A category without prototypes scores 0 with best row -1.
    """
    scores = np.zeros(columns, dtype=np.float64)
    best: list[int] = []
    for column in range(columns):
        mine = np.flatnonzero(labels == column)
        if mine.size == 0:
            best.append(-1)
            continue
        ranked = mine[np.argsort(-sims[mine])]
        k = top_k if top_k > 0 else ranked.size
        scores[column] = float(np.mean(sims[ranked[:k]]))
        best.append(int(ranked[0]))
    return scores, best


def prototype_spread(vectors: np.ndarray, labels: np.ndarray, columns: int, top_k: int) -> float:
    """Standard deviation of the prototypes' centred category similarities, each left out."""
    present = [c for c in range(columns) if np.any(labels == c)]
    if len(vectors) < 2 or len(present) < 2:
        return 1.0
    matrix = vectors @ vectors.T
    np.fill_diagonal(matrix, np.nan)
    deviations = []
    for i in range(len(vectors)):
        row = np.nan_to_num(matrix[i], nan=-np.inf)
        scores, _ = category_similarity(row, labels, columns, top_k)
        values = scores[present]
        values = values[np.isfinite(values)]
        if values.size > 1:
            deviations.append(values - values.mean())
    spread = float(np.std(np.concatenate(deviations))) if deviations else 0.0
    return spread if spread > 1e-9 else 1.0


@dataclass(frozen=True)
class PrototypeIndex:
    """One language's (or all languages') prototype embeddings, their categories and spread."""

    vectors: np.ndarray
    labels: np.ndarray
    phrases: list[str]
    spread: float

    @classmethod
    def build(
        cls,
        prototypes: Prototypes,
        categories: Sequence[str],
        language: str,
        embed: Embed,
        top_k: int,
    ) -> PrototypeIndex:
        phrases: list[str] = []
        labels: list[int] = []
        for column, category in enumerate(categories):
            for lang, items in prototypes.phrases.get(category, {}).items():
                if language in (ALL_LANGUAGES, lang):
                    phrases.extend(items)
                    labels.extend([column] * len(items))
        vectors = np.asarray(embed(phrases), dtype=np.float64)
        label_array = np.array(labels, dtype=np.int64)
        spread = prototype_spread(vectors, label_array, len(categories), top_k)
        return cls(vectors, label_array, phrases, spread)


@dataclass
class _PerEncoder:
    indexes: dict[tuple[str, int], PrototypeIndex] = field(default_factory=dict)


class PrototypeCache:
    """Prototype indexes per encoder, in memory, dropped when the encoder object is.

    ``embed`` is usually a bound method (``encoder.embed``), a new object at every attribute
    access, so the cache keys on the object it is bound to and the function behind it.
    """

    def __init__(self, prototypes: Prototypes, categories: Sequence[str]):
        self.prototypes = prototypes
        self.categories = tuple(categories)
        self._store: weakref.WeakKeyDictionary[Any, dict[Any, _PerEncoder]] = (
            weakref.WeakKeyDictionary()
        )

    def index(self, embed: Embed, language: str, top_k: int) -> PrototypeIndex:
        """The index for posts of ``language`` (own prototypes, else all), built on first use."""
        per_encoder = self._per_encoder(embed)
        key = (prototype_language(language, self.prototypes.languages()), top_k)
        if key not in per_encoder.indexes:
            per_encoder.indexes[key] = PrototypeIndex.build(
                self.prototypes, self.categories, key[0], embed, top_k
            )
        return per_encoder.indexes[key]

    def _per_encoder(self, embed: Embed) -> _PerEncoder:
        owner = getattr(embed, "__self__", embed)
        function = getattr(embed, "__func__", None)
        try:
            by_function = self._store.setdefault(owner, {})
        except TypeError:  # not weak-referenceable: no caching, embed afresh each call
            return _PerEncoder()
        return by_function.setdefault(function, _PerEncoder())
