"""``uproar sentiment retrain``: refit the heads on the frozen encoder with human corrections.

The encoder is never touched: the current (active or default) model's encoder embeds a sample
of the training data (cached on disk, see :mod:`sentiment.embedding_cache`) and the corrected
posts; each language's head is refitted by logistic regression with every correction counting
``correction_weight`` times, then calibrated and given a negativity threshold on its validation
set (:func:`sentiment.calibration.calibrate_head`, folded into the head's weights). Before and
after are measured on the same validation texts (:mod:`sentiment.evaluate`) and compared with a
paired bootstrap (:mod:`sentiment.paired`); the new version is activated only when no gating set
(TweetEval val for English, the Chinese validation split) got worse. SST-2 dev is reported.

The new model is a complete folder under the models directory that
:func:`sentiment.model.load_model` reads; before anything is registered the folder is loaded
the ordinary way and must score like the heads that were measured.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sentiment.anchored_head import refit_anchored
from sentiment.calibration import Method, calibrate_head
from sentiment.data import Example
from sentiment.embedding_cache import EmbeddingCache, encoder_identity, file_hashes
from sentiment.evaluate import decided_labels, evaluate
from sentiment.frozen import EmbeddingMemo, HeadsModel
from sentiment.head import NEVER, LinearHead, load_head, three_class
from sentiment.labels import Correction
from sentiment.paired import RESAMPLES, Comparison, compare, judge
from sentiment.retrain_data import GATES, RetrainData, Sizes, load_retrain_data

LABEL_INDEX = {"negative": 0, "neutral": 1, "positive": 2}
DEFAULT_C = 4.0
# How strongly an anchored refit is pulled back to the head it replaces (see
# sentiment.anchored_head): on the Chinese validation split 0.01-0.1 kept accuracy within
# 0.2 points of the committed head while letting corrections move it.
ANCHOR_STRENGTH = 0.01
SPEC_FILE = "model.json"
CARD_FILE = "MODEL_CARD.md"
CHECK_TEXTS = 24
CHECK_TOLERANCE = 0.02  # probability; int8 paths may differ a little with batch make-up

Say = Callable[[str], None]


class RetrainError(Exception):
    """A retrain that cannot run: the model cannot be refitted, or the result is inconsistent."""


@dataclass(frozen=True)
class RetrainOptions:
    """Where the data, the models and the embedding cache are, and how to refit."""

    data: Path
    models_dir: Path
    cache_dir: Path | None = None
    sizes: Sizes = field(default_factory=Sizes)
    correction_weight: float = 5.0
    max_drop: float = 0.01
    c: float | None = None
    resamples: int = RESAMPLES


@dataclass
class RetrainResult:
    """What a retrain did; :meth:`metrics` is what the registry stores."""

    version: str
    parent: str
    folder: Path | None
    accepted: bool
    reason: str
    comparisons: list[Comparison]
    before: dict[str, float]
    after: dict[str, float]
    corrections: dict[str, int]
    skipped: list[str]
    training: dict[str, Any]
    unchanged: bool = False
    activated: bool = False
    seconds: float = 0.0

    def metrics(self) -> dict[str, Any]:
        return {
            "before": self.before,
            "after": self.after,
            "comparisons": [c.to_json() for c in self.comparisons],
            "decision": {"accepted": self.accepted, "reason": self.reason},
            "corrections": self.corrections,
            "skipped_corrections": self.skipped,
            "training": self.training,
        }


@dataclass(frozen=True)
class RefitHead:
    head: LinearHead
    threshold: float
    record: dict[str, Any]


def _base_heads(base: Any, dim: int) -> tuple[dict[str, LinearHead], dict[str, float]]:
    """The heads and thresholds model.json names, read from the model's folder."""
    heads, thresholds = {}, {}
    for language, entry in base.spec.raw["heads"].items():
        heads[language] = load_head(base.spec.folder / entry["file"], classes=3, dim=dim)
        thresholds[language] = float(entry["negativity_threshold"])
    return heads, thresholds


def _anchors(base: Any, heads: dict[str, LinearHead], dim: int) -> dict[str, LinearHead]:
    """The head an anchored refit starts from: the one the fine-tune made (kept as
    ``anchor`` by the first retrain), so retraining a retrained model on the same data
    gives the same model instead of drifting a little further each time."""
    anchors = dict(heads)
    for language, entry in base.spec.raw["heads"].items():
        anchor = entry.get("anchor")
        if anchor:
            anchors[language] = load_head(base.spec.folder / anchor["file"], classes=3, dim=dim)
    return anchors


def _classes(head: LinearHead) -> tuple[int, ...]:
    """(0, 2) for a binary head (its neutral logit is pinned at NEVER), else (0, 1, 2)."""
    return (0, 2) if float(head.bias[1]) <= NEVER / 2 else (0, 1, 2)


def fit_head(x: np.ndarray, y: np.ndarray, weights: np.ndarray, c: float, seed: int) -> LinearHead:
    """Weighted, class-balanced logistic regression as a (3, dim) head."""
    from sklearn.linear_model import LogisticRegression

    classifier = LogisticRegression(C=c, class_weight="balanced", max_iter=3000, random_state=seed)
    classifier.fit(x, y, sample_weight=weights)
    return three_class(classifier.coef_, classifier.intercept_, classifier.classes_.tolist())


def refit(
    language: str,
    train: tuple[np.ndarray, np.ndarray],
    corrected: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray],
    classes: tuple[int, ...],
    weight: float,
    c: float,
    seed: int,
    base: LinearHead | None = None,
) -> RefitHead:
    """One head: fit on training + weighted corrections, calibrate and threshold on validation.

    When the training data is two-class (the Chinese reviews) but the head has three
    classes, the head is refitted from ``base`` with :func:`sentiment.anchored_head.
    refit_anchored`: the reviews move the negative/positive boundary, corrections (neutral
    ones too) use all three classes, and the neutral row stays what the fine-tune made it.
    """
    (x, y), (cx, cy), (vx, vy) = train, corrected, validation
    features = np.vstack([x, cx]) if len(cx) else x
    labels = np.concatenate([y, cy]).astype(np.int64)
    weights = np.concatenate([np.ones(len(y)), np.full(len(cy), weight)])
    trained = tuple(sorted(set(y.tolist())))
    if trained == (0, 2) and classes == (0, 1, 2) and base is not None:
        two_way = np.concatenate([np.ones(len(y), dtype=bool), np.zeros(len(cy), dtype=bool)])
        anchored = refit_anchored(
            base, features, labels, two_way, strength=ANCHOR_STRENGTH, weights=weights
        )
        return _calibrated(
            anchored,
            (vx, vy),
            seed,
            methods=("temperature",),
            record={
                "method": "anchored",
                "anchor_strength": ANCHOR_STRENGTH,
                "examples": len(y),
                "corrections": len(cy),
                "correction_weight": weight,
            },
        )
    found = tuple(sorted(set(labels.tolist())))
    if found == (0, 2) and classes == (0, 1, 2):
        # Binary data and no head to start from: negative-vs-positive only.
        classes = found
    if found != classes:
        raise RetrainError(
            f"the {language} training sample has classes {list(found)}, the head needs "
            f"{list(classes)}: use a larger sample"
        )
    raw = fit_head(features, labels, weights, c, seed)
    record = {"C": c, "examples": len(y), "corrections": len(cy), "correction_weight": weight}
    return _calibrated(raw, (vx, vy), seed, methods=None, record=record)


def _calibrated(
    raw: LinearHead,
    validation: tuple[np.ndarray, np.ndarray],
    seed: int,
    *,
    methods: tuple[Method, ...] | None,
    record: dict[str, Any],
) -> RefitHead:
    """Calibrate ``raw`` on validation, fold the calibration in, choose the threshold."""
    vx, vy = validation
    logits = vx.astype(np.float64) @ raw.weight.T + raw.bias
    if methods is None:
        calibrated = calibrate_head(logits, vy, seed=seed)
        if min(calibrated.calibration.scale) <= 0.0:
            # A negative per-class scale would turn the head around on validation data:
            # that is the validation set teaching the head, not calibrating it.
            calibrated = calibrate_head(logits, vy, methods=("temperature",), seed=seed)
    else:
        calibrated = calibrate_head(logits, vy, methods=methods, seed=seed)
    weight_matrix, bias = calibrated.calibration.fold_into_linear(raw.weight, raw.bias)
    return RefitHead(
        LinearHead(weight_matrix, bias),
        calibrated.threshold.threshold,
        {**record, **calibrated.to_json()},
    )


def _split_corrections(
    base: Any, corrections: Sequence[Correction], classes: dict[str, tuple[int, ...]]
) -> tuple[dict[str, list[tuple[str, int]]], list[str]]:
    """Corrections by the head that reads them; those a head cannot learn are skipped."""
    routed: dict[str, list[tuple[str, int]]] = {language: [] for language in classes}
    skipped: list[str] = []
    usable = [c for c in corrections if c.text and not c.text.isspace()]
    skipped += [f"post {c.post_id}: empty text" for c in corrections if c not in usable]
    for correction, language in zip(usable, base.languages([c.text for c in usable]), strict=True):
        label = LABEL_INDEX[correction.sentiment]
        if language not in classes or label not in classes[language]:
            skipped.append(
                f"post {correction.post_id}: the {language} head cannot learn "
                f"{correction.sentiment} (it is binary)"
            )
            continue
        routed[language].append((correction.text, label))
    return routed, skipped


def _fingerprint(heads: dict[str, str], thresholds: dict[str, float]) -> str:
    blob = json.dumps({"heads": heads, "thresholds": thresholds}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:10]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_model(
    base: Any, refits: dict[str, RefitHead], extra: dict[str, Any], models_dir: Path
) -> tuple[str, Path]:
    """Write a complete model folder (copying the base folder's other files) under
    ``models_dir``; returns (version, folder). An identical model is written only once."""
    raw = json.loads(json.dumps(base.spec.raw))
    models_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".retrain-", dir=models_dir))
    try:
        replaced = {SPEC_FILE, *(raw["heads"][language]["file"] for language in refits)}
        for item in base.spec.folder.iterdir():
            if item.is_file() and item.name not in replaced:
                shutil.copy2(item, staging / item.name)
        shas = {}
        for language, refit_head in refits.items():
            entry = raw["heads"][language]
            if refit_head.record.get("method") == "anchored" and not entry.get("anchor"):
                anchor = f"anchor_{entry['file']}"  # the fine-tuned head, kept (_anchors)
                shutil.copy2(base.spec.folder / entry["file"], staging / anchor)
                entry["anchor"] = {"file": anchor, "sha256": _sha256(staging / anchor)}
            refit_head.head.save(staging / entry["file"])
            shas[language] = _sha256(staging / entry["file"])
            entry.pop("calibration", None)  # ours is folded into the weights
            entry.update(
                sha256=shas[language],
                negativity_threshold=refit_head.threshold,
                retrain=refit_head.record,
            )
        thresholds = {language: r.threshold for language, r in refits.items()}
        root = str(base.version).split("+r")[0]
        version = f"{root}+r{_fingerprint(shas, thresholds)}"
        raw["version"] = version
        raw["retrain"] = {"parent": base.version, **extra}
        (staging / SPEC_FILE).write_text(json.dumps(raw, indent=1, ensure_ascii=False) + "\n")
        card = staging / CARD_FILE
        note = (
            f"\n\n## Retrained: {version}\n\nHeads refitted from {base.version} on the same "
            f"frozen encoder with human corrections; see `retrain` in {SPEC_FILE}.\n"
        )
        card.write_text((card.read_text(encoding="utf-8") if card.exists() else "") + note)
        folder = models_dir / version
        if folder.exists():
            shutil.rmtree(staging)
        else:
            staging.rename(folder)
        return version, folder
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def check_scores_alike(expected: Any, actual: Any, texts: Sequence[str], what: str) -> None:
    """Fail when ``actual`` (a loaded model) does not score ``texts`` like ``expected``."""
    if not texts:
        return
    want = np.asarray(expected.probabilities(list(texts)))
    got = np.asarray(actual.probabilities(list(texts)))
    gap = float(np.max(np.abs(want - got)))
    if gap > CHECK_TOLERANCE:
        raise RetrainError(
            f"{what} scores differently from the heads the retrain measured (largest "
            f"probability gap {gap:.3f}): the model format changed; retrain cannot be trusted"
        )


def _embed_sets(
    base: Any, data: RetrainData, options: RetrainOptions, say: Say | None
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], EmbeddingMemo]:
    """Embeddings of every training sample and validation set (cached), and a memo of them."""

    def embed(texts: list[str]) -> np.ndarray:
        return np.asarray(base.encoder.embed(texts))

    identity = encoder_identity(base)
    cache = EmbeddingCache(options.cache_dir, identity, embed, say)
    hashes = file_hashes(sorted(set(data.files.values())))
    memo = EmbeddingMemo(embed)
    embedded: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    named: list[tuple[str, list[Example]]] = [
        *((f"train-{language}", examples) for language, examples in data.train.items()),
        *((s.name, s.examples) for s in data.validation),
    ]
    for name, examples in named:
        vectors = cache.vectors(name, examples, hashes)
        embedded[name] = (vectors, np.array([e.label for e in examples], dtype=np.int64))
        if not name.startswith("train-"):
            memo.remember([e.text for e in examples], vectors)
    if say is not None:
        say(f"embeddings: {cache.hits} sets from the cache, {cache.misses} computed")
    return embedded, memo


def retrain(
    base: Any,
    corrections: Sequence[Correction],
    options: RetrainOptions,
    load: Callable[[str], Any],
    say: Say | None = None,
) -> RetrainResult:
    """Refit ``base``'s heads, measure before and after, write the new model folder.

    ``load(folder)`` loads a model folder the ordinary way (for the consistency check).
    Nothing is registered or activated here: see :func:`sentiment.retrain_run.run_retrain`.
    """
    started = time.monotonic()
    if not hasattr(base, "encoder") or not hasattr(base, "spec"):
        raise RetrainError(
            f"{base.version} is not one of uproar's own models (encoder + heads): only those "
            "can be retrained; a Hugging Face model (model = 'hf') cannot"
        )
    data = load_retrain_data(options.data, base.spec.raw, options.sizes)
    embedded, memo = _embed_sets(base, data, options, say)
    dim = embedded["tweeteval_val"][0].shape[1]
    base_heads, base_thresholds = _base_heads(base, dim)
    anchors = _anchors(base, base_heads, dim)
    classes = {language: _classes(head) for language, head in base_heads.items()}
    routed, skipped = _split_corrections(base, corrections, classes)
    gate_of = {language: name for name, language in GATES.items()}
    refits: dict[str, RefitHead] = {}
    for language in base_heads:
        texts = [text for text, _ in routed[language]]
        cx = memo(texts) if texts else np.zeros((0, dim), dtype=np.float32)
        cy = np.array([label for _, label in routed[language]], dtype=np.int64)
        entry = base.spec.raw["heads"][language]
        c = options.c or float(entry.get("C", DEFAULT_C))
        if say is not None:
            say(f"fitting the {language} head: C={c}, {len(cy)} corrections")
        refits[language] = refit(
            language,
            embedded[f"train-{language}"],
            (cx, cy),
            embedded[gate_of[language]],
            classes[language],
            options.correction_weight,
            c,
            options.sizes.seed,
            base=anchors[language],
        )
    before = HeadsModel(base.version, base, base_heads, base_thresholds, memo)
    candidate = HeadsModel(
        "candidate",
        base,
        {language: r.head for language, r in refits.items()},
        {language: r.threshold for language, r in refits.items()},
        memo,
    )
    sets = {s.name: s for s in data.validation}
    comparisons = []
    for name in GATES:
        texts = [e.text for e in sets[name].examples]
        gold = embedded[name][1]
        labels_before = decided_labels(before, texts, before.probabilities(texts))
        labels_after = decided_labels(candidate, texts, candidate.probabilities(texts))
        comparisons.append(
            compare(name, gold, labels_before, labels_after, options.max_drop, options.resamples)
        )
    accepted, reason = judge(comparisons)
    used = {language: len(items) for language, items in routed.items()}
    training = {
        "en_train": len(data.train["en"]),
        "zh_train": len(data.train["zh"]),
        "validation": {s.name: len(s.examples) for s in data.validation},
        "seed": options.sizes.seed,
        "max_drop": options.max_drop,
    }
    version, folder = write_model(
        base, refits, {"corrections": used, **training}, options.models_dir
    )
    candidate.version = version
    # A few short texts of every set: enough to catch a format the loader reads differently.
    check_texts = [
        text
        for s in data.validation
        for text in sorted({e.text for e in s.examples}, key=len)[: CHECK_TEXTS // 3]
    ]
    check_scores_alike(before, base, check_texts, f"the current model {base.version}")
    check_scores_alike(candidate, load(str(folder)), check_texts, f"the new model in {folder}")
    return RetrainResult(
        version=version,
        parent=base.version,
        folder=folder,
        accepted=accepted,
        reason=reason,
        comparisons=comparisons,
        before=evaluate(before, data.validation),
        after=evaluate(candidate, data.validation),
        corrections=used,
        skipped=skipped,
        training=training,
        unchanged=version == base.version,
        seconds=round(time.monotonic() - started, 1),
    )
