"""The labelled data a retrain reads: a sample of the training pool and the validation sets.

The Chinese split is recomputed from what the model's model.json records (seed, rows per
source held out and used for validation), and checked against the held-out row ids it lists,
so a retrain never trains on the rows evaluation holds out. English trains on a sample of the
SemEval tweets; TweetEval val and the Chinese validation rows decide, SST-2 dev is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sentiment.data import (
    ZH_SOURCES,
    Example,
    load_semeval,
    load_sst2,
    load_tweeteval_val,
    sample,
    split_zh,
)
from sentiment.eval_sets import DataError, EvalSet

SEMEVAL = "en/semeval2013_2016_train.jsonl"
RETRAIN_FILES = (
    SEMEVAL,
    "en/val_text.txt",
    "en/val_labels.txt",
    "en/sst2_dev.tsv",
    *(f"zh/{source}" for source in ZH_SOURCES),
)
# The sets that decide whether a retrained model may be activated, by the head they judge.
GATES = {"tweeteval_val": "en", "zh_val": "zh"}
REPORT_ONLY = ("sst2_dev",)
# What train.py uses when a model.json does not record its Chinese split.
ZH_SPLIT_DEFAULTS = {"seed": 13, "per_source": 500, "zh_val_per_source": 300}


@dataclass(frozen=True)
class Sizes:
    """How much of the data a retrain reads (None: all of it)."""

    en_train: int | None = 8000
    zh_train_per_source: int | None = 1500
    validation_limit: int | None = None
    seed: int = 13


@dataclass(frozen=True)
class RetrainData:
    """Training examples per head, the validation sets and where each source file lives."""

    train: dict[str, list[Example]]
    validation: list[EvalSet]
    files: dict[str, Path]


def check_retrain_data(data: Path) -> None:
    """Fail naming the folder and every missing file when ``data`` is not the data folder."""
    if not data.is_dir():
        raise DataError(
            f"the labelled sentiment data folder {data} does not exist; pass --data PATH "
            "(a folder holding en/ and zh/ as described in its SOURCES.md)"
        )
    missing = [str(data / name) for name in RETRAIN_FILES if not (data / name).is_file()]
    if missing:
        raise DataError(f"the labelled sentiment data in {data} lacks: {', '.join(missing)}")


def _zh_split_settings(raw: dict[str, Any]) -> dict[str, Any]:
    recorded = raw.get("held_out", {}).get("zh_test", {})
    return {key: recorded.get(key, default) for key, default in ZH_SPLIT_DEFAULTS.items()}


def load_retrain_data(data: Path, raw_spec: dict[str, Any], sizes: Sizes) -> RetrainData:
    """The training sample and validation sets for the model described by ``raw_spec``."""
    check_retrain_data(data)
    split = _zh_split_settings(raw_spec)
    zh = split_zh(
        data, int(split["seed"]), int(split["per_source"]), int(split["zh_val_per_source"])
    )
    recorded = raw_spec.get("held_out", {}).get("zh_test", {}).get("ids")
    if recorded:
        ours = {s: sorted(e.row for e in zh.test if e.source == s) for s in ZH_SOURCES}
        theirs = {s: sorted(int(i) for i in recorded.get(s, [])) for s in ZH_SOURCES}
        if ours != theirs:
            raise DataError(
                f"the Chinese files in {data / 'zh'} no longer give the held-out rows the "
                "model's model.json lists: the data changed since training"
            )
    zh_train: list[Example] = []
    for index, source in enumerate(ZH_SOURCES):
        pool = [e for e in zh.train if e.source == source]
        zh_train += sample(pool, sizes.zh_train_per_source, sizes.seed + index)
    limit, seed = sizes.validation_limit, sizes.seed
    validation = [
        EvalSet(
            "tweeteval_val", "three_class", "en", sample(load_tweeteval_val(data), limit, seed)
        ),
        EvalSet("zh_val", "binary", "zh", sample(zh.val, limit, seed)),
        EvalSet("sst2_dev", "binary", "en", sample(load_sst2(data, "dev"), limit, seed)),
    ]
    files = {Path(name).name: data / name for name in RETRAIN_FILES}
    return RetrainData(
        train={"en": sample(load_semeval(data), sizes.en_train, seed), "zh": zh_train},
        validation=validation,
        files=files,
    )
