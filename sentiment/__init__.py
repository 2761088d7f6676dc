"""Sentiment scoring: a packaged MiniLM encoder plus one small trained head per language, offline.

Public API: :class:`SentimentSettings`, :func:`load_model`, :class:`SentimentModel`,
:class:`Score`, :func:`score_unscored_posts`, :func:`score_jsonl`, :class:`ModelError`.
The heavy names are imported lazily so that reading settings does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from sentiment.config import SentimentSettings
from sentiment.errors import ModelError

_LAZY = {
    "LABELS": "sentiment.score",
    "Score": "sentiment.score",
    "Scorer": "sentiment.score",
    "SentimentModel": "sentiment.model",
    "load_model": "sentiment.model",
    "score_unscored_posts": "sentiment.store",
    "score_jsonl": "sentiment.jsonl",
}

__all__ = ["ModelError", "SentimentSettings", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sentiment' has no attribute {name!r}")
