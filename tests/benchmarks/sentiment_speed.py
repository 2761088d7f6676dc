"""Scoring speed and peak memory: uproar's scorer against a naive transformers pipeline on the
same weights (the fine-tuned e5 encoder and the English head), side by side in one run.

Each side runs in its own process so its peak resident memory (ru_maxrss) is its own. Texts are
real tweets (TweetEval validation, when ../shared/data is there) or the bench's sample posts.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

N_TEXTS = 1000
DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "en" / "val_text.txt"
FALLBACK = [
    "Day 6 and still no sign of my Acme parcel, and nobody answers the phone.",
    "Acme refund still not paid after 72 hours. Order #AC-20931.",
    "Loving my new Acme lamp, delivery was quick and the box was plastic-free.",
    "Acme opens a new store in Leeds next month.",
    "Acme客服态度太差了，退款一个星期还没到账。",
    "云雀家居的沙发质量很好，物流也快。",
]


def texts(n: int = N_TEXTS) -> list[str]:
    if DATA.is_file():
        lines = [line for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        lines = [f"{t} #{i}" for i in range(n) for t in FALLBACK][:n]
    return (lines * (n // max(len(lines), 1) + 1))[:n]


def _uproar(n: int, threads: int) -> dict[str, float]:
    from sentiment.config import SentimentSettings
    from sentiment.model import load_model

    model = load_model(SentimentSettings(threads=threads))
    batch = texts(n)
    model.score(batch[:64])  # warm-up
    started = time.perf_counter()
    model.score(batch, batch_size=64)
    seconds = time.perf_counter() - started
    return {"posts_per_second": n / seconds, "version": model.version}  # type: ignore[dict-item]


def _naive(n: int, threads: int) -> dict[str, float]:
    import torch
    from safetensors.numpy import load_file
    from transformers import AutoTokenizer, BertConfig, BertModel, BertPreTrainedModel, pipeline
    from transformers.modeling_outputs import SequenceClassifierOutput

    from sentiment.config import SentimentSettings
    from sentiment.e5.tuned import tuned_model
    from sentiment.model import DEFAULT_MODEL_DIR, read_spec, spec_encoder

    torch.set_num_threads(threads)
    spec = read_spec(DEFAULT_MODEL_DIR)
    encoder = spec_encoder(spec, SentimentSettings(runtime="torch", threads=threads))
    base = encoder.info.folder
    head = load_file(str(DEFAULT_MODEL_DIR / spec.heads["en"].file))

    class MeanPooledClassifier(BertPreTrainedModel):  # the same weights, HF-style
        def __init__(self, config: BertConfig) -> None:
            super().__init__(config)
            self.bert = BertModel(config, add_pooling_layer=False)
            self.classifier = torch.nn.Linear(config.hidden_size, 3)

        def forward(self, input_ids=None, attention_mask=None, **_):  # type: ignore[no-untyped-def]
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            w = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = torch.nn.functional.normalize((hidden * w).sum(1) / w.sum(1), dim=1)
            return SequenceClassifierOutput(logits=self.classifier(pooled))

    config = BertConfig.from_pretrained(base)
    config.id2label = {0: "negative", 1: "neutral", 2: "positive"}
    config.label2id = {v: k for k, v in config.id2label.items()}
    model = MeanPooledClassifier(config)
    model.bert = tuned_model(base, encoder.adapter)
    with torch.no_grad():
        model.classifier.weight.copy_(torch.from_numpy(head["weight"]))
        model.classifier.bias.copy_(torch.from_numpy(head["bias"]))
    model.eval()
    classify = pipeline(
        "text-classification",
        model=model,
        tokenizer=AutoTokenizer.from_pretrained(base),
        device="cpu",
    )
    batch = ["query: " + t for t in texts(n)]
    classify(batch[:8])
    started = time.perf_counter()
    classify(batch, truncation=True, max_length=128)
    seconds = time.perf_counter() - started
    return {"posts_per_second": n / seconds}


def child(which: str, n: int, threads: int) -> None:
    result = (_uproar if which == "uproar" else _naive)(n, threads)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def run(which: str, n: int, threads: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.sentiment_speed", which, str(n), str(threads)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
    )
    if done.returncode != 0:
        raise RuntimeError(f"{which} benchmark failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(n: int = N_TEXTS, threads: int = 2) -> None:
    ours = run("uproar", n, threads)
    naive = run("naive", n, threads)
    print(f"sentiment scoring, {n} tweets, {threads} threads:")
    print(f"  {'':34} {'posts/s':>9} {'peak RSS':>10}")
    print(
        f"  {'uproar (e5 + LoRA, ONNX, buckets)':34} {ours['posts_per_second']:9.1f} "
        f"{ours['peak_rss_mb']:8.0f} MB"
    )
    print(
        f"  {'naive transformers.pipeline':34} {naive['posts_per_second']:9.1f} "
        f"{naive['peak_rss_mb']:8.0f} MB"
    )
    print(
        f"  ratio: {ours['posts_per_second'] / naive['posts_per_second']:.1f}x faster, "
        f"{ours['peak_rss_mb'] / naive['peak_rss_mb']:.2f}x the memory ({ours.get('version')})"
    )


if __name__ == "__main__":
    if len(sys.argv) == 4:
        child(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
    else:
        main()
