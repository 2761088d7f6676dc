"""Calibration, ECE, reliability tables and the threshold rule, on synthetic data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sentiment.calibration import (
    Calibration,
    calibrate_head,
    choose_threshold,
    expected_calibration_error,
    fit_calibration,
    fit_temperature,
    fit_vector,
    logits_from_probabilities,
    max_reliability,
    negative_log_likelihood,
    negative_predictions,
    negative_reliability,
    reliability,
    softmax,
)
from sentiment.head import NEVER, decide_labels
from sentiment.reliability import bin_index


def sample_labels(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """Gold labels drawn from ``probabilities``: those probabilities are then exactly calibrated."""
    cumulative = probabilities.cumsum(axis=1)
    draws = rng.random((len(probabilities), 1))
    return np.minimum((draws > cumulative).sum(axis=1), probabilities.shape[1] - 1)


def synthetic(n: int, seed: int, spread: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """True logits and labels drawn from their softmax."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, spread, size=(n, 3))
    return logits, sample_labels(rng, softmax(logits))


# ------------------------------------------------------------------ ECE and reliability


def test_perfectly_calibrated_set_has_ece_near_zero() -> None:
    logits, labels = synthetic(60_000, seed=1)
    probabilities = softmax(logits)
    assert expected_calibration_error(probabilities, labels, "max") < 0.01
    assert expected_calibration_error(probabilities, labels, "negative") < 0.01


def test_overconfident_set_has_large_ece() -> None:
    logits, labels = synthetic(20_000, seed=2)
    overconfident = softmax(3.0 * logits)
    assert expected_calibration_error(overconfident, labels, "max") > 0.08
    assert expected_calibration_error(overconfident, labels, "negative") > 0.03


def test_bin_edges_are_right_closed_with_zero_in_the_first_bin() -> None:
    confidence = np.array([0.0, 1 / 15, 1 / 15 + 1e-9, 0.5, 14 / 15, 1.0])
    assert bin_index(confidence).tolist() == [0, 0, 1, 7, 13, 14]


def test_reliability_table_by_hand() -> None:
    # Two in bin (0.6, 0.667]: conf 0.62, 0.66, one right; two in the top bin, both right.
    confidence = np.array([0.62, 0.66, 0.95, 1.0])
    outcome = np.array([1, 0, 1, 1])
    table = reliability(confidence, outcome, "max")
    filled = [b for b in table.bins if b.count]
    assert [(round(b.lower, 4), round(b.upper, 4), b.count) for b in filled] == [
        (0.6, 0.6667, 2),
        (0.9333, 1.0, 2),
    ]
    assert filled[0].mean_confidence == pytest.approx(0.64)
    assert filled[0].accuracy == pytest.approx(0.5)
    assert filled[1].mean_confidence == pytest.approx(0.975)
    assert filled[1].accuracy == 1.0
    assert table.ece == pytest.approx(0.5 * 0.14 + 0.5 * 0.025)
    assert len(table.bins) == 15 and table.n == 4
    empty = table.bins[0]
    assert empty.count == 0 and empty.mean_confidence is None and empty.accuracy is None


def test_max_and_negative_tables_measure_different_events() -> None:
    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.2, 0.7], [0.4, 0.5, 0.1]])
    labels = np.array([0, 0, 1])
    top = max_reliability(probabilities, labels)
    negative = negative_reliability(probabilities, labels)
    assert top.kind == "max" and negative.kind == "negative"
    # Top class: 0.7 wrong? no - right (neg), 0.7 wrong (pos vs neg), 0.5 right (neutral).
    assert sum(b.count for b in top.bins) == 3
    assert top.ece == pytest.approx((abs(0.5 - 0.7) * 2 + abs(1 - 0.5)) / 3)
    # Negative: p=0.7 is negative (1), p=0.1 is negative (1), p=0.4 is not (0).
    assert negative.ece == pytest.approx((abs(1 - 0.7) + abs(1 - 0.1) + abs(0 - 0.4)) / 3)


def test_reliability_rejects_mismatched_shapes_and_unknown_kind() -> None:
    with pytest.raises(ValueError, match="equal"):
        reliability(np.array([0.5, 0.5]), np.array([1]), "max")
    with pytest.raises(ValueError, match="'max' or 'negative'"):
        expected_calibration_error(np.eye(3), np.arange(3), "top")


# ------------------------------------------------------------------ temperature


def test_temperature_recovers_the_overconfidence_factor_and_fixes_ece() -> None:
    logits, labels = synthetic(20_000, seed=3)
    reported = 3.0 * logits
    temperature = fit_temperature(reported, labels)
    assert temperature == pytest.approx(3.0, rel=0.05)
    calibration = fit_calibration(reported, labels, methods=("temperature",))
    assert calibration.method == "temperature"
    fixed = calibration.apply(reported)
    assert expected_calibration_error(fixed, labels, "max") < 0.015
    assert calibration.nll_after is not None and calibration.nll_before is not None
    assert calibration.nll_after < calibration.nll_before


def test_temperature_fixes_underconfidence_too() -> None:
    logits, labels = synthetic(20_000, seed=4)
    assert fit_temperature(0.5 * logits, labels) == pytest.approx(0.5, rel=0.05)


def test_temperature_never_changes_the_top_class() -> None:
    logits, labels = synthetic(2_000, seed=5)
    calibration = fit_calibration(5 * logits, labels, methods=("temperature",))
    assert np.array_equal(calibration.apply(5 * logits).argmax(1), logits.argmax(1))


def test_temperature_from_probabilities_equals_from_logits() -> None:
    logits, labels = synthetic(5_000, seed=6)
    from_probabilities = fit_temperature(logits_from_probabilities(softmax(2 * logits)), labels)
    assert from_probabilities == pytest.approx(fit_temperature(2 * logits, labels), rel=1e-4)
    probabilities = softmax(logits)
    assert np.allclose(softmax(logits_from_probabilities(probabilities)), probabilities)


def test_separable_data_stops_at_the_temperature_bound() -> None:
    logits = np.array([[5.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 5.0]] * 10)
    labels = np.array([0, 1, 2] * 10)
    assert fit_temperature(logits, labels) == pytest.approx(0.05, rel=1e-3)


def test_calibration_input_is_checked() -> None:
    with pytest.raises(ValueError, match=r"labels must be in 0\.\.2"):
        fit_temperature(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="expected"):
        fit_temperature(np.zeros((2, 3)), np.array([0]))
    with pytest.raises(ValueError, match="at least one"):
        fit_temperature(np.zeros((0, 3)), np.array([], dtype=int))


# ------------------------------------------------------------------ vector / Platt


def test_vector_scaling_fixes_a_class_bias_temperature_cannot() -> None:
    logits, labels = synthetic(10_000, seed=7)
    biased = logits + np.array([0.0, 1.5, 0.0])  # the model over-predicts neutral
    calibration = fit_calibration(biased, labels)
    assert calibration.method == "vector"
    assert calibration.cv_nll["vector"] < calibration.cv_nll["temperature"]
    assert calibration.bias[1] - calibration.bias[0] == pytest.approx(-1.5, abs=0.15)
    assert expected_calibration_error(calibration.apply(biased), labels, "negative") < 0.015


def test_temperature_is_kept_when_vector_scaling_does_not_help() -> None:
    logits, labels = synthetic(8_000, seed=8)
    calibration = fit_calibration(2.0 * logits, labels)
    assert calibration.method == "temperature"
    assert set(calibration.cv_nll) == {"temperature", "vector"}


def test_platt_on_a_binary_head_keeps_neutral_impossible() -> None:
    rng = np.random.default_rng(9)
    positive_logit = rng.normal(0.0, 3.0, size=8_000)
    truth = 1 / (1 + np.exp(-(0.5 * positive_logit - 1.0)))  # the head is off in scale and bias
    labels = np.where(rng.random(8_000) < truth, 2, 0)
    logits = np.stack([np.zeros_like(positive_logit), np.full(8_000, NEVER), positive_logit], 1)
    calibration = fit_calibration(logits, labels)
    assert calibration.method == "vector"
    calibrated = calibration.apply(logits)
    assert np.all(calibrated[:, 1] < 1e-9)
    assert np.isfinite(calibration.scale).all() and np.isfinite(calibration.bias).all()
    implied_scale = calibration.scale[2] - 0.0  # negative logit is 0
    implied_bias = calibration.bias[2] - calibration.bias[0]
    assert implied_scale == pytest.approx(0.5, abs=0.05)
    assert implied_bias == pytest.approx(-1.0, abs=0.1)
    assert expected_calibration_error(calibrated, labels, "negative") < 0.03


def test_fit_vector_returns_one_scale_and_bias_per_class() -> None:
    logits, labels = synthetic(500, seed=10)
    scale, bias = fit_vector(logits, labels)
    assert scale.shape == bias.shape == (3,)


def test_small_sets_fit_only_the_first_method() -> None:
    logits, labels = synthetic(6, seed=11)
    calibration = fit_calibration(logits, labels)
    assert calibration.method == "temperature" and calibration.cv_nll == {}


def test_calibration_json_round_trip() -> None:
    logits, labels = synthetic(3_000, seed=12)
    calibration = fit_calibration(logits + np.array([0.0, 1.0, 0.0]), labels)
    raw = json.loads(json.dumps(calibration.to_json()))
    again = Calibration.from_json(raw)
    assert again.method == calibration.method
    assert np.allclose(again.apply(logits), calibration.apply(logits), atol=1e-5)
    assert Calibration.identity().apply(logits) == pytest.approx(softmax(logits))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"method": "isotonic", "scale": [1], "bias": [0]}, "isotonic"),
        ({"method": "vector", "scale": [1, 1], "bias": [0]}, "differ in length"),
        ({"method": "vector", "scale": [1, float("nan")], "bias": [0, 0]}, "finite"),
    ],
)
def test_calibration_from_json_refuses_bad_entries(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Calibration.from_json(raw)


def test_calibration_folds_into_a_linear_head() -> None:
    rng = np.random.default_rng(15)
    weight, bias, x = rng.normal(size=(3, 8)), rng.normal(size=3), rng.normal(size=(50, 8))
    calibration = Calibration("vector", 1.0, (0.5, 2.0, 1.5), (0.3, -1.0, 0.2))
    folded_weight, folded_bias = calibration.fold_into_linear(weight, bias)
    expected = calibration.apply(x @ weight.T + bias)
    assert np.allclose(softmax(x @ folded_weight.T + folded_bias), expected)
    with pytest.raises(ValueError, match="3 classes"):
        calibration.fold_into_linear(weight[:2], bias[:2])


def test_apply_checks_the_number_of_classes() -> None:
    with pytest.raises(ValueError, match="3 classes"):
        Calibration.identity(3).apply(np.zeros((2, 2)))


# ------------------------------------------------------------------ threshold rule


def threshold_set() -> tuple[np.ndarray, np.ndarray]:
    """Ten texts whose negative probabilities step down, neutral taking 90% of the rest (so
    argmax says negative only for the first); the rule's answers are worked out by hand."""
    negative = np.array([0.9, 0.455, 0.405, 0.355, 0.305, 0.255, 0.205, 0.155, 0.105, 0.055])
    labels = np.array([0, 0, 1, 0, 2, 0, 1, 1, 0, 2])
    rest = 1.0 - negative
    return np.stack([negative, rest * 0.9, rest * 0.1], axis=1), labels


# Negatives flagged / flagged as t falls: (0.455, 0.5] 1/1, (0.405, 0.455] 2/2,
# (0.355, 0.405] 2/3, (0.305, 0.355] 3/4, (0.255, 0.305] 3/5, (0.205, 0.255] 4/6,
# (0.155, 0.205] 4/7, (0.105, 0.155] 4/8, (0.055, 0.105] 5/9, 0.05 5/10; 5 negatives in all.


def test_threshold_maximises_negative_f1_subject_to_precision() -> None:
    probabilities, labels = threshold_set()
    # Best F1 is 4/6 flagged: P 0.667, R 0.8, F1 0.727, for t in (0.205, 0.255].
    choice = choose_threshold(probabilities, labels, "f1", min_precision=0.5)
    assert choice.threshold == 0.21
    assert choice.constraint_met
    assert (choice.precision, choice.recall) == pytest.approx((4 / 6, 4 / 5))
    assert choice.f1 == pytest.approx(2 * (4 / 6) * 0.8 / (4 / 6 + 0.8))
    assert len(choice.search) == 46 and choice.n == 10


def test_threshold_precision_floor_moves_the_choice_up() -> None:
    probabilities, labels = threshold_set()
    # Precision >= 0.7 leaves (0.405, 0.5] (P 1) and (0.305, 0.355] (P 0.75, the best F1).
    choice = choose_threshold(probabilities, labels, "f1", min_precision=0.7)
    assert choice.threshold == 0.31
    assert choice.precision == pytest.approx(0.75)
    assert choice.recall == pytest.approx(0.6)


def test_threshold_ties_go_to_the_lowest_threshold() -> None:
    probabilities, labels = threshold_set()
    choice = choose_threshold(probabilities, labels, "f1", min_precision=0.5)
    same = [p for p in choice.search if p.f1 == pytest.approx(choice.f1)]
    assert len(same) == 5
    assert choice.threshold == min(p.threshold for p in same)


def test_unreachable_precision_falls_back_to_the_most_precise_threshold() -> None:
    probabilities, labels = threshold_set()
    choice = choose_threshold(probabilities, labels, "f1", min_precision=1.01)
    assert not choice.constraint_met
    assert choice.precision == 1.0 and choice.threshold == 0.41


def test_macro_recall_objective() -> None:
    probabilities, labels = threshold_set()
    choice = choose_threshold(probabilities, labels, "macro_recall", min_precision=0.0)
    best = max(p.macro_recall for p in choice.search)
    assert choice.macro_recall == pytest.approx(best)
    with pytest.raises(ValueError, match="objective"):
        choose_threshold(probabilities, labels, "accuracy")  # type: ignore[arg-type]


def test_threshold_rule_is_the_models_label_rule() -> None:
    logits, _ = synthetic(2_000, seed=13)
    probabilities = softmax(logits)
    for threshold in (0.2, 0.35, 0.5):
        assert np.array_equal(
            negative_predictions(probabilities, threshold), decide_labels(probabilities, threshold)
        )
    assert np.array_equal(negative_predictions(probabilities, 0.5), probabilities.argmax(1))


# ------------------------------------------------------------------ one head, end to end


def test_calibrate_head_fits_then_thresholds_and_serialises() -> None:
    logits, labels = synthetic(10_000, seed=14)
    result = calibrate_head(3.0 * logits + np.array([0.0, 1.0, 0.0]), labels)
    assert result.after["max"].ece < result.before["max"].ece
    assert result.after["negative"].ece < result.before["negative"].ece
    assert result.after["negative"].ece < 0.02
    assert 0.05 <= result.threshold.threshold <= 0.5
    stored = json.loads(json.dumps(result.to_json()))
    assert set(stored) == {"calibration", "threshold", "ece", "reliability"}
    assert set(stored["ece"]) == {"before_max", "before_negative", "after_max", "after_negative"}
    assert len(stored["reliability"]["negative"]["bins"]) == 15
    assert stored["threshold"]["threshold"] == result.threshold.threshold
    assert Calibration.from_json(stored["calibration"]).method == result.calibration.method


def test_nll_of_perfect_predictions_is_zero() -> None:
    assert negative_log_likelihood(np.eye(3), np.arange(3)) == pytest.approx(0.0)
