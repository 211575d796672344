"""``observe(label, value)``: how hidden checks report what the learner's code did.

A hidden check never contains an expected value. It *observes* a value computed by the
learner's code; the trusted grader compares it, outside the learner's process, with the
value the reference solution produced for the same label.

Run in a notebook by an author or learner, ``observe`` just prints what it saw. Inside
the grading sandbox the grader installs its own sink (see :func:`set_sink`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

Sink = Callable[[str, str, Any], None]


def _print_sink(label: str, kind: str, value: Any) -> None:
    shown = value if kind == "value" else f"raises {value}"
    print(f"observed {label!r}: {shown!r}" if kind == "value" else f"observed {label!r}: {shown}")


_sink: Sink = _print_sink

# Outside grading (an author running the source notebook, nbval), hidden tests draw the
# same inputs every time. Grading sets a seed the parent chose for this grading, so inputs
# seen in one grading's feedback do not predict the next grading's.
DEFAULT_SEED = 2026
_seed = DEFAULT_SEED


def set_sink(sink: Sink | None) -> None:
    """Route observations to ``sink(label, kind, value)``; ``None`` restores printing."""
    global _sink
    _sink = sink or _print_sink


def set_grading_seed(seed: int | None) -> None:
    """Seed :func:`grading_random` for this grading; ``None`` restores the default."""
    global _seed
    _seed = DEFAULT_SEED if seed is None else int(seed)


def grading_random() -> random.Random:
    """A fresh ``random.Random`` seeded for this grading, for hidden tests' inputs.

    Each call starts over from the seed, so a test cell that calls it once draws the same
    inputs in the learner's run and in the reference run of the same grading.
    """
    return random.Random(_seed)


def observe(label: str, value: Any) -> None:
    """Report ``value`` under ``label``.

    If ``value`` is callable it is called with no arguments: an exception it raises is
    observed as the exception's class name (kind ``"raises"``); a value it returns is
    observed as that value.
    """
    if not isinstance(label, str) or not label:
        raise TypeError("observe() needs a non-empty string label")
    if callable(value):
        try:
            result = value()
        except Exception as exc:  # the exception *is* the observation
            _sink(label, "raises", type(exc).__name__)
            return
        _sink(label, "value", result)
        return
    _sink(label, "value", value)
