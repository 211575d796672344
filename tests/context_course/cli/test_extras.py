"""Extras that fit the users: a command whose extra is missing says in one line what to install.

The missing module is simulated (the import system is asked, as the check asks it), so
these run on a full developer install.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from context_course import extras
from context_course.cli import main

ROOT = Path(__file__).resolve().parents[3]


def _without(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    real = extras._installed
    monkeypatch.setattr(extras, "_installed", lambda m: m not in modules and real(m))


@pytest.mark.parametrize(
    ("argv", "module", "extra"),
    [
        (["grade", "submissions/"], "nbgrader", "instructor"),
        (["release"], "nbgrader", "instructor"),  # hatchling: release's own line (--no-wheel)
        (["hub", "up"], "jupyterhub", "hub"),
        (["roster", "import", "roster.csv"], "nbgrader", "instructor"),
        (["demo"], "weasyprint", "certificates"),
        (["certify", "--all"], "weasyprint", "certificates"),
        (["verify", "certificate.pdf"], "pyld", "certificates"),
        (["keys", "init"], "joserfc", "certificates"),
        (["cluster", "up"], "distributed", "cluster"),
        (["grade", "submissions/", "--scheduler", "tcp://h:8786"], "dask", "cluster"),
        (["grade", "s/", "--db", "postgresql+psycopg://u@h/db"], "psycopg", "cluster"),
        (["serve", "--port", "8750"], "uvicorn", "service"),
    ],
)
def test_a_missing_extra_is_one_line_naming_it(
    argv: list[str],
    module: str,
    extra: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _without(monkeypatch, module)
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"error: `context-course {argv[0]}` needs the {extra} extra ({module} is not "
        f"installed): pip install 'context-course[{extra}]'\n"
    )


def test_help_is_answered_without_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _without(monkeypatch, "nbgrader")
    assert main(["grade", "--help"]) == 0
    assert "Example" in capsys.readouterr().out


def test_learner_commands_need_no_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    every = {m for modules in extras.EXTRAS.values() for m in modules}
    _without(monkeypatch, *every)
    for argv in (["lab"], ["check", "3"], ["progress"], ["submit", "--id", "a"], ["run", "r"]):
        extras.require_command_extras(argv)  # raises if any of them needed an extra


def test_a_module_missing_deep_inside_a_command_is_one_line_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """course.toml names a PostgreSQL gradebook and psycopg is missing: no traceback."""
    (tmp_path / "course.toml").write_text('[course]\nid = "c"\n', encoding="utf-8")

    def no_driver(*args: object, **kwargs: object) -> None:
        raise ModuleNotFoundError("No module named 'psycopg'", name="psycopg")

    monkeypatch.setattr("context_course.cli.grading.load_catalog", no_driver)
    assert main(["report", "--course", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        "error: `context-course report` needs the cluster extra (psycopg is not installed): "
        "pip install 'context-course[cluster]'\n"
    )


def test_the_extras_declared_match_the_modules_checked() -> None:
    """Every extra the CLI names exists in pyproject.toml; the learner base has none of them."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = project["optional-dependencies"]
    assert set(extras.EXTRAS) <= set(declared)
    base = " ".join(project["dependencies"]).lower()
    for heavy in ("nbgrader", "weasyprint", "dask", "psycopg", "uvicorn", "starlette", "redis"):
        assert heavy not in base, heavy


def test_the_learner_library_imports_no_extra() -> None:
    """What check, progress, submit and lab run on needs nothing beyond the base install.

    The command modules too: `lab` once failed on a learner install because its module
    also held `demo`, which imports the certificates.
    """
    every = sorted({m for modules in extras.EXTRAS.values() for m in modules})
    code = (
        "import sys\n"
        f"blocked = {every!r}\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in blocked:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import context_lib, context_lib.runner, context_lib.persistence, context_lib.merge\n"
        "import grader.core.localcheck, context_course.progress, context_course.submit\n"
        "import context_course.workspace\n"
        "import context_course.checkpanel, grader.child.widgets, grader.core.sandbox\n"
        "import context_course.cli.learner, context_course.cli.run, context_course.cli.tour\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
