"""Probabilities that mean what they say: calibration, its measurement, the negativity threshold.

Pure numpy, no I/O: every function takes arrays and returns values or plain dataclasses whose
``to_json()`` is ready for model.json. The order the trainer follows on each head's validation
set is: :func:`fit_calibration` on the raw logits, apply it, then :func:`choose_threshold` on the
calibrated probabilities (:func:`calibrate_head` does all three and measures before and after).

Calibration maps logits ``z`` (or log-probabilities: softmax is shift-invariant, so
``log p`` works as well as the logits it came from) to ``softmax(z * scale + bias)``:

* **temperature**: one scalar ``T`` for the head, ``scale = 1/T``, ``bias = 0``. It never
  changes which class is largest, only how sure the model claims to be.
* **vector**: a scale and a bias per class, a little L2 pull towards the temperature fit so
  that a class absent from the validation labels cannot run off. On a binary head (whose
  negative logit is 0) this is exactly Platt scaling of the positive logit.

:func:`fit_calibration` keeps vector scaling only when 5-fold cross-validation on the
validation set says it lowers the negative log-likelihood by more than ``VECTOR_MARGIN``;
otherwise the simpler temperature wins.

Measuring it (ECE, reliability tables) is :mod:`sentiment.reliability`; the threshold rule is
:mod:`sentiment.threshold`. Both are re-exported here, so ``sentiment.calibration`` is the one
import the trainer and the evaluation need.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from sentiment.reliability import (
    BINS,
    NEGATIVE,
    Reliability,
    ReliabilityBin,
    expected_calibration_error,
    json_ready,
    max_reliability,
    negative_reliability,
    reliability,
)
from sentiment.threshold import (
    DEFAULT_MIN_PRECISION,
    DEFAULT_OBJECTIVE,
    THRESHOLD_GRID,
    Objective,
    ThresholdChoice,
    ThresholdPoint,
    choose_threshold,
    negative_predictions,
    threshold_point,
)

__all__ = [
    "BINS",
    "DEFAULT_MIN_PRECISION",
    "DEFAULT_OBJECTIVE",
    "NEGATIVE",
    "THRESHOLD_GRID",
    "Calibration",
    "HeadCalibration",
    "Method",
    "Objective",
    "Reliability",
    "ReliabilityBin",
    "ThresholdChoice",
    "ThresholdPoint",
    "calibrate_head",
    "choose_threshold",
    "cross_validated_nll",
    "expected_calibration_error",
    "fit_calibration",
    "fit_temperature",
    "fit_vector",
    "logits_from_probabilities",
    "max_reliability",
    "negative_log_likelihood",
    "negative_predictions",
    "negative_reliability",
    "reliability",
    "softmax",
    "threshold_point",
]

TEMPERATURE_RANGE = (0.05, 20.0)
VECTOR_MARGIN = 0.002  # nats per example that vector scaling must win by in cross-validation
VECTOR_L2 = 1e-4
PROBABILITY_FLOOR = 1e-12

Method = Literal["none", "temperature", "vector"]


# --------------------------------------------------------------------------- basics


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def logits_from_probabilities(probabilities: np.ndarray) -> np.ndarray:
    """``log p`` (floored), which calibrates exactly like the logits ``p`` came from."""
    p = np.asarray(probabilities, dtype=np.float64)
    return np.asarray(np.log(np.clip(p, PROBABILITY_FLOOR, 1.0)))


def negative_log_likelihood(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean ``-log p(gold)``: what calibration minimises."""
    labels = np.asarray(labels, dtype=np.int64)
    p = np.asarray(probabilities, dtype=np.float64)[np.arange(len(labels)), labels]
    return float(-np.mean(np.log(np.clip(p, PROBABILITY_FLOOR, 1.0))))


def _check(logits: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    if z.ndim != 2 or y.ndim != 1 or len(z) != len(y):
        raise ValueError(f"expected (n, k) logits and n labels, got {z.shape} and {y.shape}")
    if len(y) == 0:
        raise ValueError("calibration needs at least one labelled example")
    if y.min() < 0 or y.max() >= z.shape[1]:
        raise ValueError(f"labels must be in 0..{z.shape[1] - 1}, got {y.min()}..{y.max()}")
    return z, y


# --------------------------------------------------------------------------- calibrators


@dataclass(frozen=True)
class Calibration:
    """``softmax(z * scale + bias)``; ``temperature`` is 1/scale for the temperature method."""

    method: Method
    temperature: float
    scale: tuple[float, ...]
    bias: tuple[float, ...]
    nll_before: float | None = None
    nll_after: float | None = None
    cv_nll: dict[str, float] = field(default_factory=dict)
    n: int = 0

    @staticmethod
    def identity(classes: int = 3) -> Calibration:
        return Calibration("none", 1.0, (1.0,) * classes, (0.0,) * classes)

    def apply(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated probabilities from logits (or from ``logits_from_probabilities(p)``)."""
        z = np.asarray(logits, dtype=np.float64)
        if z.ndim != 2 or z.shape[1] != len(self.scale):
            raise ValueError(f"calibration for {len(self.scale)} classes got logits {z.shape}")
        return softmax(z * np.array(self.scale) + np.array(self.bias))

    def apply_to_probabilities(self, probabilities: np.ndarray) -> np.ndarray:
        return self.apply(logits_from_probabilities(probabilities))

    def fold_into_linear(
        self, weight: np.ndarray, bias: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """A linear head ``(weight, bias)`` whose plain softmax equals this calibration of the
        original head's: ``(x W^T + b) * s + c == x (s W)^T + (s b + c)``. Scoring then needs
        no calibration step at all."""
        scale, shift = np.array(self.scale), np.array(self.bias)
        w, b = np.asarray(weight, dtype=np.float64), np.asarray(bias, dtype=np.float64)
        if w.shape[0] != len(scale) or b.shape != scale.shape:
            raise ValueError(f"calibration for {len(scale)} classes, head {w.shape} / {b.shape}")
        return w * scale[:, None], b * scale + shift

    def to_json(self) -> dict[str, Any]:
        return json_ready(asdict(self))

    @staticmethod
    def from_json(raw: dict[str, Any]) -> Calibration:
        """Read what :meth:`to_json` wrote (model.json); raises ValueError on a bad entry."""
        method = raw.get("method")
        if method not in ("none", "temperature", "vector"):
            raise ValueError(f"calibration method {method!r} is not none, temperature or vector")
        scale = tuple(float(v) for v in raw["scale"])
        bias = tuple(float(v) for v in raw["bias"])
        if len(scale) != len(bias) or not scale:
            raise ValueError(f"calibration scale {scale} and bias {bias} differ in length")
        if not all(np.isfinite(scale + bias)):
            raise ValueError("calibration scale and bias must be finite numbers")
        return Calibration(
            method=method,
            temperature=float(raw.get("temperature", 1.0)),
            scale=scale,
            bias=bias,
            nll_before=raw.get("nll_before"),
            nll_after=raw.get("nll_after"),
            cv_nll={str(k): float(v) for k, v in raw.get("cv_nll", {}).items()},
            n=int(raw.get("n", 0)),
        )


def _nll_at_scale(z: np.ndarray, y: np.ndarray, s: float) -> float:
    scaled = z * s
    top = scaled.max(axis=1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(scaled - top).sum(axis=1))
    return float(np.mean(lse - scaled[np.arange(len(y)), y]))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature ``T`` in TEMPERATURE_RANGE minimising the NLL of ``softmax(z / T)``.

    The NLL is convex in ``1/T``, hence unimodal in ``log T``: a golden-section search is exact
    to the tolerance and needs no gradients.
    """
    z, y = _check(logits, labels)
    lo, hi = np.log(TEMPERATURE_RANGE[0]), np.log(TEMPERATURE_RANGE[1])
    ratio = (np.sqrt(5.0) - 1.0) / 2.0

    def loss(log_t: float) -> float:
        return _nll_at_scale(z, y, float(np.exp(-log_t)))

    a, b = lo, hi
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = loss(c), loss(d)
    while b - a > 1e-5:
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = loss(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = loss(d)
    return float(np.exp((a + b) / 2.0))


def fit_vector(
    logits: np.ndarray, labels: np.ndarray, l2: float = VECTOR_L2, steps: int = 100
) -> tuple[np.ndarray, np.ndarray]:
    """Per-class ``scale`` and ``bias`` minimising NLL + ``l2`` * distance from the temperature fit.

    Damped Newton steps (the objective is convex in scale and bias, with at most a few dozen
    parameters). A class absent from ``labels`` cannot be calibrated from them: it keeps the
    temperature's scale and a zero bias.
    """
    z, y = _check(logits, labels)
    # A class a binary head never predicts sits at -1e4; 50 below the top is just as never.
    z = np.maximum(z, z.max(axis=1, keepdims=True) - 50.0)
    n, k = z.shape
    start = 1.0 / fit_temperature(z, y)
    zs = z * start
    onehot = np.eye(k)[y]
    present = np.isin(np.arange(k), y)
    free = np.concatenate([present, present])  # parameters: k scales, then k biases
    theta0 = np.concatenate([np.ones(k), np.zeros(k)])

    def loss(theta: np.ndarray) -> float:
        scaled = zs * theta[:k] + theta[k:]
        top = scaled.max(axis=1, keepdims=True)
        lse = top[:, 0] + np.log(np.exp(scaled - top).sum(axis=1))
        nll = float(np.mean(lse - scaled[np.arange(n), y]))
        return nll + l2 * float(np.sum((theta - theta0) ** 2))

    def newton_step(theta: np.ndarray) -> np.ndarray:
        p = softmax(zs * theta[:k] + theta[k:])
        features = np.stack([zs, np.ones_like(zs)], axis=2)  # (n, k, 2)
        grad = np.einsum("ij,iju->uj", p - onehot, features).reshape(-1) / n
        curvature = np.einsum("ij,jl->ijl", p, np.eye(k)) - np.einsum("ij,il->ijl", p, p)
        hess = np.einsum("ijl,iju,ilv->ujvl", curvature, features, features, optimize=True).reshape(
            2 * k, 2 * k
        )
        grad = grad + 2 * l2 * (theta - theta0)
        hess = hess / n + 2 * l2 * np.eye(2 * k)
        step = np.zeros(2 * k)
        step[free] = np.linalg.solve(hess[np.ix_(free, free)], grad[free])
        return step

    theta = theta0.copy()
    value = loss(theta)
    for _ in range(steps):
        direction = newton_step(theta)
        alpha = 1.0
        while alpha > 1e-8:
            candidate = theta - alpha * direction
            new_value = loss(candidate)
            if new_value <= value:
                break
            alpha /= 2
        else:
            break
        theta, improvement, value = candidate, value - new_value, new_value
        if improvement < 1e-12:
            break
    return theta[:k] * start, theta[k:]


def _fit(method: Method, z: np.ndarray, y: np.ndarray) -> Calibration:
    k = z.shape[1]
    if method == "none":
        return Calibration.identity(k)
    if method == "temperature":
        t = fit_temperature(z, y)
        return Calibration("temperature", t, (1.0 / t,) * k, (0.0,) * k)
    scale, bias = fit_vector(z, y)
    return Calibration(
        "vector",
        float(1.0 / np.mean(scale)),
        tuple(float(v) for v in scale),
        tuple(float(v) for v in bias),
    )


def _folds(n: int, folds: int, seed: int) -> list[np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    return [order[i::folds] for i in range(folds)]


def cross_validated_nll(
    method: Method, logits: np.ndarray, labels: np.ndarray, folds: int = 5, seed: int = 0
) -> float:
    """Mean held-out NLL of ``method`` fitted on the other folds."""
    z, y = _check(logits, labels)
    losses = []
    for held in _folds(len(y), min(folds, len(y)), seed):
        if held.size == 0:
            continue
        train = np.setdiff1d(np.arange(len(y)), held)
        fitted = _fit(method, z[train], y[train]) if train.size else Calibration.identity()
        losses.append(negative_log_likelihood(fitted.apply(z[held]), y[held]) * held.size)
    return float(np.sum(losses) / len(y))


def fit_calibration(
    logits: np.ndarray,
    labels: np.ndarray,
    methods: Sequence[Method] = ("temperature", "vector"),
    folds: int = 5,
    seed: int = 0,
) -> Calibration:
    """Fit each method, keep the one with the lowest cross-validated NLL, refit it on all data.

    A later method in ``methods`` must beat the best earlier one by VECTOR_MARGIN nats, so
    the simplest adequate calibration wins. With fewer than 2 * ``folds`` examples only the
    first method is fitted.
    """
    z, y = _check(logits, labels)
    if not methods:
        raise ValueError("fit_calibration needs at least one method")
    cv: dict[str, float] = {}
    best: Method = methods[0]
    if len(y) >= 2 * folds and len(methods) > 1:
        for method in methods:
            cv[method] = cross_validated_nll(method, z, y, folds, seed)
        for method in methods[1:]:
            if cv[method] < cv[best] - VECTOR_MARGIN:
                best = method
    fitted = _fit(best, z, y)
    return Calibration(
        method=fitted.method,
        temperature=fitted.temperature,
        scale=fitted.scale,
        bias=fitted.bias,
        nll_before=negative_log_likelihood(softmax(z), y),
        nll_after=negative_log_likelihood(fitted.apply(z), y),
        cv_nll=cv,
        n=len(y),
    )


# --------------------------------------------------------------------------- one head


@dataclass(frozen=True)
class HeadCalibration:
    """Everything calibration decides and measures for one head, ready for model.json."""

    calibration: Calibration
    threshold: ThresholdChoice
    before: dict[str, Reliability]
    after: dict[str, Reliability]

    @property
    def ece(self) -> dict[str, float]:
        return {
            f"{when}_{kind}": rel.ece
            for when, table in (("before", self.before), ("after", self.after))
            for kind, rel in table.items()
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "calibration": self.calibration.to_json(),
            "threshold": self.threshold.to_json(),
            "ece": json_ready(self.ece),
            "reliability": {kind: rel.to_json() for kind, rel in self.after.items()},
        }


def calibrate_head(
    logits: np.ndarray,
    labels: np.ndarray,
    objective: Objective = DEFAULT_OBJECTIVE,
    min_precision: float = DEFAULT_MIN_PRECISION,
    methods: Sequence[Method] = ("temperature", "vector"),
    seed: int = 0,
) -> HeadCalibration:
    """Fit the calibration on validation, then choose the threshold on calibrated probabilities.

    ``logits`` may be the head's logits or ``logits_from_probabilities(p)``. The ECEs are
    in-sample (the calibration was fitted on the same examples): report held-out ECE from an
    evaluation set as well.
    """
    z, y = _check(logits, labels)
    calibration = fit_calibration(z, y, methods, seed=seed)
    raw, calibrated = softmax(z), calibration.apply(z)
    return HeadCalibration(
        calibration=calibration,
        threshold=choose_threshold(calibrated, y, objective, min_precision),
        before={"max": max_reliability(raw, y), "negative": negative_reliability(raw, y)},
        after={
            "max": max_reliability(calibrated, y),
            "negative": negative_reliability(calibrated, y),
        },
    )
