"""The public names of cluster grading: sorted, documented, importable."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "grader.pipeline.cluster",
    "grader.pipeline.cluster_errors",
    "grader.pipeline.cluster_local",
    "grader.pipeline.cluster_worker",
]


@pytest.mark.parametrize("name", MODULES)
def test_public_names_are_sorted_and_documented(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__doc__
    assert list(module.__all__) == sorted(module.__all__)
    for public in module.__all__:
        value = getattr(module, public)
        if callable(value):
            assert value.__doc__, f"{name}.{public} has no docstring"


def test_the_cluster_error_is_a_pipeline_error() -> None:
    from grader.pipeline.cluster import ClusterError
    from grader.pipeline.errors import PipelineError

    assert issubclass(ClusterError, PipelineError)
