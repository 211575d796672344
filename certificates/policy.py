"""The level policy: which scores earn Bronze, Silver or Gold.

The policy lives in ``course.toml`` under ``[certificates.levels]``; when the section is
absent the defaults below apply. Each level requires every lower level, plus its own
exercises each at or above ``min_percent``, plus (optionally) an average of at least
``average_percent`` over all the exercises the level covers::

    [certificates.levels]
    version = "1"
    bronze = { exercises = [1, 2, 3, 4], min_percent = 70 }
    silver = { exercises = [5, 6, 7], min_percent = 70 }
    gold = { exercises = [8], min_percent = 70, average_percent = 85 }

The policy ``version`` is recorded in every credential issued under it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from certificates.curriculum import EXERCISES, MASTERY_AREAS, MasteryArea
from certificates.errors import PolicyError

__all__ = ["DEFAULT_LEVELS", "LEVEL_KEYS", "Level", "LevelPolicy", "Scores"]

LEVEL_KEYS = ("bronze", "silver", "gold")

Scores = Mapping[int, float]
"""Percent score (0–100) per exercise number; a missing exercise counts as 0."""

DEFAULT_LEVELS: dict[str, Any] = {
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


@dataclass(frozen=True)
class Level:
    """One level's rule. ``exercises`` are the level's own; ``covered`` includes lower levels."""

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


def _percent(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise PolicyError(f"{where} must be a number from 0 to 100, not {value!r}")
    return float(value)


def _format_percent(value: float) -> str:
    return f"{value:g}%"


def _ranges(numbers: tuple[int, ...]) -> str:
    """``(1, 2, 3, 4, 8)`` → ``1–4 and 8``."""
    groups: list[list[int]] = []
    for number in sorted(numbers):
        if groups and number == groups[-1][-1] + 1:
            groups[-1].append(number)
        else:
            groups.append([number])
    parts = [f"{g[0]}–{g[-1]}" if len(g) > 2 else ", ".join(str(n) for n in g) for g in groups]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


@dataclass(frozen=True)
class LevelPolicy:
    """The ordered levels (lowest first) and the policy version."""

    version: str
    levels: tuple[Level, ...]

    @classmethod
    def default(cls) -> LevelPolicy:
        """The shipped default policy (Bronze 1–4, Silver 5–7, Gold 8 and 85% average)."""
        return cls.from_mapping(DEFAULT_LEVELS)

    @classmethod
    def from_course(cls, raw: Mapping[str, Any]) -> LevelPolicy:
        """The policy from a parsed ``course.toml`` (defaults when the section is absent)."""
        section = raw.get("certificates", {})
        if not isinstance(section, Mapping):
            raise PolicyError("[certificates] in course.toml must be a table")
        levels = section.get("levels")
        return cls.default() if levels is None else cls.from_mapping(levels)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> LevelPolicy:
        """Build and validate a policy from the ``[certificates.levels]`` table."""
        if not isinstance(data, Mapping):
            raise PolicyError("[certificates.levels] must be a table")
        unknown = set(data) - {"version", *LEVEL_KEYS}
        if unknown:
            raise PolicyError(
                f"[certificates.levels] has unknown entries {sorted(unknown)}; "
                f"expected version, {', '.join(LEVEL_KEYS)}"
            )
        version = data.get("version")
        if not isinstance(version, str) or not version.strip():
            raise PolicyError("[certificates.levels] version must be a non-empty string")
        valid_numbers = {item.number for item in EXERCISES}
        covered: list[int] = []
        levels: list[Level] = []
        for rank, key in enumerate(LEVEL_KEYS):
            where = f"[certificates.levels] {key}"
            rule = data.get(key)
            if not isinstance(rule, Mapping):
                raise PolicyError(f"{where} is missing; give it exercises and min_percent")
            extra = set(rule) - _KNOWN_FIELDS
            if extra:
                raise PolicyError(f"{where} has unknown fields {sorted(extra)}")
            numbers = rule.get("exercises")
            if (
                not isinstance(numbers, list)
                or not numbers
                or not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers)
            ):
                raise PolicyError(f"{where} exercises must be a non-empty list of numbers")
            bad = [n for n in numbers if n not in valid_numbers or n in covered]
            if bad or len(set(numbers)) != len(numbers):
                raise PolicyError(
                    f"{where} exercises {numbers}: each must be 1–8, listed once, and not "
                    "already required by a lower level"
                )
            covered.extend(numbers)
            average = rule.get("average_percent")
            levels.append(
                Level(
                    key=key,
                    own_exercises=tuple(numbers),
                    min_percent=_percent(rule.get("min_percent"), f"{where} min_percent"),
                    average_percent=None
                    if average is None
                    else _percent(average, f"{where} average_percent"),
                    covered=tuple(sorted(covered)),
                    rank=rank,
                )
            )
        return cls(version=version.strip(), levels=tuple(levels))

    def level(self, key: str) -> Level:
        """The level named ``key`` (``bronze``, ``silver`` or ``gold``)."""
        for item in self.levels:
            if item.key == key:
                return item
        raise PolicyError(f"unknown level {key!r}; expected one of {', '.join(LEVEL_KEYS)}")

    def meets(self, level: Level, scores: Scores) -> bool:
        """Whether ``scores`` satisfy ``level`` and every level below it."""
        for item in self.levels[: level.rank + 1]:
            if any(scores.get(n, 0.0) < item.min_percent for n in item.own_exercises):
                return False
            if item.average_percent is not None:
                average = sum(scores.get(n, 0.0) for n in item.covered) / len(item.covered)
                if average < item.average_percent:
                    return False
        return True

    def decide(self, scores: Scores) -> Level | None:
        """The highest level ``scores`` earn, or ``None``."""
        earned = None
        for item in self.levels:
            if not self.meets(item, scores):
                break
            earned = item
        return earned

    def criteria(self, level: Level) -> str:
        """The level's rule in words, as the credential's criteria narrative states it."""
        clauses = []
        for item in self.levels[: level.rank + 1]:
            clause = (
                f"exercises {_ranges(item.own_exercises)} each scored at least "
                f"{_format_percent(item.min_percent)}"
                if len(item.own_exercises) > 1
                else f"exercise {item.own_exercises[0]} scored at least "
                f"{_format_percent(item.min_percent)}"
            )
            if item.average_percent is not None:
                clause += (
                    f", and an average of at least {_format_percent(item.average_percent)} "
                    f"across exercises {_ranges(item.covered)}"
                )
            clauses.append(clause)
        rule = "; ".join(clauses)
        return (
            f"Awarded at the {level.name} level when {rule}. Scores come "
            "from hidden tests judged outside the learner's code by the course grader. "
            f"Level policy version {self.version}."
        )

    def mastery_areas(self, level: Level) -> tuple[MasteryArea, ...]:
        """The mastery areas every one of whose assessing exercises this level requires."""
        required = set(level.covered)
        return tuple(area for area in MASTERY_AREAS if area.exercises <= required)
