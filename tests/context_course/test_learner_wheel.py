"""The learner package: built like `context-course release` builds it, opened, installed, used.

The wheel must hold the library, the learner tools, ``course.toml`` and the learner
notebooks, and nothing that gives an answer away; installed into a fresh virtual
environment (no system site-packages), it must find its own notebooks, not the repository's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import nbformat
import pytest

from context_course.learner_wheel import HOOK_SWITCH, audit_wheel, build_learner_wheel
from grader.authoring.release import find_leaks, secret_lines
from grader.pipeline.config import load_course

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(ROOT.glob("solutions/*/*.ipynb"))
SHIPPED = "context_course/_course"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_learner_wheel(load_course(ROOT), tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def contents(wheel: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(wheel) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_wheel_holds_packages_course_toml_and_every_learner_notebook(
    contents: dict[str, bytes],
) -> None:
    for package in (
        "context_lib",
        "grader",
        "certificates",
        "context_course",
        "context_course/cli",
        "scoring",
    ):
        assert f"{package}/__init__.py" in contents
    assert "certificates/policy.py" in contents and "context_course/checkpanel.py" in contents
    assert contents[f"{SHIPPED}/course.toml"] == (ROOT / "course.toml").read_bytes()
    notebooks = sorted(name for name in contents if name.endswith(".ipynb"))
    assert notebooks == [
        f"{SHIPPED}/exercises/{path.relative_to(ROOT / 'solutions').as_posix()}" for path in SOURCES
    ]
    for path in SOURCES:
        shipped = f"{SHIPPED}/exercises/{path.relative_to(ROOT / 'solutions').as_posix()}"
        learner = ROOT / "exercises" / path.relative_to(ROOT / "solutions")
        assert contents[shipped] == learner.read_bytes()


def test_nothing_in_the_wheel_gives_an_answer_away(wheel: Path, contents: dict[str, bytes]) -> None:
    for name, data in contents.items():
        parts = name.split("/")
        assert parts[0] in {
            "context_lib",
            "grader",
            "certificates",
            "context_course",
            "scoring",
        } or parts[0].endswith(".dist-info"), name
        assert not {"solutions", "tests", ".cache"} & set(parts[:-1]), name
        assert b"### BEGIN SOLUTION" not in data, name
        assert b"### BEGIN HIDDEN TESTS" not in data, name
        assert b"### END SOLUTION" not in data, name
    for path in SOURCES:
        source = nbformat.read(path, as_version=4)
        shipped = f"{SHIPPED}/exercises/{path.relative_to(ROOT / 'solutions').as_posix()}"
        learner = nbformat.reads(contents[shipped].decode("utf-8"), as_version=4)
        assert find_leaks(source, learner, shipped) == []
        secrets = secret_lines(source)
        cell_lines = {line.strip() for cell in learner.cells for line in cell.source.splitlines()}
        assert cell_lines & secrets == set(), shipped
    assert audit_wheel(wheel, load_course(ROOT)) == []


def _site_packages(python: Path) -> Path:
    out = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip())


PROBE = """
import json, sys
from pathlib import Path
import grader
from context_course.workspace import locate_release, shipped_course_root, sync_workspace
release = locate_release()
report = sync_workspace(Path(sys.argv[1]), release)
print(json.dumps({
    "grader": grader.__file__,
    "shipped": str(shipped_course_root()),
    "release": str(release.root),
    "course": [release.course_id, release.course_version],
    "added": report.added,
}))
"""


def test_installed_in_a_fresh_venv_it_finds_its_own_notebooks(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "learner-venv"
    venv.EnvBuilder(with_pip=False, system_site_packages=False).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            "--quiet",
            "--disable-pip-version-check",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    site = _site_packages(python)
    elsewhere = tmp_path / "home"
    elsewhere.mkdir()
    # the dependencies come from the test's environment; the package itself only from the wheel
    env = dict(os.environ, PYTHONPATH=sysconfig.get_paths()["purelib"], PYTHONNOUSERSITE="1")
    env.pop("PYTHONHOME", None)
    done = subprocess.run(
        [str(python), "-c", PROBE, str(elsewhere / "context-course-workspace")],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    seen = json.loads(done.stdout)
    assert Path(seen["grader"]).is_relative_to(site)
    assert Path(seen["shipped"]) == site / SHIPPED
    assert Path(seen["release"]) == site / SHIPPED / "exercises"
    course = load_course(ROOT)
    assert seen["course"] == [course.id, course.version]
    assert seen["added"] == [path.parent.name for path in SOURCES]
    for path in SOURCES:
        slug = path.parent.name
        copy = elsewhere / "context-course-workspace" / slug / f"{slug}.ipynb"
        assert copy.read_bytes() == (ROOT / "exercises" / slug / f"{slug}.ipynb").read_bytes()
    # the installed console script works from outside the repository, on that workspace
    progress = subprocess.run(
        [str(env_dir / "bin" / "context-course"), "progress", "--json"],
        cwd=elsewhere / "context-course-workspace",
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    notebooks = [entry["notebook"] for entry in json.loads(progress.stdout)["notebooks"]]
    assert notebooks == [path.parent.name for path in SOURCES]


def test_a_plain_build_of_the_repository_ships_no_course(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != HOOK_SWITCH}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    code = "import sys; from hatchling.build import build_wheel; print(build_wheel(sys.argv[1]))"
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    with zipfile.ZipFile(tmp_path / done.stdout.strip().splitlines()[-1]) as archive:
        names = archive.namelist()
    assert "grader/__init__.py" in names
    assert not [name for name in names if name.startswith(f"{SHIPPED}/")]
    assert not [name for name in names if name.endswith(".ipynb")]
