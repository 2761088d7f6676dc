"""Bring your own model: any Hugging Face sequence-classification model as uproar's scorer.

``[sentiment] model = "hf"`` with ``hf_model`` a local folder (``save_pretrained`` layout) or a
hub id such as ``cardiffnlp/twitter-xlm-roberta-base-sentiment``. Loading never touches the
network unless the config says ``allow_download = true``: a hub id is then fetched once, in a
child process with HF_HUB_OFFLINE=0 (this process stays offline), into the Hugging Face cache;
without it, the id must already be in that cache.

The model's labels are mapped to (negative, neutral, positive) by ``hf_labels`` (or by their
own names); several model labels may add up into one sentiment (a 5-star model) and a binary
model has no neutral column (always 0). Texts are tokenised once, sorted by length and scored in
batches of similar length, so padding stays short. The version stored with every score is
``hf:<name>@<first 12 hex of the sha256 of the weight files>``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

# Before transformers / huggingface_hub are imported: they read these once, at import time.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import numpy as np

from sentiment.config import HF_MODEL, SENTIMENTS, ModelLabel, SentimentSettings
from sentiment.errors import ModelError
from sentiment.score import LABELS, Score

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".msgpack", ".h5", ".onnx")
VERSION_LIMIT = 100  # sentiment_scores.model_version is String(100)
DOWNLOAD_TIMEOUT = 1800
SELF_NAMED = {
    "negative": "negative",
    "neg": "negative",
    "neutral": "neutral",
    "neu": "neutral",
    "positive": "positive",
    "pos": "positive",
}


def label_columns(
    id2label: Mapping[int, str], mapping: Mapping[str, ModelLabel | list[ModelLabel]]
) -> np.ndarray:
    """A (model outputs, 3) 0/1 matrix: output ``i`` adds into sentiment column ``j``.

    ``mapping`` values are label names from ``id2label`` or output indexes; an empty mapping
    uses the model's own label names when they are negative / neutral / positive. Every model
    output must land in exactly one sentiment, negative and positive must be covered.
    """
    outputs = len(id2label)
    names = {str(name): int(index) for index, name in id2label.items()}
    wanted = dict(mapping)
    if not wanted:
        by_name: dict[str, list[ModelLabel]] = {}
        for name, index in names.items():
            sentiment = SELF_NAMED.get(name.strip().lower())
            if sentiment is None:
                raise ModelError(
                    f"the model's labels are {sorted(names)}; they do not name a sentiment, so "
                    'set hf_labels under [sentiment], e.g. hf_labels = {negative = "LABEL_0", '
                    'neutral = "LABEL_1", positive = "LABEL_2"}'
                )
            by_name.setdefault(sentiment, []).append(index)
        wanted = dict(by_name)
    matrix = np.zeros((outputs, len(SENTIMENTS)))
    for sentiment, labels in wanted.items():
        if sentiment not in SENTIMENTS:
            raise ModelError(f"hf_labels: {sentiment!r} is not one of {', '.join(SENTIMENTS)}")
        for label in labels if isinstance(labels, list) else [labels]:
            if isinstance(label, int):
                if not 0 <= label < outputs:
                    raise ModelError(
                        f"hf_labels.{sentiment}: index {label} is out of range; the model has "
                        f"{outputs} outputs (0..{outputs - 1})"
                    )
                index = label
            elif label in names:
                index = names[label]
            else:
                raise ModelError(
                    f"hf_labels.{sentiment}: the model has no label {label!r}; "
                    f"its labels are {sorted(names)} (or use indexes 0..{outputs - 1})"
                )
            if matrix[index].any():
                raise ModelError(f"hf_labels: model output {index} is mapped twice")
            matrix[index, SENTIMENTS.index(sentiment)] = 1.0
    unmapped = [id2label[i] for i in range(outputs) if not matrix[i].any()]
    if unmapped:
        raise ModelError(f"hf_labels: model label(s) {unmapped} are not mapped to a sentiment")
    for needed in ("negative", "positive"):
        if not matrix[:, SENTIMENTS.index(needed)].any():
            raise ModelError(f"hf_labels: no model label is mapped to {needed}")
    return matrix


def weights_sha256(folder: Path) -> str:
    """sha256 over every weight file in ``folder`` (name and bytes, sorted by name)."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in WEIGHT_SUFFIXES)
    if not files:
        raise ModelError(f"no model weights ({', '.join(WEIGHT_SUFFIXES)}) in {folder}")
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\x00")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def model_version(name: str, sha256: str) -> str:
    suffix = f"@{sha256[:12]}"
    return f"hf:{name}"[: VERSION_LIMIT - len(suffix)] + suffix


def _cached_snapshot(repo_id: str) -> Path | None:
    """The local folder of ``repo_id`` in the Hugging Face cache, without any network."""
    try:
        from huggingface_hub import snapshot_download

        folder = snapshot_download(repo_id, local_files_only=True)
    except Exception:
        return None
    return Path(folder) if isinstance(folder, str) else None


def download(repo_id: str) -> Path:
    """Fetch ``repo_id`` into the Hugging Face cache in a child process that may use the network."""
    env = {**os.environ, "HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "0"}
    code = (
        "import sys\n"
        "from huggingface_hub import snapshot_download\n"
        "print(snapshot_download(sys.argv[1]))"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, repo_id],
            env=env,
            capture_output=True,
            text=True,
            timeout=DOWNLOAD_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ModelError(f"downloading {repo_id!r} took over {DOWNLOAD_TIMEOUT} s") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no error output"])[-1]
        raise ModelError(f"could not download {repo_id!r} from the Hugging Face hub: {last}")
    return Path(done.stdout.strip().splitlines()[-1])


def resolve_model_folder(ref: str, allow_download: bool) -> Path:
    """A local folder for ``ref``: itself when it is one, else the cached (or fetched) hub id."""
    path = Path(ref).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelError(
                f"hf_model {ref!r}: {path} has no config.json (save_pretrained layout)"
            )
        return path
    if path.is_absolute() or ref.startswith((".", "~")) or ref.count("/") > 1:
        raise ModelError(f"hf_model {ref!r}: no such folder")
    cached = _cached_snapshot(ref)
    if cached is not None:
        return cached
    if not allow_download:
        raise ModelError(
            f"hf_model {ref!r} is not a local folder and not in the Hugging Face cache; set "
            "allow_download = true under [sentiment] to fetch it once (needs network), or "
            "give the path of a folder written by save_pretrained"
        )
    return download(ref)


class HfSentimentModel:
    """A sequence-classification model scoring (negative, neutral, positive)."""

    def __init__(
        self,
        folder: Path,
        name: str,
        labels: Mapping[str, ModelLabel | list[ModelLabel]],
        max_length: int = 256,
        batch_size: int = 32,
        negativity_threshold: float = 0.5,
        threads: int | None = None,
    ) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        if threads is not None:
            torch.set_num_threads(threads)
        transformers_logging.disable_progress_bar()
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            self.network = AutoModelForSequenceClassification.from_pretrained(
                folder, local_files_only=True
            )
        except Exception as exc:
            raise ModelError(f"could not load hf_model {name!r} from {folder}: {exc}") from exc
        self.network.eval()
        id2label = {int(i): str(v) for i, v in self.network.config.id2label.items()}
        self.columns = label_columns(id2label, labels)
        self.folder = folder
        self.name = name
        self.max_length = _length_limit(self.tokenizer, self.network.config, max_length)
        self.batch_size = batch_size
        self.negativity_threshold = negativity_threshold
        self.sha256 = weights_sha256(folder)

    @property
    def version(self) -> str:
        return model_version(self.name, self.sha256)

    def probabilities(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """(n, 3) negative / neutral / positive; empty text is exactly neutral (0, 1, 0)."""
        import torch

        result = np.tile(np.array([0.0, 1.0, 0.0]), (len(texts), 1))
        present = [i for i, text in enumerate(texts) if text and not text.isspace()]
        if not present:
            return result
        size = batch_size or self.batch_size
        encoded = self.tokenizer(
            [texts[i] for i in present], truncation=True, max_length=self.max_length
        )
        ids: list[list[int]] = encoded["input_ids"]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        outputs = np.zeros((len(ids), self.columns.shape[0]))
        with torch.inference_mode():
            for start in range(0, len(order), size):
                chunk = order[start : start + size]
                batch = self.tokenizer.pad(
                    {"input_ids": [ids[i] for i in chunk]}, padding=True, return_tensors="pt"
                )
                logits = self.network(
                    input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
                ).logits
                outputs[chunk] = torch.softmax(logits.double(), dim=-1).cpu().numpy()
        result[present] = outputs @ self.columns
        return result

    def decide_labels(self, texts: Sequence[str], probabilities: np.ndarray) -> np.ndarray:
        """Most likely class, or negative from ``negativity_threshold`` up (as uproar's models)."""
        labels = probabilities.argmax(axis=1)
        labels[probabilities[:, 0] >= self.negativity_threshold] = 0
        return np.asarray(labels)

    def score(self, texts: Sequence[str], batch_size: int | None = None) -> list[Score]:
        if isinstance(texts, str):
            raise TypeError("score() takes a sequence of texts, not a single string")
        p = self.probabilities(texts, batch_size)
        labels = self.decide_labels(texts, p)
        return [
            Score(float(r[0]), float(r[1]), float(r[2]), LABELS[int(label)], self.version)
            for r, label in zip(p, labels, strict=True)
        ]


def _length_limit(tokenizer: object, config: object, wanted: int) -> int:
    """``wanted``, capped by the tokenizer's limit (some report a huge sentinel when they have
    none) and by the position table (less 2: RoBERTa-style models offset positions by 2)."""
    limit = wanted
    tokenizer_limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(tokenizer_limit, int) and 0 < tokenizer_limit < 100_000:
        limit = min(limit, tokenizer_limit)
    positions = getattr(config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 8:
        limit = min(limit, positions - 2)
    return limit


def load_hf_model(settings: SentimentSettings) -> HfSentimentModel:
    """The Hugging Face model ``settings`` names (``model = "hf"``)."""
    if settings.model != HF_MODEL or not settings.hf_model:
        raise ModelError('load_hf_model needs settings with model = "hf" and hf_model set')
    folder = resolve_model_folder(settings.hf_model, settings.allow_download)
    local = Path(settings.hf_model).expanduser()
    name = local.resolve().name if local.is_dir() else settings.hf_model
    return HfSentimentModel(
        folder,
        name,
        settings.hf_labels,
        max_length=settings.max_length,
        batch_size=settings.batch_size,
        negativity_threshold=settings.hf_negativity_threshold,
        threads=settings.threads,
    )
