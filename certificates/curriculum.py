"""The course's eight exercises and the mastery areas each one assesses.

A certificate claims only what its exercises assessed: a level lists the mastery areas
whose assessing exercises are all among the exercises that level requires (see
:meth:`certificates.policy.LevelPolicy.mastery_areas`).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EXERCISES", "MASTERY_AREAS", "Exercise", "MasteryArea", "exercise"]


@dataclass(frozen=True)
class Exercise:
    """One graded notebook: its number, gradebook assignment name (slug) and title."""

    number: int
    slug: str
    title: str


@dataclass(frozen=True)
class MasteryArea:
    """A skill the course certifies, and the exercises whose hidden tests assess it."""

    key: str
    title: str
    summary: str
    exercises: frozenset[int]


EXERCISES: tuple[Exercise, ...] = (
    Exercise(1, "01-basic-operations", "Basic operations"),
    Exercise(2, "02-history-tracking", "History tracking"),
    Exercise(3, "03-dirty-keys-persistence", "Dirty keys and persistence"),
    Exercise(4, "04-json-serialization", "JSON serialization"),
    Exercise(5, "05-merging-distributed", "Merging and distribution"),
    Exercise(6, "06-runner-integration", "Runner integration"),
    Exercise(7, "07-advanced-patterns-performance", "Advanced patterns and performance"),
    Exercise(8, "08-master-challenge", "Master challenge: Context as a service"),
)

MASTERY_AREAS: tuple[MasteryArea, ...] = (
    MasteryArea(
        "state",
        "State fundamentals",
        "Creates contexts and reads and writes JSON values under dotted, namespaced keys.",
        frozenset({1}),
    ),
    MasteryArea(
        "history",
        "Change history and audit trails",
        "Reconstructs who changed what, and when, from a context's recorded history.",
        frozenset({2}),
    ),
    MasteryArea(
        "persistence",
        "Incremental persistence",
        "Saves only what changed, driven by dirty-key tracking, to keep storage I/O small.",
        frozenset({3}),
    ),
    MasteryArea(
        "serialization",
        "Serialization and data integrity",
        "Round-trips complete state through JSON without loss, edge cases included.",
        frozenset({4}),
    ),
    MasteryArea(
        "merging",
        "Merging and distributed integration",
        "Combines contexts produced by many workers and settles conflicting writes.",
        frozenset({5}),
    ),
    MasteryArea(
        "workflows",
        "Workflow integration",
        "Threads state through scriptlets and dependency-ordered recipe runs.",
        frozenset({6}),
    ),
    MasteryArea(
        "performance",
        "Performance and scalability patterns",
        "Applies caching, lazy loading, metrics, consistent hashing and sharding.",
        frozenset({7}),
    ),
    MasteryArea(
        "service",
        "Multi-tenant service architecture",
        "Serves isolated contexts to many tenants with access control, audit and live metrics.",
        frozenset({8}),
    ),
)


def exercise(number: int) -> Exercise:
    """The exercise numbered ``number`` (1–8); ``KeyError`` for any other number."""
    for item in EXERCISES:
        if item.number == number:
            return item
    raise KeyError(number)
