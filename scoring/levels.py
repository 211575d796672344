"""The level rule: which exercise percentages earn Bronze, Silver or Gold.

The rule is read from ``course.toml``'s ``[certificates.levels]`` (see
:mod:`certificates.policy` for the table and its defaults). Each level requires every lower
level, plus its own exercises each at or above ``min_percent``, plus (optionally) an
average of at least ``average_percent`` over all the exercises the level covers. All
comparisons are exact (:func:`scoring.exact.exact`): 70 % of the points meets a 70 % rule.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from scoring.exact import Points, exact, mean, percent_text

__all__ = [
    "DEFAULT_LEVELS",
    "LEVEL_KEYS",
    "Level",
    "LevelPolicyError",
    "Scores",
    "decide",
    "meets",
    "missing",
    "parse_levels",
]

LEVEL_KEYS = ("bronze", "silver", "gold")

Scores = Mapping[int, Points]
"""Percent score (0–100) per exercise number; a missing exercise counts as 0."""

#: The shipped policy, used when course.toml has no ``[certificates.levels]``.
DEFAULT_LEVELS: Mapping[str, Any] = {
    "version": "1",
    "bronze": {"exercises": [1, 2, 3, 4], "min_percent": 70},
    "silver": {"exercises": [5, 6, 7], "min_percent": 70},
    "gold": {"exercises": [8], "min_percent": 70, "average_percent": 85},
}

_NAMES = {"bronze": "Bronze", "silver": "Silver", "gold": "Gold"}
_TITLES = {
    "bronze": "Context Foundations",
    "silver": "Advanced Context Practice",
    "gold": "Context Architecture Mastery",
}
_KNOWN_FIELDS = {"exercises", "min_percent", "average_percent"}


class LevelPolicyError(ValueError):
    """The ``[certificates.levels]`` table is malformed (the message says how)."""


@dataclass(frozen=True)
class Level:
    """One level's rule. ``own_exercises`` are the level's own; ``covered`` adds lower levels."""

    key: str
    own_exercises: tuple[int, ...]
    min_percent: float
    average_percent: float | None
    covered: tuple[int, ...]
    rank: int

    @property
    def name(self) -> str:
        """Display name: ``Bronze``, ``Silver`` or ``Gold``."""
        return _NAMES[self.key]

    @property
    def title(self) -> str:
        """What the level stands for, e.g. ``Context Foundations``."""
        return _TITLES[self.key]


def _percent_setting(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise LevelPolicyError(f"{where} must be a number from 0 to 100, not {value!r}")
    return float(value)


def parse_levels(
    data: Mapping[str, Any], *, exercises: Collection[int]
) -> tuple[str, tuple[Level, ...]]:
    """The policy version and its levels (lowest first) from ``[certificates.levels]``.

    ``exercises`` are the course's exercise numbers (from course.toml's notebooks); a
    level naming another number is an error. Raises :class:`LevelPolicyError`.
    """
    if not isinstance(data, Mapping):
        raise LevelPolicyError("[certificates.levels] must be a table")
    unknown = set(data) - {"version", *LEVEL_KEYS}
    if unknown:
        raise LevelPolicyError(
            f"[certificates.levels] has unknown entries {sorted(unknown)}; "
            f"expected version, {', '.join(LEVEL_KEYS)}"
        )
    version = data.get("version")
    if not isinstance(version, str) or not version.strip():
        raise LevelPolicyError("[certificates.levels] version must be a non-empty string")
    valid = set(exercises)
    covered: list[int] = []
    levels: list[Level] = []
    for rank, key in enumerate(LEVEL_KEYS):
        where = f"[certificates.levels] {key}"
        rule = data.get(key)
        if not isinstance(rule, Mapping):
            raise LevelPolicyError(f"{where} is missing; give it exercises and min_percent")
        extra = set(rule) - _KNOWN_FIELDS
        if extra:
            raise LevelPolicyError(f"{where} has unknown fields {sorted(extra)}")
        numbers = rule.get("exercises")
        if (
            not isinstance(numbers, list)
            or not numbers
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers)
        ):
            raise LevelPolicyError(f"{where} exercises must be a non-empty list of numbers")
        bad = [n for n in numbers if n not in valid or n in covered]
        if bad or len(set(numbers)) != len(numbers):
            span = f"{min(valid)}–{max(valid)}" if valid else "a course exercise"
            raise LevelPolicyError(
                f"{where} exercises {numbers}: each must be {span}, listed once, and not "
                "already required by a lower level"
            )
        covered.extend(numbers)
        average = rule.get("average_percent")
        levels.append(
            Level(
                key=key,
                own_exercises=tuple(numbers),
                min_percent=_percent_setting(rule.get("min_percent"), f"{where} min_percent"),
                average_percent=None
                if average is None
                else _percent_setting(average, f"{where} average_percent"),
                covered=tuple(sorted(covered)),
                rank=rank,
            )
        )
    return version.strip(), tuple(levels)


def _score(scores: Scores, number: int) -> Fraction:
    return exact(scores.get(number, 0))


def missing(levels: Sequence[Level], level: Level, scores: Scores) -> list[str]:
    """What ``scores`` still lack for ``level`` (and the levels below it), in words; empty
    when they meet it. The one rule: :func:`meets` and :func:`decide` are this list empty."""
    lacking: list[str] = []
    for item in levels[: level.rank + 1]:
        threshold = exact(item.min_percent)
        for number in item.own_exercises:
            if _score(scores, number) < threshold:
                lacking.append(f"{number:02d} at {percent_text(item.min_percent)}%")
        if item.average_percent is not None:
            average = mean(_score(scores, n) for n in item.covered)
            if average < exact(item.average_percent):
                lacking.append(f"an average of {percent_text(item.average_percent)}%")
    return lacking


def meets(levels: Sequence[Level], level: Level, scores: Scores) -> bool:
    """Whether ``scores`` satisfy ``level`` and every level below it."""
    return not missing(levels, level, scores)


def decide(levels: Sequence[Level], scores: Scores) -> Level | None:
    """The highest level ``scores`` earn, or ``None``."""
    earned = None
    for item in levels:
        if not meets(levels, item, scores):
            break
        earned = item
    return earned
