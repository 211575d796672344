"""The parent reads learner code for forbidden imports."""

from __future__ import annotations

import pytest

from grader.core.imports import forbidden_imports_in

POLICY = ["context_lib.service"]


@pytest.mark.parametrize(
    "code",
    [
        "import context_lib.service",
        "import context_lib.service.app as app",
        "from context_lib.service import client",
        "from context_lib import service",
        "svc = __import__('context_lib.service')",
        "import importlib\nimportlib.import_module('context_lib.service.client')",
        "%time import context_lib.service",
        "def broken(:\n    import context_lib.service",
    ],
)
def test_forbidden_imports_are_found(code: str) -> None:
    assert forbidden_imports_in(code, POLICY) == POLICY


@pytest.mark.parametrize(
    "code",
    [
        "import context_lib",
        "from context_lib import Context",
        "import context_lib.services_x",
        "# context_lib.service is off limits\nx = 1",
    ],
)
def test_allowed_code_is_not_flagged(code: str) -> None:
    assert forbidden_imports_in(code, POLICY) == []
