"""Complaint categories for scored texts: negative ones get a category, others None.

The category classifier (:mod:`sentiment.category`) reads the same encoder the model
scores with when the model has one (uproar's own models); a bring-your-own Hugging Face
model has none, and then the keyword rules alone decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sentiment.category import classify_categories, settings_for
from sentiment.language import language_of
from sentiment.score import Score, Scorer


def categories_for(
    model: Scorer, texts: Sequence[str], scores: Sequence[Score]
) -> list[str | None]:
    """One category per text: the classifier's for negative texts, None for the rest."""
    negative = [i for i, score in enumerate(scores) if score.label == "negative"]
    result: list[str | None] = [None] * len(texts)
    if not negative:
        return result
    chosen = [texts[i] for i in negative]
    encoder: Any = getattr(model, "category_encoder", None) or getattr(model, "encoder", None)
    embed = encoder.embed if encoder is not None else None
    settings = settings_for(encoder.info.package) if encoder is not None else None
    languages = [language_of(text) for text in chosen]
    for index, found in zip(
        negative, classify_categories(chosen, languages, embed, settings=settings), strict=True
    ):
        result[index] = found.category
    return result
