"""Reading the labelled sentiment data in /work/shared/data and splitting it reproducibly.

Labels are always 0 negative, 1 neutral, 2 positive; the binary sets (SST-2, the Chinese
reviews) only use 0 and 2. Only training and tuning use these loaders; scoring never does.
"""

from __future__ import annotations

import csv
import io
import json
import random
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

NEGATIVE, NEUTRAL, POSITIVE = 0, 1, 2
ZH_SOURCES = ("waimai_10k.csv", "ChnSentiCorp_htl_all.csv", "online_shopping_10_cats.zip")


@dataclass(frozen=True)
class Example:
    """One labelled text; ``source`` and ``row`` say exactly where it came from."""

    text: str
    label: int
    source: str
    row: int


def load_semeval(data: Path) -> list[Example]:
    """SemEval 2013-2016 tweets (3-class), the pool the English training sample comes from."""
    path = data / "en" / "semeval2013_2016_train.jsonl"
    examples = []
    with path.open(encoding="utf-8") as handle:
        for row, line in enumerate(handle):
            record = json.loads(line)
            examples.append(Example(record["text"], int(record["label"]), path.name, row))
    return examples


def load_tweeteval_val(data: Path) -> list[Example]:
    """TweetEval sentiment validation: evaluation only, never trained on."""
    texts = (data / "en" / "val_text.txt").read_text(encoding="utf-8").splitlines()
    labels = (data / "en" / "val_labels.txt").read_text(encoding="utf-8").split()
    if len(texts) != len(labels):
        raise ValueError(f"{data / 'en'}: {len(texts)} validation texts but {len(labels)} labels")
    pairs = enumerate(zip(texts, labels, strict=True))
    return [Example(text, int(label), "val_text.txt", i) for i, (text, label) in pairs]


def load_sst2(data: Path, split: str) -> list[Example]:
    """SST-2 ``train`` or ``dev`` sentences, binary labels mapped to negative / positive."""
    path = data / "en" / f"sst2_{split}.tsv"
    examples = []
    with path.open(encoding="utf-8") as handle:
        for row, line in enumerate(handle):
            text, _, label = line.rstrip("\n").rpartition("\t")
            label_value = POSITIVE if label.strip() == "1" else NEGATIVE
            examples.append(Example(text, label_value, path.name, row))
    return examples


def _csv_rows(data: Path, source: str) -> Iterator[dict[str, str]]:
    path = data / "zh" / source
    if source.endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            name = next(n for n in archive.namelist() if n.endswith(".csv"))
            with archive.open(name) as raw:
                yield from csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8-sig"))
    else:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            yield from csv.DictReader(handle)


def load_zh(data: Path, source: str) -> list[Example]:
    """One Chinese review file, empty reviews and repeated texts dropped (first one kept)."""
    examples, seen = [], set()
    for row, record in enumerate(_csv_rows(data, source)):
        text = (record.get("review") or "").strip()
        if not text or text in seen:
            continue
        seen.add(text)
        label = POSITIVE if record["label"].strip() == "1" else NEGATIVE
        examples.append(Example(text, label, source, row))
    return examples


@dataclass(frozen=True)
class ZhSplit:
    train: list[Example]
    val: list[Example]
    test: list[Example]


def split_zh(data: Path, seed: int, test_per_source: int, val_per_source: int) -> ZhSplit:
    """Shuffle each Chinese file with ``seed``; the first rows are held out, the next tune."""
    train: list[Example] = []
    val: list[Example] = []
    test: list[Example] = []
    for source in ZH_SOURCES:
        examples = load_zh(data, source)
        random.Random(f"{seed}:{source}").shuffle(examples)
        test += examples[:test_per_source]
        val += examples[test_per_source : test_per_source + val_per_source]
        train += examples[test_per_source + val_per_source :]
    held_out = {example.text for example in test + val}
    train = [example for example in train if example.text not in held_out]
    return ZhSplit(train, val, test)


def select_rows(data: Path, ids: dict[str, list[int]]) -> list[Example]:
    """The Chinese examples named by ``{source: [row, ...]}`` (as stored in model.json)."""
    selected: list[Example] = []
    for source, rows in ids.items():
        wanted = set(rows)
        selected += [example for example in load_zh(data, source) if example.row in wanted]
    return selected


def sample(examples: Iterable[Example], n: int | None, seed: int) -> list[Example]:
    """A reproducible random sample of ``n`` examples (all of them when ``n`` is None)."""
    pool = list(examples)
    if n is None or n >= len(pool):
        return pool
    return random.Random(seed).sample(pool, n)
