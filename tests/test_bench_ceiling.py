"""The free-tier benchmark's USS ceilings (bench/free_tier_ceiling.py) on hand-computed cases."""

from __future__ import annotations

import pytest

from bench.free_tier_ceiling import half_the_negatives, raters_ceiling


def test_one_rater_and_the_free_tier_are_scored_against_the_other_raters() -> None:
    # raters agree in every dialogue; a dialogue with a single rating has no "others" and is left out
    ceiling = raters_ceiling([[1, 2], [3, 3], [5, 4], [2]], ["neutral", "neutral", "neutral", "negative"], draws=3)
    assert ceiling["dialogues"] == 3
    one, free = ceiling["one_rater"], ceiling["free_tier"]
    assert one["macro_f1"] == 1.0 and one["negative_recall"] == 1.0
    # always neutral: neutral F1 = 2*1/(2*1+2) = 0.5, the other two 0 → macro 1/6; the free tier is always neutral
    assert free["macro_f1"] == pytest.approx(1 / 6, abs=1e-4)
    assert free["ratio_to_always_neutral"] == pytest.approx(1.0) and free["ratio_range"] == [1.0, 1.0]
    assert one["ratio_to_always_neutral"] == pytest.approx(6.0, abs=0.01)  # macro-F1 is rounded to 4 places


def test_a_held_out_rater_who_disagrees_lowers_the_ceiling() -> None:
    # two raters: one says 1, the other 3; whoever is held out disagrees with the one left
    ceiling = raters_ceiling([[1, 3], [3, 3]], ["neutral", "neutral"], draws=10)
    assert ceiling["one_rater"]["macro_f1"] < 1.0


def test_half_the_negatives_counts_what_the_cut_calls_negative_ties_included() -> None:
    scores = [0.9, 0.8, 0.7, 0.7, 0.1]
    assert half_the_negatives(scores, [False, True, False, True, False]) == {
        "negatives": 2,
        "caught": 1,
        "called_negative": 2,
        "precision": 0.5,
    }
    # the second 0.7 is a tie with the score that reaches half: a cut cannot split them
    assert half_the_negatives(scores, [False, False, True, False, True]) == {
        "negatives": 2,
        "caught": 1,
        "called_negative": 4,
        "precision": 0.25,
    }
