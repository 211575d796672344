"""course.toml's grading switches: declared once, on by default, refused unless boolean."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.pipeline.config import CourseConfigError, load_course

ROOT = Path(__file__).resolve().parents[3]


def _course(tmp_path: Path, grader: str) -> Path:
    (tmp_path / "course.toml").write_text(f'[course]\nid = "c"\n\n[grader]\n{grader}\n')
    return tmp_path


def test_second_run_and_hidden_names_are_on_by_default(tmp_path: Path) -> None:
    settings = load_course(_course(tmp_path, "")).grader
    assert settings.second_run is True and settings.hidden_check_names is True


def test_the_shipped_course_declares_both_with_help_text() -> None:
    text = (ROOT / "course.toml").read_text(encoding="utf-8")
    for name in ("second_run", "hidden_check_names"):
        line = next(line for line in text.splitlines() if line.startswith(f"{name} ="))
        assert "#" in line, line
    settings = load_course(ROOT).grader
    assert settings.second_run and settings.hidden_check_names


@pytest.mark.parametrize("name", ["second_run", "hidden_check_names"])
def test_a_non_boolean_switch_is_one_clear_error(tmp_path: Path, name: str) -> None:
    with pytest.raises(CourseConfigError, match=f"{name} must be true or false"):
        load_course(_course(tmp_path, f'{name} = "no"'))
    assert load_course(_course(tmp_path, f"{name} = false")).grader.__dict__[name] is False
