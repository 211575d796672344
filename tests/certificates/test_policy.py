"""The level policy: defaults, boundaries, validation, and what each level may claim."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from certificates import LevelPolicy, PolicyError
from certificates.policy import DEFAULT_LEVELS

ALL_90 = {n: 90.0 for n in range(1, 9)}


def scores(**overrides: float) -> dict[int, float]:
    result = dict(ALL_90)
    for key, value in overrides.items():
        result[int(key.removeprefix("e"))] = value
    return result


def level_of(values: dict[int, float]) -> str | None:
    level = LevelPolicy.default().decide(values)
    return level.key if level else None


def test_the_defaults_award_the_documented_levels() -> None:
    assert level_of(ALL_90) == "gold"
    assert level_of(scores(e8=69.9)) == "silver"
    assert level_of(scores(e5=69.9)) == "bronze"
    assert level_of(scores(e1=69.9)) is None
    assert level_of({}) is None


def test_pass_marks_are_inclusive() -> None:
    exactly = {n: 70.0 for n in range(1, 8)}
    assert level_of(exactly) == "silver"
    assert level_of({**exactly, 8: 100.0}) == "silver"  # average 73.75 < 85


def test_gold_needs_an_85_percent_average_over_all_eight() -> None:
    at_85 = {n: 85.0 for n in range(1, 9)}
    assert level_of(at_85) == "gold"
    assert level_of({**at_85, 8: 84.0}) == "silver"
    lopsided = {**{n: 100.0 for n in range(1, 8)}, 8: 70.0}  # average 96.25
    assert level_of(lopsided) == "gold"


def test_a_missing_exercise_counts_as_zero() -> None:
    without_six = {n: 95.0 for n in range(1, 9) if n != 6}
    assert level_of(without_six) == "bronze"


def test_mastery_areas_claim_only_what_the_required_exercises_assess() -> None:
    policy = LevelPolicy.default()
    areas = {lvl.key: [a.key for a in policy.mastery_areas(lvl)] for lvl in policy.levels}
    assert areas["bronze"] == ["state", "history", "persistence", "serialization"]
    assert "service" not in areas["silver"] and "merging" in areas["silver"]
    assert areas["gold"][-1] == "service" and len(areas["gold"]) == 8
    for level in policy.levels:
        for area in policy.mastery_areas(level):
            assert area.exercises <= set(level.covered)


def test_criteria_state_the_rule_and_the_policy_version() -> None:
    policy = LevelPolicy.default()
    text = policy.criteria(policy.level("gold"))
    assert "exercises 1–4 each scored at least 70%" in text
    assert "an average of at least 85% across exercises 1–8" in text
    assert text.endswith("Level policy version 1.")


def test_the_shipped_course_toml_holds_the_default_policy() -> None:
    course_toml = Path(__file__).resolve().parents[2] / "course.toml"
    raw = tomllib.loads(course_toml.read_text(encoding="utf-8"))
    assert raw["certificates"]["levels"] == DEFAULT_LEVELS
    assert LevelPolicy.from_course(raw) == LevelPolicy.default()


def test_a_course_without_the_section_gets_the_defaults() -> None:
    assert LevelPolicy.from_course({}) == LevelPolicy.default()


def test_a_custom_policy_changes_levels_and_areas() -> None:
    policy = LevelPolicy.from_mapping(
        {
            "version": "2027-a",
            "bronze": {"exercises": [1, 2], "min_percent": 50},
            "silver": {"exercises": [3, 4, 5, 6], "min_percent": 60},
            "gold": {"exercises": [7, 8], "min_percent": 80},
        }
    )
    bronze = policy.level("bronze")
    assert [a.key for a in policy.mastery_areas(bronze)] == ["state", "history"]
    result = policy.decide({1: 50, 2: 50, 3: 10})
    assert result is not None and result.key == "bronze"
    assert policy.version == "2027-a"


def _with(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        k: (dict(v) if isinstance(v, dict) else v) for k, v in DEFAULT_LEVELS.items()
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_with(platinum={"exercises": [1], "min_percent": 1}), "unknown entries"),
        (_with(version=""), "version"),
        (_with(silver=None), "silver is missing"),
        (_with(bronze={"exercises": [1, 9], "min_percent": 70}), "each must be 1–8"),
        (_with(silver={"exercises": [4, 5], "min_percent": 70}), "not already required"),
        (_with(bronze={"exercises": [], "min_percent": 70}), "non-empty list"),
        (_with(bronze={"exercises": [1], "min_percent": 170}), "0 to 100"),
        (_with(bronze={"exercises": [1], "min_percent": "70"}), "0 to 100"),
        (_with(gold={"exercises": [8], "min_percent": 70, "avg": 85}), "unknown fields"),
    ],
)
def test_invalid_policies_are_refused_with_a_clear_message(
    data: dict[str, Any], message: str
) -> None:
    with pytest.raises(PolicyError, match=message):
        LevelPolicy.from_mapping(data)
