"""The benchmarks' course builders: both graders get the same bytes and a fresh gradebook."""

from __future__ import annotations

from pathlib import Path

from benchmarks.courses import ROOT, NbgraderCourse, OurCourse, slugs, stage_submissions


def test_submissions_alternate_solved_and_blank_in_nbgraders_layout(tmp_path: Path) -> None:
    learners = stage_submissions(tmp_path / "submitted", 3)
    assert learners == ["learner000", "learner001", "learner002"]
    for learner, origin in zip(learners, ("solutions", "exercises", "solutions"), strict=True):
        for slug in slugs():
            staged = tmp_path / "submitted" / learner / slug / f"{slug}.ipynb"
            assert staged.read_bytes() == (ROOT / origin / slug / f"{slug}.ipynb").read_bytes()
    assert len(slugs()) == 8


def test_nbgrader_course_starts_each_run_from_the_template_without_earlier_output(
    tmp_path: Path,
) -> None:
    course = NbgraderCourse(tmp_path / "nb")
    (course.root / "source" / "01").mkdir(parents=True)
    (course.root / "release").mkdir()
    course.template.write_bytes(b"assignments only")
    course.gradebook.write_bytes(b"grades of the last run")
    (course.root / "autograded" / "x").mkdir(parents=True)
    other = course.clone(tmp_path / "other")
    for each in (course, other):
        each.fresh()
        assert each.gradebook.read_bytes() == b"assignments only"
        assert not (each.root / "autograded").exists()
    assert (other.root / "source" / "01").is_dir()
    command = course.command("autograde", "*")
    assert command[1:3] == ["autograde", "*"]
    assert f"--CourseDirectory.root={course.root}" in command


def test_our_course_gets_a_new_gradebook_and_no_output_each_run(tmp_path: Path) -> None:
    course = OurCourse(tmp_path / "ours").create()
    assert (course.root / "course.toml").read_bytes() == (ROOT / "course.toml").read_bytes()
    (course.root / ".cache" / "grader").mkdir(parents=True)
    (course.root / "output" / "feedback").mkdir(parents=True)
    first = course.grade_command(tmp_path / "submitted")
    second = course.grade_command(tmp_path / "submitted")
    assert first[first.index("--db") + 1] != second[second.index("--db") + 1]
    assert not (course.root / "output").exists()
    clone = course.clone(tmp_path / "clone")
    assert (clone.root / ".cache" / "grader").is_dir()  # the reference values travel along
