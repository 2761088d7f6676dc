"""How well a complaint-category classifier does on a labelled set: per-class P/R/F1 + confusion.

The set is JSON lines ``{"text", "language", "category"}`` (see
``tests/data/categories_eval.jsonl``). ``classify`` is any function of (texts, languages) that
returns category ids or :class:`~sentiment.category.CategoryResult` objects, so keyword-only,
prototype and trained classifiers are compared on the same footing. :func:`tune_settings`
chooses the classifier's weights on a dev set (never on the evaluation set).
"""

from __future__ import annotations

import itertools
import json
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from sentiment.category import (
    CATEGORY_IDS,
    CategoryClassifier,
    CategoryResult,
    CategorySettings,
    Embed,
    Evidence,
    decide,
)
from sentiment.category_keywords import keyword_scores

Classify = Callable[[Sequence[str], Sequence[str]], Sequence["str | CategoryResult"]]

# Two-letter column heads for the confusion table, in CATEGORY_IDS order.
SHORT = {
    "logistics": "LO",
    "product_quality": "PQ",
    "after_sales": "AS",
    "service_attitude": "SA",
    "communication": "CO",
    "promises_not_kept": "PN",
    "privacy": "PV",
    "pricing": "PR",
    "other": "OT",
}


@dataclass(frozen=True)
class Example:
    """One labelled post; ``part`` names the batch it was written in (reported separately)."""

    text: str
    language: str
    category: str
    part: str = ""


def load_examples(path: Path) -> list[Example]:
    """Read a labelled JSON lines file; a bad line is an error naming the file and line."""
    examples: list[Example] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                example = Example(
                    str(record["text"]),
                    str(record["language"]),
                    str(record["category"]),
                    str(record.get("part", "")),
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(
                    f"{path} line {number}: expected a JSON object with text, language and "
                    f"category ({exc})"
                ) from exc
            if example.category not in CATEGORY_IDS:
                raise ValueError(
                    f"{path} line {number}: unknown category {example.category!r}; "
                    f"expected one of {list(CATEGORY_IDS)}"
                )
            examples.append(example)
    return examples


@dataclass(frozen=True)
class ClassScores:
    """Precision, recall and F1 of one category; support = how many gold examples it has."""

    precision: float
    recall: float
    f1: float
    support: int
    predicted: int


@dataclass(frozen=True)
class CategoryReport:
    """Per-class scores, macro-F1, accuracy, the confusion table and per-language summaries."""

    per_class: dict[str, ClassScores]
    macro_f1: float
    accuracy: float
    total: int
    confusion: dict[str, dict[str, int]]  # gold -> predicted -> count
    by_language: dict[str, CategoryReport] = field(default_factory=dict)
    by_part: dict[str, CategoryReport] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "macro_f1": round(self.macro_f1, 4),
            "accuracy": round(self.accuracy, 4),
            "total": self.total,
            "per_class": {
                name: {
                    "precision": round(s.precision, 4),
                    "recall": round(s.recall, 4),
                    "f1": round(s.f1, 4),
                    "support": s.support,
                }
                for name, s in self.per_class.items()
            },
            "confusion": self.confusion,
            "by_language": {lang: part.to_dict() for lang, part in self.by_language.items()},
            "by_part": {name: part.to_dict() for name, part in self.by_part.items()},
        }

    def format(self) -> str:
        """The per-class table, the confusion table (rows gold, columns predicted), summaries."""
        lines = [f"{'category':<18} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8}"]
        for name, s in self.per_class.items():
            lines.append(
                f"{name:<18} {s.precision:>9.3f} {s.recall:>7.3f} {s.f1:>6.3f} {s.support:>8}"
            )
        lines.append(f"{'macro-F1':<18} {'':>9} {'':>7} {self.macro_f1:>6.3f} {self.total:>8}")
        lines.append(f"accuracy {self.accuracy:.3f}")
        lines.append("")
        lines.append("confusion (rows: gold, columns: predicted)")
        lines.append(" " * 18 + " ".join(f"{SHORT.get(c, c[:2]):>3}" for c in self.confusion))
        for gold, row in self.confusion.items():
            cells = " ".join(f"{row[p] if row[p] else '.':>3}" for p in self.confusion)
            lines.append(f"{gold:<18}{cells}")
        groups = [(f"language {k}", v) for k, v in self.by_language.items()]
        groups += [(f"part {k}", v) for k, v in self.by_part.items()]
        for name, part in groups:
            lines.append(
                f"{name}: n={part.total} accuracy={part.accuracy:.3f} macro-F1={part.macro_f1:.3f}"
            )
        return "\n".join(lines)


def report_for(gold: Sequence[str], predicted: Sequence[str]) -> CategoryReport:
    """Scores of ``predicted`` against ``gold``; classes absent from both are left out."""
    classes = [c for c in CATEGORY_IDS if c in gold or c in predicted]
    classes += sorted({*gold, *predicted} - set(classes))
    confusion = {g: dict.fromkeys(classes, 0) for g in classes}
    for g, p in zip(gold, predicted, strict=True):
        confusion[g][p] += 1
    per_class: dict[str, ClassScores] = {}
    for c in classes:
        true_positive = confusion[c][c]
        support = sum(confusion[c].values())
        predicted_c = sum(confusion[g][c] for g in classes)
        precision = true_positive / predicted_c if predicted_c else 0.0
        recall = true_positive / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[c] = ClassScores(precision, recall, f1, support, predicted_c)
    scored = [s.f1 for s in per_class.values() if s.support]
    correct = sum(confusion[c][c] for c in classes)
    return CategoryReport(
        per_class=per_class,
        macro_f1=sum(scored) / len(scored) if scored else 0.0,
        accuracy=correct / len(gold) if gold else 0.0,
        total=len(gold),
        confusion=confusion,
    )


def evaluate_categories(examples: Sequence[Example], classify: Classify) -> CategoryReport:
    """Classify every example once and score the result, overall and per language."""
    results = classify([e.text for e in examples], [e.language for e in examples])
    predicted = [str(getattr(r, "category", r)) for r in results]
    if len(predicted) != len(examples):
        raise ValueError(f"classify returned {len(predicted)} results for {len(examples)} texts")
    gold = [e.category for e in examples]
    overall = report_for(gold, predicted)

    def subsets(key: Callable[[Example], str]) -> dict[str, CategoryReport]:
        reports = {}
        for value in sorted({key(e) for e in examples}):
            rows = [i for i, e in enumerate(examples) if key(e) == value]
            reports[value] = report_for([gold[i] for i in rows], [predicted[i] for i in rows])
        return reports

    parts = subsets(lambda e: e.part)
    return replace(
        overall,
        by_language=subsets(lambda e: e.language),
        by_part=parts if len(parts) > 1 else {},
    )


def drop_keywords(evidence: Evidence, rate: float, seed: int) -> Evidence:
    """The same evidence with a share ``rate`` of keyword hits removed, chosen by hashing.

    Simulates posts worded in ways the rules don't list, on a dev set whose wording the rules
    were written against; deterministic for a given seed.
    """
    hits = [
        [
            hit
            for hit in row
            if (zlib.crc32(f"{seed}|{text}|{hit.matched}".encode()) % 1000) / 1000 >= rate
        ]
        for text, row in zip(evidence.texts, evidence.hits, strict=True)
    ]
    keywords = np.array(
        [list(keyword_scores(row, dict.fromkeys(CATEGORY_IDS)).values()) for row in hits],
        dtype=np.float64,
    ).reshape(evidence.keywords.shape)
    return replace(evidence, hits=hits, keywords=keywords)


TUNING_GRID: dict[str, tuple[float, ...]] = {
    "keyword_weight": (1.0, 1.5, 2.0),
    "prototype_weight": (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0),
    "other_bias": (0.0, 0.5, 1.0),
    "min_confidence": (0.2, 0.3, 0.4),
    "top_k": (1, 3, 0),
}


def tune_settings(
    examples: Sequence[Example],
    classifier: CategoryClassifier,
    embed: Embed,
    grid: dict[str, tuple[float, ...]] | None = None,
    keyword_dropout: float = 0.5,
    seeds: int = 4,
) -> list[tuple[float, CategorySettings]]:
    """Every combination of ``grid`` with its mean macro-F1 on ``examples``, best first."""
    grid = grid or TUNING_GRID
    texts = [e.text for e in examples]
    languages = [e.language for e in examples]
    gold = [e.category for e in examples]
    vectors = embed(texts)
    names = [name for name in grid if name != "top_k"]
    scored: list[tuple[float, CategorySettings]] = []
    for top_k in grid.get("top_k", (classifier.settings.top_k,)):
        evidence = classifier.evidence(texts, languages, embed, vectors, int(top_k))
        variants = [evidence]
        if keyword_dropout > 0:
            variants = [drop_keywords(evidence, keyword_dropout, seed) for seed in range(seeds)]
        for values in itertools.product(*(grid[name] for name in names)):
            settings = CategorySettings(**dict(zip(names, values, strict=True)), top_k=int(top_k))
            f1 = [
                report_for(gold, [r.category for r in decide(variant, settings)]).macro_f1
                for variant in variants
            ]
            scored.append((float(np.mean(f1)), settings))
    scored.sort(key=lambda pair: -pair[0])
    return scored
