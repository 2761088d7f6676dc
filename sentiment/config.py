"""Settings for the sentiment model; flows composes them into uproar.toml under [sentiment]."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DEFAULT_MODEL = "default"
HF_MODEL = "hf"
SENTIMENTS = ("negative", "neutral", "positive")

# A model label is named ("LABEL_0", "negative") or given by its output index (0).
ModelLabel = str | int


class SentimentSettings(BaseModel):
    """Which model scores posts and how hard it may push the CPU.

    ``model`` is ``"default"`` (the model committed under ``sentiment/default_model``), the
    path of a local folder written by ``python -m sentiment.train``, or ``"hf"``: any Hugging
    Face sequence-classification model named by ``hf_model`` (a local folder, or a hub id that
    is downloaded only when ``allow_download = true``; otherwise it must already be in the
    local Hugging Face cache). ``hf_labels`` maps each sentiment to the model's label name(s)
    or output index(es), e.g. ``{negative = "LABEL_0", neutral = "LABEL_1", positive =
    "LABEL_2"}``; every model label must be mapped, and ``neutral`` may be left out for a
    binary model. Left empty, labels called negative / neutral / positive (any case) map
    themselves. ``hf_negativity_threshold`` plays the part model.json's threshold plays for
    uproar's own models (0.5 means: negative only when it is the largest class).
    """

    model_config = ConfigDict(extra="forbid")

    model: str = DEFAULT_MODEL
    batch_size: int = Field(default=32, ge=1, le=1024)
    max_length: int = Field(default=256, ge=8, le=512)
    threads: int | None = Field(default=None, ge=1)
    # How uproar's own e5 models run: ONNX Runtime float32 with fusions (default), the same
    # quantised to int8 (faster; scores move slightly with batch-mates), or torch float32.
    runtime: Literal["onnx", "onnx-int8", "torch"] = "onnx"
    hf_model: str | None = None
    hf_labels: dict[str, ModelLabel | list[ModelLabel]] = Field(default_factory=dict)
    hf_negativity_threshold: float = Field(default=0.5, gt=0.0, le=1.0)
    allow_download: bool = False
    # Retraining (sentiment/retrain.py): where retrained model folders go (default: beside
    # the SQLite database, see sentiment.registry.default_models_dir), how much more a human
    # correction counts than a training example, and the largest validation drop tolerated.
    models_dir: Path | None = None
    correction_weight: float = Field(default=5.0, gt=0.0, le=1000.0)
    retrain_max_drop: float = Field(default=0.01, ge=0.0, le=1.0)

    @field_validator("hf_labels")
    @classmethod
    def _known_sentiments(
        cls, value: dict[str, ModelLabel | list[ModelLabel]]
    ) -> dict[str, ModelLabel | list[ModelLabel]]:
        unknown = sorted(set(value) - set(SENTIMENTS))
        if unknown:
            raise ValueError(
                f"unknown sentiment name(s) {', '.join(unknown)}; "
                f"the keys of hf_labels are {', '.join(SENTIMENTS)}"
            )
        if value and not {"negative", "positive"} <= set(value):
            raise ValueError("hf_labels must map at least negative and positive")
        seen: set[ModelLabel] = set()
        for sentiment, labels in value.items():
            for label in labels if isinstance(labels, list) else [labels]:
                if isinstance(label, int) and label < 0:
                    raise ValueError(f"hf_labels.{sentiment}: index {label} is negative")
                if label in seen:
                    raise ValueError(f"hf_labels: model label {label!r} is mapped twice")
                seen.add(label)
            if isinstance(labels, list) and not labels:
                raise ValueError(f"hf_labels.{sentiment}: empty list")
        return value

    @model_validator(mode="after")
    def _hf_model_named(self) -> Self:
        if self.model == HF_MODEL and not self.hf_model:
            raise ValueError(
                'model = "hf" needs hf_model = "a local folder or a Hugging Face hub id"'
            )
        if self.hf_model and self.model != HF_MODEL:
            raise ValueError(
                f'hf_model is set but model is "{self.model}"; set model = "hf" to use it '
                "or remove hf_model"
            )
        return self
