"""JSON lines in, scores out: the engine behind ``uproar sentiment score``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TextIO

from sentiment.categorise import categories_for
from sentiment.score import Score, Scorer


def _result(record_id: Any, score: Score, category: str | None) -> dict[str, Any]:
    return {
        "id": record_id,
        "negative": round(score.negative, 4),
        "neutral": round(score.neutral, 4),
        "positive": round(score.positive, 4),
        "label": score.label,
        "category": category,  # negative texts only: what the complaint is about
        "model": score.model,
    }


def _parse(line: str, number: int) -> tuple[Any, str | None, str | None]:
    """(id, text, error) for one non-blank input line."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, None, f"line {number}: not valid JSON ({exc.msg} at column {exc.colno})"
    if not isinstance(record, dict):
        return None, None, f"line {number}: expected a JSON object, got {type(record).__name__}"
    record_id = record.get("id")
    text = record.get("text")
    if not isinstance(text, str):
        found = "no 'text' key" if "text" not in record else f"'text' is {type(text).__name__}"
        return record_id, None, f"line {number}: {found}; expected a string"
    return record_id, text, None


def score_jsonl(lines: Iterable[str], out: TextIO, model: Scorer, batch_size: int = 32) -> int:
    """Score ``{"id": ..., "text": ...}`` lines, writing one JSON line per input line, in order.

    Blank lines are skipped. A line that is not a JSON object with a string ``text`` becomes
    ``{"id": <id or null>, "line": N, "error": "..."}`` and the rest are still scored.
    Returns how many texts were scored (error lines not counted).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    pending: list[tuple[Any, str | None, dict[str, Any] | None]] = []
    scored = 0

    def flush() -> None:
        nonlocal scored
        texts = [text for _, text, _ in pending if text is not None]
        scored_texts = model.score(texts, batch_size=batch_size) if texts else []
        categories = categories_for(model, texts, scored_texts)
        results = iter(zip(scored_texts, categories, strict=True))
        for record_id, text, error in pending:
            output = error if text is None else _result(record_id, *next(results))
            out.write(json.dumps(output, ensure_ascii=False) + "\n")
        scored += len(texts)
        pending.clear()

    waiting = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        record_id, text, error = _parse(line, number)
        if error is not None:
            pending.append((record_id, None, {"id": record_id, "line": number, "error": error}))
        else:
            pending.append((record_id, text, None))
            waiting += 1
        if waiting >= batch_size:
            flush()
            waiting = 0
    flush()
    return scored
