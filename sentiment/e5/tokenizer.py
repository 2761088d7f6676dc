"""e5's text normalisation, exactly as e5.c does it, in front of the fast tokenizer:
per-codepoint replacements from the model file, then runs of spaces collapsed to one."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sentiment.e5.convert import NORMALISATION_FILE

_SPACES = re.compile(" {2,}")
QUERY_PREFIX = "query: "


class Normaliser:
    def __init__(self, table: dict[int, str]):
        self._table = table

    @classmethod
    def from_folder(cls, folder: Path) -> Normaliser:
        raw = json.loads((folder / NORMALISATION_FILE).read_text(encoding="utf-8"))
        return cls({int(cp): text for cp, text in raw.items()})

    def __call__(self, text: str) -> str:
        return _SPACES.sub(" ", text.translate(self._table))

    def query(self, text: str) -> str:
        """What e5 expects for a text to classify: the ``query: `` prefix, normalised."""
        return self(QUERY_PREFIX + text)
