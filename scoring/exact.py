"""Exact points and percentages (see the package docstring for why)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from fractions import Fraction

__all__ = [
    "Exact",
    "Points",
    "bounded_total",
    "clamp_points",
    "effective_score",
    "exact",
    "late_adjusted",
    "late_penalty_points",
    "mean",
    "percent",
    "percent_text",
    "points_text",
]

Exact = Fraction
#: What points arrive as: authors' numbers from JSON/TOML, floats from the database.
Points = int | float | str | Decimal | Fraction

_HUNDRED = Fraction(100)


def exact(value: Points) -> Fraction:
    """``value`` as an exact fraction; a float is read as the decimal it prints as.

    ``exact(18.9) == Fraction(189, 10)``, not the binary float's 18.8999999999999985….
    NaN and infinities (a damaged database row) count as 0; so does text that is not a
    number.
    """
    if isinstance(value, Fraction):
        return value
    if isinstance(value, bool):
        return Fraction(int(value))
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(Decimal(repr(value))) if math.isfinite(value) else Fraction(0)
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError, TypeError):
        return Fraction(0)
    return Fraction(number) if number.is_finite() else Fraction(0)


def percent(score: Points, maximum: Points) -> Fraction:
    """``score`` as a percentage of ``maximum``, within 0–100 (0 when there are no points).

    A manual score entered above the maximum (or below zero) never lifts a learner past
    100 % (or below 0 %).
    """
    top = exact(maximum)
    if top <= 0:
        return Fraction(0)
    return min(max(_HUNDRED * exact(score) / top, Fraction(0)), _HUNDRED)


def mean(values: Iterable[Points]) -> Fraction:
    """The exact arithmetic mean (0 of nothing)."""
    numbers = [exact(v) for v in values]
    return sum(numbers, Fraction(0)) / len(numbers) if numbers else Fraction(0)


def effective_score(
    auto: Mapping[str, Points], manual: Mapping[str, Points], late_penalty: Points = 0
) -> Fraction:
    """A notebook's score: per grade cell, the instructor's manual score where one was
    entered (as nbgrader and formgrader count it), else the automatic one, less the late
    penalty (:func:`late_adjusted`); never below 0.

    ``auto`` and ``manual`` map grade cell ids to points; a cell with a manual score that
    automatic grading did not score still counts.
    """
    cells = {**{k: exact(v) for k, v in auto.items()}, **{k: exact(v) for k, v in manual.items()}}
    return late_adjusted(sum(cells.values(), Fraction(0)), late_penalty)


def late_adjusted(score: Points, late_penalty: Points) -> Fraction:
    """``score`` less a late penalty in points, never below 0: the penalty is subtracted
    here and nowhere else, as nbgrader's own export counts ``late_submission_penalty``
    (``max(0, score - penalty)``). A negative penalty (a damaged row) counts as none."""
    return max(exact(score) - max(exact(late_penalty), Fraction(0)), Fraction(0))


def late_penalty_points(penalty_percent: Points, maximum: Points) -> Fraction:
    """A penalty of ``penalty_percent`` % (0–100) of a notebook's ``maximum`` points, in
    points: what nbgrader's ``SubmittedNotebook.late_submission_penalty`` stores. A share
    of the maximum, not of the score, so a manual regrade later leaves it right."""
    share = min(max(exact(penalty_percent), Fraction(0)), _HUNDRED)
    return share * max(exact(maximum), Fraction(0)) / _HUNDRED


def clamp_points(points: Points, maximum: Points) -> Fraction:
    """``points`` within ``0..maximum`` (NaN counts as nothing)."""
    return min(max(exact(points), Fraction(0)), max(exact(maximum), Fraction(0)))


def bounded_total(parts: Mapping[str, Points], maxima: Mapping[str, Points]) -> Fraction:
    """The automatic score of a notebook: the parts the source grades (``maxima``), each
    within ``0..`` its points there. A part the source does not grade counts nothing."""
    return sum(
        (clamp_points(parts[key], top) for key, top in maxima.items() if key in parts),
        Fraction(0),
    )


def _truncated(value: Fraction, decimals: int) -> str:
    scale = 10**decimals
    whole = math.floor(value * scale)
    sign = "-" if whole < 0 else ""
    digits = str(abs(whole)).rjust(decimals + 1, "0")
    if decimals == 0:
        return sign + digits
    text = f"{digits[:-decimals]}.{digits[-decimals:]}".rstrip("0").rstrip(".")
    return sign + text


def percent_text(value: Points, decimals: int = 1) -> str:
    """A percentage for people, truncated (never rounded up): 69.96 → ``69.9``, 70 → ``70``.

    A learner at 69.96 % must not read "70 %" beside a 70 % threshold they did not meet.
    """
    return _truncated(exact(value), decimals)


def points_text(value: Points) -> str:
    """Points for tables and CSV: up to six decimals, no trailing zeros (18.9 → ``18.9``)."""
    number = exact(value)
    if number.denominator == 1:
        return str(number.numerator)
    rounded = round(number, 6)
    text = f"{Decimal(rounded.numerator) / Decimal(rounded.denominator):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
