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
from scoring.exact import percent_text
from scoring.levels import (
    DEFAULT_LEVELS,
    LEVEL_KEYS,
    Level,
    LevelPolicyError,
    Scores,
    decide,
    meets,
    parse_levels,
)

__all__ = ["DEFAULT_LEVELS", "LEVEL_KEYS", "Level", "LevelPolicy", "Scores"]


def _format_percent(value: float) -> str:
    return f"{percent_text(value, 2)}%"


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
        try:
            version, levels = parse_levels(data, exercises=[item.number for item in EXERCISES])
        except LevelPolicyError as exc:
            raise PolicyError(str(exc)) from None
        return cls(version=version, levels=levels)

    def level(self, key: str) -> Level:
        """The level named ``key`` (``bronze``, ``silver`` or ``gold``)."""
        for item in self.levels:
            if item.key == key:
                return item
        raise PolicyError(f"unknown level {key!r}; expected one of {', '.join(LEVEL_KEYS)}")

    def meets(self, level: Level, scores: Scores) -> bool:
        """Whether ``scores`` satisfy ``level`` and every level below it (exactly: see
        :mod:`scoring.levels`, the one rule the learner's progress line uses too)."""
        return meets(self.levels, level, scores)

    def decide(self, scores: Scores) -> Level | None:
        """The highest level ``scores`` earn, or ``None``."""
        return decide(self.levels, scores)

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
