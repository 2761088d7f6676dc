"""Writing measure results and row exports as CSV, JSON lines or Parquet, chunk by
chunk: each DataFrame is written and dropped before the next is read, so exporting a
million rows holds one chunk in memory (Parquet: one row group per chunk)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import IO, Literal

import numpy as np
import pandas as pd

ExportFormat = Literal["csv", "json", "parquet"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("csv", "json", "parquet")


def _json_value(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Rows as plain dicts, missing values as None (JSON null). Python's json writes each
    float's shortest exact form, so numbers read back equal (pandas' to_json rounds)."""
    plain = frame.astype(object).where(frame.notna(), None)
    return plain.to_dict(orient="records")


def _write_text(frames: Iterable[pd.DataFrame], out: IO[str], fmt: ExportFormat) -> int:
    written = 0
    for index, frame in enumerate(frames):
        if fmt == "csv":
            frame.to_csv(out, index=False, header=index == 0, date_format="%Y-%m-%dT%H:%M:%S.%fZ")
        else:
            for record in _records(frame):
                out.write(json.dumps(record, ensure_ascii=False, default=_json_value) + "\n")
        written += len(frame)
    return written


def _write_parquet(frames: Iterable[pd.DataFrame], path: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer: pq.ParquetWriter | None = None
    schema: pa.Schema | None = None
    written = 0
    try:
        for frame in frames:
            if schema is None:
                inferred = pa.Schema.from_pandas(frame, preserve_index=False)
                # A column that is all nulls in the first chunk has no type yet: text.
                schema = pa.schema(
                    [
                        field.with_type(pa.string()) if pa.types.is_null(field.type) else field
                        for field in inferred
                    ]
                )
                writer = pq.ParquetWriter(path, schema)
            table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
            assert writer is not None
            writer.write_table(table)
            written += len(frame)
    finally:
        if writer is not None:
            writer.close()
    return written


def write_frames(frames: Iterable[pd.DataFrame], fmt: ExportFormat, out: Path | IO[str]) -> int:
    """Write ``frames`` (one header, one schema) to ``out``; returns rows written.

    ``csv``: one header line, timestamps ISO 8601 UTC. ``json``: JSON lines, one object per
    row, floats exact. ``parquet``: needs a file path; one row group per frame.
    """
    if fmt == "parquet":
        if not isinstance(out, Path):
            raise ValueError("parquet is binary: give a file path (--out FILE)")
        return _write_parquet(frames, out)
    if isinstance(out, Path):
        with out.open("w", encoding="utf-8", newline="") as handle:
            return _write_text(frames, handle, fmt)
    return _write_text(frames, out, fmt)
