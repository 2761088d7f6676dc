"""Settings for the sentiment model; flows composes them into uproar.toml under [sentiment]."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_MODEL = "default"


class SentimentSettings(BaseModel):
    """Which model scores posts and how hard it may push the CPU.

    ``model`` is ``"default"`` (the model committed under ``sentiment/default_model``) or the
    path of a local folder written by ``python -m sentiment.train``. Nothing is downloaded.
    """

    model_config = ConfigDict(extra="forbid")

    model: str = DEFAULT_MODEL
    batch_size: int = Field(default=32, ge=1, le=1024)
    max_length: int = Field(default=256, ge=8, le=512)
    threads: int | None = Field(default=None, ge=1)
