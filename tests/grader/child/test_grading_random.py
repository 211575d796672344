"""``grading_random``: hidden tests' inputs come from the seed the grading chose."""

from collections.abc import Iterator

import pytest

from grader import grading_random
from grader.child.observe import set_grading_seed


@pytest.fixture(autouse=True)
def _default_seed() -> Iterator[None]:
    yield
    set_grading_seed(None)


def draws(count: int = 5) -> list[int]:
    rng = grading_random()
    return [rng.randrange(10**9) for _ in range(count)]


def test_each_call_starts_over_from_the_seed() -> None:
    assert draws() == draws()


def test_a_grading_seed_changes_the_inputs_and_none_restores_the_default() -> None:
    default = draws()
    set_grading_seed(12345)
    seeded = draws()
    assert seeded != default
    assert draws() == seeded
    set_grading_seed(None)
    assert draws() == default
