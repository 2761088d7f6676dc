"""The sentiment model uproar scores posts with: packaged encoder + one committed head per language.

A model is a folder holding ``model.json`` (version, labels, the routing rule, the encoder it
was trained on, and per language a head file, its sha256 and its negativity threshold) plus the
head files. ``"default"`` is ``sentiment/default_model``. Each text goes to the head of
:func:`sentiment.language.language_of`: Chinese when enough of its letters are CJK, else English.

Labels: the most likely class, except that a post whose negative probability reaches its
head's ``negativity_threshold`` (chosen on validation) is labelled negative even when neutral or
positive is larger, because a missed complaint costs more than a second look. Empty or
whitespace-only text scores exactly neutral (0, 1, 0).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sentiment.config import DEFAULT_MODEL, HF_MODEL, SentimentSettings
from sentiment.e5.encoder import E5Encoder
from sentiment.encoder import EMBEDDING_DIM, Encoder, file_sha256, load_encoder
from sentiment.errors import ModelError
from sentiment.head import LinearHead, decide_labels, load_head
from sentiment.hf_model import HfSentimentModel, load_hf_model
from sentiment.language import LANGUAGES, Language, language_of
from sentiment.score import LABELS, Score

__all__ = ["LABELS", "HeadSpec", "ModelSpec", "Score", "SentimentModel", "load_model"]

FORMAT = 3  # e5-small + committed LoRA adapter; 2 (MiniLM + heads) still loads
FORMATS = (2, 3)
SPEC_FILE = "model.json"
ADAPTER_FILE = "adapter.safetensors"
HEAD_FILES: dict[Language, str] = {"en": "head_en.safetensors", "zh": "head_zh.safetensors"}
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "default_model"


@dataclass(frozen=True)
class HeadSpec:
    """One language's head as model.json describes it."""

    file: str
    sha256: str
    negativity_threshold: float


@dataclass(frozen=True)
class ModelSpec:
    """What model.json says about a saved model."""

    folder: Path
    version: str
    heads: dict[Language, HeadSpec]
    zh_min_cjk_share: float
    encoder_package: str
    encoder_version: str
    encoder_sha256: str
    encoder_kind: str  # "minilm" (format 2) or "e5"
    zh_test_ids: dict[str, list[int]]
    raw: dict[str, Any]


def model_folder(name: str) -> Path:
    """The folder for ``settings.model``: the committed default or a local path."""
    return DEFAULT_MODEL_DIR if name == DEFAULT_MODEL else Path(name).expanduser()


def _head_spec(path: Path, language: str, raw: dict[str, Any]) -> HeadSpec:
    threshold = float(raw["negativity_threshold"])
    if not 0.0 < threshold <= 1.0:
        raise ModelError(
            f"{path}: heads.{language}.negativity_threshold {threshold} is not in (0, 1]"
        )
    return HeadSpec(str(raw["file"]), str(raw["sha256"]), threshold)


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
        if raw.get("format") not in FORMATS:
            raise ModelError(
                f"{path}: key 'format' is {raw.get('format')!r}, expected one of {FORMATS} "
                "(one head per language); retrain with python -m sentiment.train"
            )
        if tuple(raw["labels"]) != LABELS:
            raise ModelError(f"{path}: key 'labels' is {raw['labels']}, expected {list(LABELS)}")
        heads = {
            language: _head_spec(path, language, raw["heads"][language]) for language in LANGUAGES
        }
        held_out = raw.get("held_out", {}).get("zh_test", {}).get("ids", {})
        return ModelSpec(
            folder=folder,
            version=str(raw["version"]),
            heads=heads,
            zh_min_cjk_share=float(raw["routing"]["zh_min_cjk_share"]),
            encoder_package=str(raw["encoder"]["package"]),
            encoder_version=str(raw["encoder"]["version"]),
            encoder_sha256=str(raw["encoder"]["weights_sha256"]),
            encoder_kind=str(raw["encoder"].get("kind", "minilm")),
            zh_test_ids={str(k): [int(i) for i in v] for k, v in held_out.items()},
            raw=raw,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{path}: missing or malformed key {exc}") from exc


def routed_probabilities(
    vectors: np.ndarray, languages: Sequence[Language], heads: Mapping[Language, LinearHead]
) -> np.ndarray:
    """An (n, 3) array: each row scored by the head of its language."""
    result = np.zeros((len(languages), len(LABELS)))
    codes = np.array(languages, dtype=object)
    for language, head in heads.items():
        rows = np.flatnonzero(codes == language)
        if rows.size:
            result[rows] = head.probabilities(vectors[rows])
    return result


class SentimentModel:
    """Scores texts; ``version`` is what gets stored next to every score."""

    def __init__(
        self,
        spec: ModelSpec,
        heads: Mapping[Language, LinearHead],
        encoder: Encoder | E5Encoder,
        batch_size: int = 32,
    ) -> None:
        self.spec = spec
        self.heads = dict(heads)
        self.encoder = encoder
        self.batch_size = batch_size
        self._category_encoder: Encoder | E5Encoder | None = None

    @property
    def version(self) -> str:
        return self.spec.version

    @property
    def category_encoder(self) -> Encoder | E5Encoder:
        """The encoder complaint categories are read with: for a fine-tuned e5 model, the base
        e5 (the category prototypes and weights were chosen on it, and sentiment fine-tuning
        blurs the topic information they rely on); otherwise the sentiment encoder itself."""
        if self._category_encoder is None:
            encoder = self.encoder
            if isinstance(encoder, E5Encoder) and encoder.adapter is not None:
                encoder = E5Encoder(
                    runtime=encoder.runtime,
                    source_sha256=encoder.source.sha256,
                    max_length=encoder.max_length,
                    threads=encoder.threads,
                )
            self._category_encoder = encoder
        return self._category_encoder

    @property
    def negativity_thresholds(self) -> dict[Language, float]:
        return {lang: head.negativity_threshold for lang, head in self.spec.heads.items()}

    def languages(self, texts: Sequence[str]) -> list[Language]:
        """Which head reads each text."""
        return [language_of(text, self.spec.zh_min_cjk_share) for text in texts]

    def probabilities(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """An (n, 3) array of negative / neutral / positive probabilities."""
        result = np.tile(np.array([0.0, 1.0, 0.0]), (len(texts), 1))
        present = [i for i, text in enumerate(texts) if text and not text.isspace()]
        if present:
            chosen = [texts[i] for i in present]
            vectors = self.encoder.embed(chosen, batch_size or self.batch_size)
            result[present] = routed_probabilities(vectors, self.languages(chosen), self.heads)
        return result

    def decide_labels(self, texts: Sequence[str], probabilities: np.ndarray) -> np.ndarray:
        """Label indexes for ``probabilities`` of ``texts``, each by its head's threshold."""
        thresholds = self.negativity_thresholds
        per_row = np.array([thresholds[lang] for lang in self.languages(texts)])
        return decide_labels(probabilities, per_row)

    def score(self, texts: Sequence[str], batch_size: int | None = None) -> list[Score]:
        """One :class:`Score` per text, in order; see the module docstring for the label rule."""
        if isinstance(texts, str):
            raise TypeError("score() takes a sequence of texts, not a single string")
        probabilities = self.probabilities(texts, batch_size)
        labels = self.decide_labels(texts, probabilities)
        return [
            Score(float(p[0]), float(p[1]), float(p[2]), LABELS[int(label)], self.version)
            for p, label in zip(probabilities, labels, strict=True)
        ]


def _load_head(spec: ModelSpec, language: Language) -> LinearHead:
    head_spec = spec.heads[language]
    path = spec.folder / head_spec.file
    if not path.is_file():
        raise ModelError(f"the {language} sentiment head {path} named in {SPEC_FILE} is missing")
    sha = file_sha256(path)
    if sha != head_spec.sha256:
        raise ModelError(
            f"the {language} sentiment head {path} has sha256 {sha}, "
            f"but {spec.folder / SPEC_FILE} expects {head_spec.sha256}"
        )
    return load_head(path, classes=len(LABELS), dim=EMBEDDING_DIM)


def load_model(settings: SentimentSettings | None = None) -> SentimentModel | HfSentimentModel:
    """Load the model named by ``settings`` from local files only, verifying every checksum:
    uproar's own (default or retrained) or, with ``model = "hf"``, a Hugging Face
    sequence-classification model with the configured label mapping."""
    settings = settings or SentimentSettings()
    if settings.model == HF_MODEL:
        return load_hf_model(settings)
    spec = read_spec(model_folder(settings.model))
    heads = {language: _load_head(spec, language) for language in LANGUAGES}
    return SentimentModel(spec, heads, spec_encoder(spec, settings), settings.batch_size)


def spec_encoder(spec: ModelSpec, settings: SentimentSettings) -> Encoder | E5Encoder:
    """The encoder ``spec`` was trained on, checked by checksum, in the configured runtime."""
    if spec.encoder_kind == "minilm":
        return load_encoder(spec.encoder_sha256, settings.max_length, settings.threads)
    if spec.encoder_kind != "e5":
        raise ModelError(
            f"{spec.folder / SPEC_FILE}: encoder.kind {spec.encoder_kind!r} is not minilm or e5"
        )
    adapter = spec.raw["encoder"].get("adapter")
    return E5Encoder(
        spec.folder / adapter["file"] if adapter else None,
        adapter_sha256=adapter["sha256"] if adapter else None,
        source_sha256=spec.encoder_sha256,
        runtime=settings.runtime,
        max_length=min(settings.max_length, int(spec.raw["encoder"].get("max_length", 128))),
        threads=settings.threads,
    )
