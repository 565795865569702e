"""Calibration figures against cases computed by hand."""

from __future__ import annotations

import random

import pytest

from metricstore.calibration.stats import NONE, agreement, normalize_text, rater_ceiling


def test_categorical_accuracy_macro_f1_kappa_and_confusion() -> None:
    # a a b b vs a b b b: po = 0.75, pe = .5 × .25 + .5 × .75 = 0.5, κ = 0.25 / 0.5 = 0.5;
    # F1(a) = 2·1·0.5 / 1.5 = 0.6667, F1(b) = 2·(2/3)·1 / (5/3) = 0.8, macro = 0.7333
    result = agreement("categorical", ["a", "a", "b", "b"], ["a", "b", "b", "b"])
    assert result.figures["accuracy"].value == 0.75
    assert result.figures["kappa"].value == 0.5
    assert result.figures["macro_f1"].value == pytest.approx(0.7333, abs=1e-4)
    assert result.confusion == {"a": {"a": 1, "b": 1}, "b": {"a": 0, "b": 2}}
    assert result.figures["accuracy"].n == 4


def test_no_value_is_a_class_of_its_own_for_categorical_metrics() -> None:
    result = agreement("categorical", ["a", None, "b"], [None, None, "b"])
    assert result.figures["accuracy"].value == pytest.approx(2 / 3, abs=1e-4)
    assert result.confusion[NONE][NONE] == 1
    assert result.figures["coverage"].value == pytest.approx(1 / 3, abs=1e-4)


def test_boolean_precision_recall_f1_kappa() -> None:
    # TP 2, FP 1, FN 1: P = R = F1 = 2/3; po = 0.6, pe = .6 × .6 + .4 × .4 = 0.52, κ = 0.08 / 0.48
    result = agreement("boolean", [True, True, False, False, True], [True, False, False, True, True])
    for name in ("precision", "recall", "f1"):
        assert result.figures[name].value == pytest.approx(2 / 3, abs=1e-4)
    assert result.figures["kappa"].value == pytest.approx(0.08 / 0.48, abs=1e-4)


def test_numerical_mae_spearman_and_within_range() -> None:
    # |1-2| + 0 + |3-5| + 0 = 3 → MAE 0.75; ranks [1, 2, 3, 4] vs [1.5, 1.5, 4, 3]: ρ = 3.5 / √(5 × 4.5)
    result = agreement("numerical", [1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 5.0, 4.0], valid_range=(1, 4))
    assert result.figures["mae"].value == 0.75
    assert result.figures["spearman"].value == pytest.approx(3.5 / (5 * 4.5) ** 0.5, abs=1e-4)
    assert result.figures["within_range"].value == 0.75


def test_numerical_figures_stand_on_the_pairs_with_two_numbers() -> None:
    result = agreement("numerical", [1.0, 2.0, None, 4.0], [1.0, None, 3.0, 5.0])
    assert result.figures["mae"].n == 2
    assert result.figures["mae"].value == 0.5
    assert result.figures["within_range"].n == 3
    assert result.figures["coverage"].value == 0.75


def test_list_set_precision_recall_f1() -> None:
    # {a, b} vs {a}, {c} vs {c, d}: 2 shared of 3 answered and 3 labelled
    result = agreement("list", [["a", "b"], ["c"]], [["a"], ["c", "d"]])
    for name in ("set_precision", "set_recall", "set_f1"):
        assert result.figures[name].value == pytest.approx(2 / 3, abs=1e-4)


def test_list_precision_is_undefined_when_nothing_was_answered() -> None:
    result = agreement("list", [["a"], ["b"]], [None, []])
    assert result.figures["set_precision"].value is None
    assert result.figures["set_recall"].value == 0.0


def test_text_normalized_exact_match() -> None:
    assert normalize_text("  Next   FRIDAY! ") == "next friday"
    result = agreement("text", ["Next Friday!", "the 3rd", None], ["next friday", "March 3", None])
    assert result.figures["exact_match"].value == pytest.approx(2 / 3, abs=1e-4)


def test_intervals_hold_the_estimate_and_are_deterministic() -> None:
    expected = ["a", "b", "c"] * 20
    predicted = ["a", "b", "b"] * 20
    first = agreement("categorical", expected, predicted)
    again = agreement("categorical", expected, predicted)
    assert first == again
    for fig in first.figures.values():
        assert fig.low is not None and fig.high is not None and fig.value is not None
        assert fig.low <= fig.value <= fig.high
    assert first.figures["accuracy"].high < 1.0  # 40 of 60 right: the interval is not the whole range
    assert first.figures["accuracy"].value == pytest.approx(2 / 3, abs=1e-4)


def test_kappa_is_undefined_when_both_sides_have_one_class() -> None:
    result = agreement("categorical", ["a", "a"], ["a", "a"])
    assert result.figures["kappa"].value is None
    assert result.figures["accuracy"].value == 1.0


def test_rater_ceiling_pairs_raters_on_shared_conversations() -> None:
    raters = {
        "ana": {"c1": "a", "c2": "b", "c3": "a", "c4": "b"},
        "ben": {"c1": "a", "c2": "b", "c3": "b", "c4": "b", "c5": "a"},
    }
    ceiling = rater_ceiling("categorical", raters)
    assert ceiling["accuracy"].value == 0.75  # c5 has one rater: not compared
    assert ceiling["accuracy"].n == 4
    assert ceiling["kappa"].value == 0.5


def test_every_figure_matches_scikit_learn_and_scipy_on_random_data() -> None:
    from scipy.stats import spearmanr
    from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score, precision_score, recall_score

    rng = random.Random(7)
    expected = [rng.choice("abcd") for _ in range(300)]
    predicted = [e if rng.random() < 0.6 else rng.choice("abcde") for e in expected]
    cat = agreement("categorical", expected, predicted).figures
    assert cat["accuracy"].value == pytest.approx(accuracy_score(expected, predicted), abs=1e-4)
    assert cat["kappa"].value == pytest.approx(cohen_kappa_score(expected, predicted), abs=1e-4)
    macro = f1_score(expected, predicted, labels=sorted(set(expected)), average="macro", zero_division=0)
    assert cat["macro_f1"].value == pytest.approx(macro, abs=1e-4)

    truth = [rng.random() < 0.3 for _ in range(300)]
    guess = [t if rng.random() < 0.7 else not t for t in truth]
    boolean = agreement("boolean", truth, guess).figures
    assert boolean["precision"].value == pytest.approx(precision_score(truth, guess), abs=1e-4)
    assert boolean["recall"].value == pytest.approx(recall_score(truth, guess), abs=1e-4)
    assert boolean["f1"].value == pytest.approx(f1_score(truth, guess), abs=1e-4)
    assert boolean["kappa"].value == pytest.approx(cohen_kappa_score(truth, guess), abs=1e-4)

    scores = [float(rng.randint(1, 10)) for _ in range(300)]
    answers = [min(10.0, max(1.0, s + rng.randint(-3, 3))) for s in scores]
    numerical = agreement("numerical", scores, answers).figures
    assert numerical["spearman"].value == pytest.approx(spearmanr(scores, answers).statistic, abs=1e-4)


def test_confidence_auroc_ranks_right_answers_above_wrong_ones() -> None:
    # right answers at 0.9 and 0.6, wrong ones at 0.7 and 0.2: of the 4 (right, wrong) pairs, 3 are ordered
    expected = ["a", "a", "b", "b"]
    predicted = ["a", "b", "b", "a"]
    result = agreement("categorical", expected, predicted, confidence=[0.9, 0.7, 0.6, 0.2])
    assert result.figures["confidence_auroc"].value == 0.75
    perfect = agreement("categorical", expected, predicted, confidence=[0.9, 0.1, 0.8, 0.2])
    assert perfect.figures["confidence_auroc"].value == 1.0
    all_right = agreement("categorical", expected, expected, confidence=[0.9, 0.7, 0.6, 0.2])
    assert all_right.figures["confidence_auroc"].value is None  # nothing wrong to rank below


def test_confidence_auroc_matches_scikit_learn() -> None:
    from sklearn.metrics import roc_auc_score

    rng = random.Random(3)
    expected = [rng.choice("xyz") for _ in range(200)]
    confidence = [round(rng.random(), 2) for _ in range(200)]  # rounded: ties included
    predicted = [e if rng.random() < c else "w" for e, c in zip(expected, confidence, strict=True)]
    figure = agreement("categorical", expected, predicted, confidence=confidence).figures["confidence_auroc"]
    right = [e == p for e, p in zip(expected, predicted, strict=True)]
    assert figure.value == pytest.approx(roc_auc_score(right, confidence), abs=1e-4)
