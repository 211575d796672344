"""The one score formula and level rule, at the exact boundaries floats get wrong."""

from __future__ import annotations

from fractions import Fraction

import pytest

from certificates.credential import ExerciseScore
from certificates.policy import LevelPolicy
from scoring import (
    DEFAULT_LEVELS,
    decide,
    effective_score,
    exact,
    mean,
    missing,
    parse_levels,
    percent,
    percent_text,
    points_text,
)

LEVELS = parse_levels(DEFAULT_LEVELS, exercises=range(1, 9))[1]
# eight percentages whose exact average is 85; in binary floats it is 84.99999999999999
EIGHT = [86.7, 83.03, 85.88, 88.82, 88.46, 85.05, 85.89, 76.17]


def test_floats_get_these_boundaries_wrong() -> None:
    """The traps are real (otherwise the tests below would prove nothing)."""
    assert 100 * 18.9 / 27 < 70
    assert sum(EIGHT) / 8 < 85


def test_a_float_is_read_as_the_decimal_it_prints_as() -> None:
    assert exact(18.9) == Fraction(189, 10)
    assert exact("2.7") == Fraction(27, 10)
    assert exact(float("nan")) == 0 and exact(float("inf")) == 0 and exact("x") == 0


def test_exactly_70_percent() -> None:
    assert percent(18.9, 27) == 70
    assert percent(exact(6.3) * 3, 27) == 70  # three parts of 6.3 points


def test_percent_is_clamped_and_zero_without_points() -> None:
    assert percent(30, 27) == 100
    assert percent(-1, 27) == 0
    assert percent(5, 0) == 0


def test_the_exact_average_of_eight_scores_is_85() -> None:
    assert mean(EIGHT) == 85


def test_70_percent_exactly_earns_bronze_and_69_99_does_not() -> None:
    at_70 = {n: percent(18.9, 27) for n in (1, 2, 3, 4)}
    assert decide(LEVELS, at_70) is not None
    assert decide(LEVELS, at_70).key == "bronze"  # type: ignore[union-attr]
    just_under = {**at_70, 3: 69.99}
    assert decide(LEVELS, just_under) is None
    assert missing(LEVELS, LEVELS[0], just_under) == ["03 at 70%"]


def test_an_exact_average_of_85_earns_gold() -> None:
    scores = dict(zip(range(1, 9), EIGHT, strict=True))
    level = decide(LEVELS, scores)
    assert level is not None and level.key == "gold"


def test_certify_decides_with_the_same_rule() -> None:
    """certificates' policy (what certify uses) delegates to the one rule."""
    policy = LevelPolicy.default()
    records = {
        n: ExerciseScore(number=n, score=score, max_score=100.0)
        for n, score in zip(range(1, 9), EIGHT, strict=True)
    }
    level = policy.decide({n: s.percent for n, s in records.items()})
    assert level is not None and level.key == "gold"
    bronze = {n: ExerciseScore(number=n, score=18.9, max_score=27.0).percent for n in range(1, 5)}
    level = policy.decide(bronze)
    assert level is not None and level.key == "bronze"


@pytest.mark.parametrize(
    ("value", "shown"),
    [(Fraction(6996, 100), "69.9"), (69.99, "69.9"), (70, "70"), (Fraction(1, 3) * 100, "33.3")],
)
def test_percentages_are_shown_truncated_never_rounded_up(value: Fraction, shown: str) -> None:
    assert percent_text(value) == shown


def test_a_shown_percentage_never_crosses_a_threshold_it_did_not_meet() -> None:
    for hundredths in range(6900, 7000):
        assert not percent_text(Fraction(hundredths, 100)).startswith("70")


def test_manual_scores_win_per_cell_and_the_total_is_exact() -> None:
    auto = {"a": 6.3, "b": 6.3, "c": 6.3}
    assert effective_score(auto, {}) == Fraction(189, 10)
    assert effective_score(auto, {"b": 1.0, "extra": 2.5}) == Fraction(161, 10)
    assert effective_score({"a": 1.0}, {"a": -5.0}) == 0


def test_points_are_written_without_float_noise() -> None:
    assert points_text(exact(6.3) * 3) == "18.9"
    assert points_text(Fraction(27)) == "27"
    assert points_text(Fraction(1, 3)) == "0.333333"


def test_a_late_penalty_is_a_share_of_the_maximum_subtracted_once_never_below_zero() -> None:
    from scoring import late_adjusted, late_penalty_points

    # 10 % of 27 points is exactly 2.7 (in floats 0.1 * 27 is 2.7000000000000002)
    assert late_penalty_points(10, 27) == Fraction(27, 10)
    assert late_penalty_points(150, 27) == 27 and late_penalty_points(-5, 27) == 0
    assert late_adjusted(21.6, Fraction(27, 10)) == Fraction(189, 10)
    assert late_adjusted(2, 5) == 0 and late_adjusted(5, -1) == 5
    # manual wins per cell, then the penalty comes off the notebook's total, once
    assert effective_score({"a": 3, "b": 4}, {"b": 6}, late_penalty=2.7) == Fraction(63, 10)
    assert effective_score({"a": 1}, {}, late_penalty=5) == 0
