"""Commands start instantly: ``--help`` and the check panel import only what they use.

Each check runs in a fresh interpreter (a subprocess) and reads ``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("certificates", "jsonschema", "nbgrader", "dask", "starlette", "weasyprint")


def _loaded_roots(code: str) -> set[str]:
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    last = done.stdout.strip().splitlines()[-1]
    return {name.split(".")[0] for name in json.loads(last)}


def test_help_imports_no_command_module_and_no_heavy_library() -> None:
    loaded = _loaded_roots(
        "import contextlib, io\n"
        "from context_course.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    code = main(['--help'])\n"
        "assert code == 0 and 'certify' in out.getvalue(), out.getvalue()"
    )
    assert "context_course" in loaded  # the walk saw the CLI
    assert not set(HEAVY) & loaded
    assert not {"grader", "context_lib", "rfc3987_syntax", "lark"} & loaded


def test_a_command_loads_its_module_only_when_it_runs() -> None:
    loaded = _loaded_roots(
        "import contextlib, io\n"
        "from context_course.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['tour', '--help']) == 0\n"
    )
    assert "context_lib" in loaded or "context_course" in loaded
    assert not set(HEAVY) & loaded


def test_the_check_panel_imports_neither_certificates_nor_jsonschema() -> None:
    loaded = _loaded_roots("import context_course.checkpanel")
    assert "grader" in loaded
    assert not {"certificates", "jsonschema", "rfc3987_syntax", "nbgrader", "dask"} & loaded


def test_importing_certificates_does_not_compile_jsonschema() -> None:
    """jsonschema (and the RFC 3987 grammars it compiles) load on the first validation."""
    loaded = _loaded_roots("import certificates")
    assert "certificates" in loaded
    assert not {"jsonschema", "rfc3987_syntax"} & loaded


def test_a_command_that_reads_notebooks_builds_no_iri_grammar() -> None:
    """nbformat imports jsonschema; its RFC 3987 grammar (1.4 s) waits for an IRI check."""
    loaded = _loaded_roots(
        "import contextlib, io\n"
        "from context_course.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['check', '--help']) == 0\n"
        "import nbformat\n"
    )
    assert {"nbformat", "jsonschema"} <= loaded
    assert "lark" not in loaded
