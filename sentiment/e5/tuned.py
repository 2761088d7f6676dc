"""The fine-tuned e5: base weights plus the committed LoRA adapter, merged, and its int8 export.

The adapter file holds, for each adapted weight ``W``, ``<name>.lora_a`` (r, in) and
``<name>.lora_b`` (out, r) with alpha / rank already folded into B, so the merged weight is
``W + B @ A``. Merging once gives a plain ``BertModel`` with the speed of the base model.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import BertModel

from sentiment.errors import ModelError

ONNX_FILE = "model-int8.onnx"
ONNX_FP32_FILE = "model-fused.onnx"


def merge_adapter(model: BertModel, adapter: Path) -> BertModel:
    """Add every ``B @ A`` of ``adapter`` to the weight it names, in place."""
    try:
        tensors = load_file(str(adapter))
    except Exception as exc:
        raise ModelError(f"could not read the sentiment adapter {adapter}: {exc}") from exc
    parameters = dict(model.named_parameters())
    names = {key.rsplit(".", 1)[0] for key in tensors}
    with torch.no_grad():
        for name in sorted(names):
            a, b = tensors.get(f"{name}.lora_a"), tensors.get(f"{name}.lora_b")
            if a is None or b is None or name not in parameters:
                raise ModelError(
                    f"{adapter}: {name} is not a LoRA pair for a weight of the encoder"
                )
            weight = parameters[name]
            delta = b.float() @ a.float()
            if delta.shape != weight.shape:
                raise ModelError(
                    f"{adapter}: {name} has shape {tuple(delta.shape)}, the encoder's is "
                    f"{tuple(weight.shape)}"
                )
            weight.add_(delta)
    return model


def tuned_model(base: Path, adapter: Path | None) -> BertModel:
    model = BertModel.from_pretrained(base, add_pooling_layer=False)
    if adapter is not None:
        merge_adapter(model, adapter)
    return model.eval()


class MeanPooled(torch.nn.Module):
    """The whole embedding in one graph: encoder, attention-masked mean, L2 normalisation."""

    def __init__(self, model: BertModel):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, p=2.0, dim=1)


def export_int8(model: BertModel, folder: Path, *, quantise: bool = True) -> None:
    """ONNX export, ONNX Runtime's BERT fusions, then (``quantise``) dynamic int8 per-channel
    quantisation; without it the fused float32 graph is kept as ``ONNX_FP32_FILE``.

    Dynamic quantisation scales each activation tensor by its whole batch, so an int8 score
    depends slightly on the other texts in its batch; float32 does not."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer

    fp32 = folder / "model-fp32.onnx"
    fused = folder / "model-fused.onnx"
    example = (torch.ones(2, 8, dtype=torch.long), torch.ones(2, 8, dtype=torch.long))
    with torch.no_grad():
        torch.onnx.export(
            MeanPooled(model).eval(),
            example,
            str(fp32),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "embedding": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )
    config = model.config
    optimised = optimizer.optimize_model(
        str(fp32),
        model_type="bert",
        num_heads=config.num_attention_heads,
        hidden_size=config.hidden_size,
        opt_level=1,
    )
    optimised.save_model_to_file(str(fused))
    fp32.unlink()
    if not quantise:
        fused.rename(folder / ONNX_FP32_FILE)
        return
    quantize_dynamic(
        str(fused),
        str(folder / ONNX_FILE),
        weight_type=QuantType.QInt8,
        per_channel=True,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    fused.unlink()
