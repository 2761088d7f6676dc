"""The sentiment model uproar scores posts with: packaged encoder + committed linear head.

A model is a folder holding ``model.json`` (version, labels, threshold, the encoder it was
trained on) and ``head.safetensors``. ``"default"`` is ``sentiment/default_model``.

Labels: the most likely class, except that a post whose negative probability reaches the
model's ``negativity_threshold`` (chosen on validation, stored in model.json) is labelled
negative even when neutral or positive is larger, because a missed complaint costs more
than a second look. Empty or whitespace-only text scores exactly neutral (0, 1, 0).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sentiment.config import DEFAULT_MODEL, SentimentSettings
from sentiment.encoder import EMBEDDING_DIM, Encoder, load_encoder
from sentiment.errors import ModelError
from sentiment.head import LinearHead, decide_labels, load_head
from sentiment.score import LABELS, Score

__all__ = ["LABELS", "ModelSpec", "Score", "SentimentModel", "load_model"]

SPEC_FILE = "model.json"
HEAD_FILE = "head.safetensors"
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "default_model"


@dataclass(frozen=True)
class ModelSpec:
    """What model.json says about a saved model."""

    folder: Path
    version: str
    negativity_threshold: float
    head_file: str
    head_sha256: str
    encoder_package: str
    encoder_version: str
    encoder_sha256: str
    zh_test_ids: dict[str, list[int]]
    raw: dict[str, Any]


def model_folder(name: str) -> Path:
    """The folder for ``settings.model``: the committed default or a local path."""
    return DEFAULT_MODEL_DIR if name == DEFAULT_MODEL else Path(name).expanduser()


def read_spec(folder: Path) -> ModelSpec:
    """Parse and check ``folder/model.json``; errors name the file and the key."""
    path = folder / SPEC_FILE
    if not path.is_file():
        raise ModelError(f"no sentiment model at {folder}: {SPEC_FILE} not found")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path} is not valid JSON: {exc}") from exc
    try:
        if tuple(raw["labels"]) != LABELS:
            raise ModelError(f"{path}: key 'labels' is {raw['labels']}, expected {list(LABELS)}")
        threshold = float(raw["negativity_threshold"])
        if not 0.0 < threshold <= 1.0:
            raise ModelError(f"{path}: 'negativity_threshold' {threshold} is not in (0, 1]")
        held_out = raw.get("held_out", {}).get("zh_test", {}).get("ids", {})
        return ModelSpec(
            folder=folder,
            version=str(raw["version"]),
            negativity_threshold=threshold,
            head_file=str(raw["head"]["file"]),
            head_sha256=str(raw["head"]["sha256"]),
            encoder_package=str(raw["encoder"]["package"]),
            encoder_version=str(raw["encoder"]["version"]),
            encoder_sha256=str(raw["encoder"]["weights_sha256"]),
            zh_test_ids={str(k): [int(i) for i in v] for k, v in held_out.items()},
            raw=raw,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{path}: missing or malformed key {exc}") from exc


class SentimentModel:
    """Scores texts; ``version`` is what gets stored next to every score."""

    def __init__(
        self, spec: ModelSpec, head: LinearHead, encoder: Encoder, batch_size: int = 32
    ) -> None:
        self.spec = spec
        self.head = head
        self.encoder = encoder
        self.batch_size = batch_size

    @property
    def version(self) -> str:
        return self.spec.version

    @property
    def negativity_threshold(self) -> float:
        return self.spec.negativity_threshold

    def probabilities(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """An (n, 3) array of negative / neutral / positive probabilities."""
        result = np.tile(np.array([0.0, 1.0, 0.0]), (len(texts), 1))
        present = [i for i, text in enumerate(texts) if text and not text.isspace()]
        if present:
            vectors = self.encoder.embed([texts[i] for i in present], batch_size or self.batch_size)
            result[present] = self.head.probabilities(vectors)
        return result

    def score(self, texts: Sequence[str], batch_size: int | None = None) -> list[Score]:
        """One :class:`Score` per text, in order; see the module docstring for the label rule."""
        if isinstance(texts, str):
            raise TypeError("score() takes a sequence of texts, not a single string")
        probabilities = self.probabilities(texts, batch_size)
        labels = decide_labels(probabilities, self.negativity_threshold)
        return [
            Score(float(p[0]), float(p[1]), float(p[2]), LABELS[int(label)], self.version)
            for p, label in zip(probabilities, labels, strict=True)
        ]


def load_model(settings: SentimentSettings | None = None) -> SentimentModel:
    """Load the model named by ``settings`` from local files only, verifying every checksum."""
    settings = settings or SentimentSettings()
    spec = read_spec(model_folder(settings.model))
    head_path = spec.folder / spec.head_file
    if not head_path.is_file():
        raise ModelError(f"the sentiment head {head_path} named in {SPEC_FILE} is missing")
    head_sha = hashlib.sha256(head_path.read_bytes()).hexdigest()
    if head_sha != spec.head_sha256:
        raise ModelError(
            f"the sentiment head {head_path} has sha256 {head_sha}, "
            f"but {spec.folder / SPEC_FILE} expects {spec.head_sha256}"
        )
    head = load_head(head_path, classes=len(LABELS), dim=EMBEDDING_DIM)
    encoder = load_encoder(spec.encoder_sha256, settings.max_length, settings.threads)
    return SentimentModel(spec, head, encoder, settings.batch_size)
