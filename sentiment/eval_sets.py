"""The labelled sets ``uproar sentiment eval`` scores: the data folder's, or a committed sample.

Read at evaluation time only (never when scoring). The Chinese held-out rows are the ones the
model's model.json names, so evaluation sees exactly the split its training held out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sentiment.data import (
    ZH_SOURCES,
    Example,
    load_sst2,
    load_tweeteval_val,
    sample as sample_of,
    select_rows,
)

LABEL_INDEX = {"negative": 0, "neutral": 1, "positive": 2}
Kind = Literal["three_class", "binary"]
DATA_FILES = (
    "en/val_text.txt",
    "en/val_labels.txt",
    "en/sst2_dev.tsv",
    *(f"zh/{source}" for source in ZH_SOURCES),
)


class DataError(Exception):
    """The labelled evaluation data is missing or no longer matches the model's held-out ids."""


@dataclass(frozen=True)
class EvalSet:
    """A labelled evaluation set; ``kind`` decides the headline metric."""

    name: str
    kind: Kind
    language: str
    examples: list[Example]

    @property
    def metric(self) -> str:
        return "macro_recall" if self.kind == "three_class" else "accuracy"


def check_data(data: Path) -> None:
    """Fail with every missing file named when ``data`` is not the labelled data folder."""
    if not data.is_dir():
        raise DataError(
            f"the sentiment evaluation data folder {data} does not exist; pass --data PATH "
            "(the folder holding en/ and zh/, see its SOURCES.md)"
        )
    missing = [str(data / name) for name in DATA_FILES if not (data / name).is_file()]
    if missing:
        raise DataError(f"the sentiment evaluation data in {data} lacks: {', '.join(missing)}")


def default_zh_test_ids() -> dict[str, list[int]]:
    """The Chinese rows the default model's training held out (from its model.json)."""
    from sentiment.model import DEFAULT_MODEL_DIR, read_spec

    return read_spec(DEFAULT_MODEL_DIR).zh_test_ids


def zh_test_ids_of(model: object) -> dict[str, list[int]]:
    """The model's own held-out Chinese rows, or the default model's when it has none."""
    spec = getattr(model, "spec", None)
    ids = getattr(spec, "zh_test_ids", None)
    return dict(ids) if ids else default_zh_test_ids()


def evaluation_sets(
    data: Path, zh_test_ids: Mapping[str, Sequence[int]], limit: int | None = None
) -> list[EvalSet]:
    """TweetEval val, SST-2 dev and the Chinese held-out rows (at most ``limit`` of each)."""
    check_data(data)
    zh = select_rows(data, {k: list(v) for k, v in zh_test_ids.items()})
    expected = sum(len(rows) for rows in zh_test_ids.values())
    if not expected:
        raise DataError("the model names no held-out Chinese rows (model.json held_out.zh_test)")
    if len(zh) != expected:
        raise DataError(
            f"model.json holds out {expected} Chinese rows but {data / 'zh'} has {len(zh)} of "
            "them: the data changed since training"
        )
    return [
        EvalSet(
            "tweeteval_val", "three_class", "en", sample_of(load_tweeteval_val(data), limit, 0)
        ),
        EvalSet("sst2_dev", "binary", "en", sample_of(load_sst2(data, "dev"), limit, 0)),
        EvalSet("zh_test", "binary", "zh", sample_of(zh, limit, 0)),
    ]


def sample_sets(path: Path) -> list[EvalSet]:
    """Sets from a JSON-lines sample (tests/data/sentiment_sample.jsonl: set, lang, label,
    text); a set whose labels include neutral is 3-class, otherwise binary."""
    if not path.is_file():
        raise DataError(f"the evaluation sample {path} does not exist")
    grouped: dict[str, list[Example]] = {}
    languages: dict[str, str] = {}
    for row, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            example = Example(record["text"], LABEL_INDEX[record["label"]], path.name, row)
            name, language = str(record["set"]), str(record.get("lang", "en"))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise DataError(f"{path}:{row + 1}: not a sample record ({exc})") from None
        grouped.setdefault(name, []).append(example)
        languages.setdefault(name, language)
    return [
        EvalSet(
            name,
            "three_class" if any(e.label == 1 for e in examples) else "binary",
            languages[name],
            examples,
        )
        for name, examples in grouped.items()
    ]
