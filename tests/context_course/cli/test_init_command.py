"""``context-course init``: a course folder for a real class that never commits learner data."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from context_course.cli import main
from context_course.course_init import CourseInitError, init_course
from grader.pipeline.config import load_course
from tests.services import require_binary

ROOT = Path(__file__).resolve().parents[3]
SLUGS = sorted(p.parent.name for p in (ROOT / "solutions").glob("*/*.ipynb"))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_init_makes_a_course_folder_with_settings_to_fill_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "init", str(tmp_path / "my-class"))
    assert code == 0, err
    root = tmp_path / "my-class"
    assert f"created the course folder {root} ({len(SLUGS)} notebooks)" in out
    course = load_course(root)
    shipped = load_course(ROOT)
    assert (course.id, course.name, course.version) == (shipped.id, shipped.name, shipped.version)
    assert course.source_dir == root / "solutions" and course.release_dir == root / "exercises"
    assert sorted(p.parent.name for p in course.source_dir.glob("*/*.ipynb")) == SLUGS
    assert sorted(p.parent.name for p in course.release_dir.glob("*/*.ipynb")) == SLUGS
    text = (root / "course.toml").read_text(encoding="utf-8")
    assert text.count("FILL IN") >= 2 and "issuer_id" in text and "db_url" in text
    assert course.raw["certificates"]["levels"] == shipped.raw["certificates"]["levels"]
    assert (root / "submissions").is_dir() and not any((root / "submissions").iterdir())
    assert "context-course grade submissions/" in (root / "NEXT-STEPS.md").read_text()


def test_the_gitignore_keeps_learner_data_keys_and_output_out_of_git(tmp_path: Path) -> None:
    git = require_binary("git", "git")
    root = tmp_path / "class"
    init_course(root)
    subprocess.run([git, "init", "-q", str(root)], check=True)
    private = [
        "roster.csv",
        "roster-2026-spring.csv",
        "submissions/ada.zip",
        "gradebook.db",
        "gradebook.db-journal",
        "output/grades.csv",
        "output/feedback/ada/index.html",
        "output/certificates/ada/certificate.pdf",
        "issuer-keys/keys.json",
        "autograded/ada/01-basic-operations/01-basic-operations.ipynb",
        ".cache/grader/reference.json",
    ]
    public = ["course.toml", "NEXT-STEPS.md", f"solutions/{SLUGS[0]}/{SLUGS[0]}.ipynb"]

    def ignored(path: str) -> bool:
        result = subprocess.run(
            [git, "-C", str(root), "check-ignore", "-q", "--no-index", path], check=False
        )
        return result.returncode == 0

    assert [p for p in private if not ignored(p)] == []
    assert [p for p in public if ignored(p)] == []


def test_init_refuses_an_existing_course_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "class"
    init_course(root)
    (root / "course.toml").write_text("# mine\n", encoding="utf-8")
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    code, out, err = run(capsys, "init", str(root))
    assert code == 2 and out == ""
    assert err.strip() == f"error: {root} already holds a course (course.toml); nothing was changed"
    assert (root / "course.toml").read_text(encoding="utf-8") == "# mine\n"
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before


def test_init_refuses_a_folder_holding_a_name_it_would_write(tmp_path: Path) -> None:
    (tmp_path / "submissions").mkdir()
    (tmp_path / "submissions" / "ada.zip").write_bytes(b"learner work")
    with pytest.raises(CourseInitError, match="already has submissions"):
        init_course(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["submissions"]


def test_init_fills_an_existing_folder_such_as_a_fresh_git_repository(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "README.md").write_text("our class\n", encoding="utf-8")
    init_course(tmp_path)
    assert load_course(tmp_path).source_dir.is_dir()
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == "our class\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".context-course-init-")]


def test_a_learner_package_cannot_start_a_class(tmp_path: Path) -> None:
    learner_course = tmp_path / "shipped"
    (learner_course / "exercises").mkdir(parents=True)
    (learner_course / "course.toml").write_text('[course]\nid = "c"\n', encoding="utf-8")
    with pytest.raises(CourseInitError, match="a learner package cannot start a class"):
        init_course(tmp_path / "class", source=learner_course)
    assert not (tmp_path / "class").exists()


def test_without_the_instructor_extra_init_says_what_to_install(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = __import__("context_course.extras", fromlist=["_installed"])._installed
    monkeypatch.setattr("context_course.extras._installed", lambda m: m != "nbgrader" and real(m))
    code, out, err = run(capsys, "init", str(tmp_path / "class"))
    assert code == 2 and out == ""
    assert err.strip() == (
        "error: `context-course init` needs the instructor extra (nbgrader is not installed): "
        "pip install 'context-course[instructor]'"
    )
    assert not (tmp_path / "class").exists()


def test_an_install_without_the_course_says_how_to_install_one_that_has_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pip install '.[instructor]'` (not -e) builds a wheel, which carries no solutions/."""
    monkeypatch.setattr("context_course.course_init.shipped_course_root", lambda: None)
    code, out, err = run(capsys, "init", str(tmp_path / "class"))
    assert code == 2 and out == ""
    assert err.startswith("error: this installation ships no course to start from")
    assert "pip install -e '.[instructor]'" in err and "--from DIR" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "class").exists()
    code, out, err = run(capsys, "init", str(tmp_path / "class"), "--from", str(ROOT))
    assert code == 0, err
    assert load_course(tmp_path / "class").source_dir.is_dir()
