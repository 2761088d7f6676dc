"""Embeddings of labelled data kept on disk, so a second retrain does not re-run the encoder.

A cached array is keyed by the encoder's identity (what model.json says about it, plus the
encoder class and its maximum length), the sha256 of every data file the texts come from and
the exact rows chosen. Change any of them and the key changes: a stale entry is never read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sentiment.data import Example

EMBED_CHUNK = 512  # texts per encoder call, so long runs can report progress


def encoder_identity(model: Any) -> str:
    """A short fingerprint of the encoder inside ``model`` (independent of which one it is).

    An encoder may name itself with an ``identity`` string attribute; otherwise the
    ``encoder`` section of model.json, the encoder's class and ``max_length`` stand for it.
    """
    encoder = model.encoder
    explicit = getattr(encoder, "identity", None)
    parts = {
        "spec": model.spec.raw.get("encoder"),
        "class": f"{type(encoder).__module__}.{type(encoder).__qualname__}",
        "max_length": getattr(encoder, "max_length", None),
        "identity": explicit if isinstance(explicit, str) else None,
    }
    blob = json.dumps(parts, sort_keys=True, default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:16]


def file_hashes(paths: Sequence[Path]) -> dict[str, str]:
    """sha256 of each file, by file name."""
    hashes = {}
    for path in paths:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        hashes[path.name] = digest.hexdigest()
    return hashes


def embed_in_chunks(
    embed: Callable[[list[str]], np.ndarray],
    texts: Sequence[str],
    say: Callable[[str], None] | None = None,
    label: str = "",
) -> np.ndarray:
    """``embed`` over ``texts`` a chunk at a time, saying how far it got."""
    parts = []
    for start in range(0, len(texts), EMBED_CHUNK):
        parts.append(np.asarray(embed(list(texts[start : start + EMBED_CHUNK]))))
        if say is not None and len(texts) > EMBED_CHUNK:
            done = min(start + EMBED_CHUNK, len(texts))
            say(f"embedding {label}: {done}/{len(texts)}")
    if not parts:
        return np.zeros((0, 0), dtype=np.float32)
    return np.concatenate(parts)


class EmbeddingCache:
    """Embeddings of example sets under ``folder`` (None: no cache, always embed)."""

    def __init__(
        self,
        folder: Path | None,
        identity: str,
        embed: Callable[[list[str]], np.ndarray],
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.folder = folder
        self.identity = identity
        self.embed = embed
        self.say = say
        self.hits = 0
        self.misses = 0

    def key(self, examples: Sequence[Example], hashes: dict[str, str]) -> str:
        digest = hashlib.sha256(self.identity.encode())
        for source in sorted({example.source for example in examples}):
            digest.update(f"{source}:{hashes[source]}\n".encode())
        for example in examples:
            digest.update(f"{example.source}:{example.row}\n".encode())
        return digest.hexdigest()[:32]

    def vectors(self, name: str, examples: Sequence[Example], hashes: dict[str, str]) -> np.ndarray:
        """Embeddings of ``examples`` (in order), from the cache when the key matches."""
        path = None
        if self.folder is not None:
            path = self.folder / f"{name}-{self.key(examples, hashes)}.npy"
            if path.is_file():
                self.hits += 1
                return np.asarray(np.load(path))
        self.misses += 1
        vectors = embed_in_chunks(self.embed, [e.text for e in examples], self.say, name)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".partial.npy")
            np.save(partial, vectors)
            partial.replace(path)
        return vectors
