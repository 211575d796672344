"""scoring: the course's one score formula and its one level rule, in exact arithmetic.

Why a package of its own. Four places need the same numbers: the gradebook's
``grades.csv``, the feedback pages and the class report (``grader.pipeline``), the
certificate level decided by ``certify`` (``certificates``) and the level "within reach"
that the check panel's progress line shows inside the learner's notebook
(``context_course.progress``). Layering forbids the obvious homes: ``certificates`` may not
import ``grader``, and a learner's notebook must not import ``certificates`` (its import
pulls in signing, schemas and rendering; jsonschema alone compiles dozens of grammars).
So the formula and the rule live below all of them, in this small package that imports
only the standard library; each caller imports it, nobody copies it.

Why exact. Points are decimal numbers written by authors (``points = 2.7``) and stored by
nbgrader as binary floats; in floats 18.9 of 27 points is 69.99999999999999 % (no Bronze at
70 %), and eight scores whose exact average is 85 average to 84.99999999999999 (Silver
instead of Gold). Here every number enters through :func:`exact` (a float is read as the
decimal it prints as, ``18.9`` → ``189/10``) and the arithmetic is
:class:`fractions.Fraction`; percentages are shown truncated, never rounded up across a
threshold (69.96 % is shown as ``69.9``).
"""

from scoring.exact import (
    Exact,
    Points,
    bounded_total,
    clamp_points,
    effective_score,
    exact,
    late_adjusted,
    late_penalty_points,
    mean,
    percent,
    percent_text,
    points_text,
)
from scoring.levels import (
    DEFAULT_LEVELS,
    LEVEL_KEYS,
    Level,
    LevelPolicyError,
    Scores,
    decide,
    meets,
    missing,
    parse_levels,
)

__all__ = [
    "DEFAULT_LEVELS",
    "LEVEL_KEYS",
    "Exact",
    "Level",
    "LevelPolicyError",
    "Points",
    "Scores",
    "bounded_total",
    "clamp_points",
    "decide",
    "effective_score",
    "exact",
    "late_adjusted",
    "late_penalty_points",
    "mean",
    "meets",
    "missing",
    "parse_levels",
    "percent",
    "percent_text",
    "points_text",
]
