"""One batch of every malformed submission we could think of, with one honest learner.

Intake, admission and the parent-side steps must turn each into a one-line rejection
for that submission alone: no RecursionError, no stall, no crash; the honest learner is
graded as if alone.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from grader.core.deadline import TimeLimitExceeded, time_limit
from grader.pipeline import intake as intake_module
from grader.pipeline.batch import BatchSummary, grade_submissions
from grader.pipeline.config import Course
from grader.pipeline.dispatch import SerialExecutor
from grader.pipeline.intake import MANIFEST_NAME, IntakeLimits
from tests.grader.pipeline.builders import (
    answer,
    folder_submission,
    make_course,
    notebook,
    rewrite_zip,
    write_notebook,
    zip_submission,
)
from tests.grader.pipeline.fakes import FAKE

Members = dict[str, bytes]


def _deep(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"x": value}
    return value


def _set_notebook(members: Members, slug: str, data: bytes) -> Members:
    """Replace a notebook and update its hash in the manifest (as an attacker can)."""
    manifest = json.loads(members[MANIFEST_NAME])
    members[f"notebooks/{slug}.ipynb"] = data
    for entry in manifest["notebooks"]:
        if entry["name"] == slug:
            entry["sha256"] = hashlib.sha256(data).hexdigest()
    members[MANIFEST_NAME] = json.dumps(manifest).encode()
    return members


def _with_manifest(edit: Callable[[dict[str, Any]], Any]) -> Callable[[Members], Members]:
    def apply(members: Members) -> Members:
        manifest = json.loads(members[MANIFEST_NAME])
        members[MANIFEST_NAME] = json.dumps(edit(manifest) or manifest).encode()
        return members

    return apply


def _raw_manifest(data: bytes) -> Callable[[Members], Members]:
    return lambda members: {**members, MANIFEST_NAME: data}


def _learner(learner_id: object) -> Callable[[dict[str, Any]], Any]:
    def edit(manifest: dict[str, Any]) -> None:
        manifest["learner"]["id"] = learner_id

    return edit


def _notebook_bytes(**changes: Any) -> bytes:
    nb = notebook("01-alpha", answer("pass test-a1"))
    nb.update(changes)
    return json.dumps(nb).encode()


def _many_cells() -> bytes:
    nb = notebook("01-alpha", answer())
    filler = [
        {"cell_type": "markdown", "id": f"m{i}", "metadata": {}, "source": ""} for i in range(2001)
    ]
    nb["cells"] += filler
    return json.dumps(nb).encode()


ZIP_ATTACKS: dict[str, Callable[[Members], Members]] = {
    "deep-notebook-metadata": lambda m: _set_notebook(
        m, "01-alpha", _notebook_bytes(metadata={"deep": _deep(900)})
    ),
    "deep-notebook-array": lambda m: _set_notebook(m, "01-alpha", b"[" * 200_000 + b"]" * 200_000),
    "two-million-values": lambda m: _set_notebook(m, "01-alpha", b"[" + b"0," * 2_000_001 + b"0]"),
    "deep-manifest": _raw_manifest(b"[" * 200_000 + b"]" * 200_000),
    "manifest-deep-learner": _with_manifest(_learner(_deep(50))),
    "manifest-array": _raw_manifest(b"[]"),
    "manifest-not-utf8": _raw_manifest(b"\xff\xfe{}"),
    "id-path": _with_manifest(_learner("../../etc/passwd")),
    "id-registry-dotfile": _with_manifest(_learner(".registry.json")),
    "id-bidi-override": _with_manifest(_learner("ann\u202egpj.exe")),
    "id-number": _with_manifest(_learner(7)),
    "unlisted-member": lambda m: {**m, "extra.txt": b"hello"},
    "zip-slip-member": lambda m: {**m, "../../evil.py": b"x"},
    "too-many-cells": lambda m: _set_notebook(m, "01-alpha", _many_cells()),
    "not-utf8-notebook": lambda m: _set_notebook(m, "01-alpha", b"\xff\xfe{}"),
    "hash-mismatch": lambda m: {**m, "notebooks/01-alpha.ipynb": b"{}"},
    "many-members": lambda m: {**m, **{f"pad{i}": b"" for i in range(80)}},
}


def _make_hostile_zips(subs: Path) -> list[Path]:
    made = []
    for name, edit in ZIP_ATTACKS.items():
        # every hostile zip claims the honest learner's id unless it replaces it
        path = zip_submission(
            subs / name, "ann", {"01-alpha": answer("pass test-a1")}, output=subs / f"{name}.zip"
        )
        made.append(rewrite_zip(path, edit))
    (subs / "truncated.zip").write_bytes(b"PK\x03\x04\x14\x00broken")
    (subs / "empty.zip").write_bytes(b"")
    return made


def _make_hostile_folders(submitted: Path) -> None:
    def put(learner: str, data: bytes) -> None:
        path = submitted / learner / "01-alpha" / "01-alpha.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    put("deepfolder", b"[" * 200_000 + b"]" * 200_000)
    put("deepmeta", _notebook_bytes(metadata={"deep": _deep(900)}))
    put("notjson", b"{not json")
    fifo = submitted / "fifo" / "01-alpha" / "01-alpha.ipynb"
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)
    link = submitted / "linked" / "01-alpha" / "01-alpha.ipynb"
    link.parent.mkdir(parents=True)
    link.symlink_to("/etc/passwd")
    write_notebook(submitted / "bad..id" / "01-alpha" / "01-alpha.ipynb", notebook("01-alpha", ""))


def grade(course: Course, *paths: Path) -> BatchSummary:
    return grade_submissions(
        list(paths),
        course=course,
        executor=SerialExecutor(FAKE),
        console=Console(file=io.StringIO()),
        show_progress=False,
    )


@pytest.mark.slow
def test_every_malformed_submission_in_one_batch_costs_only_itself(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    subs = tmp_path / "subs"
    honest = folder_submission(
        subs / "submitted", "ann", {"01-alpha": answer("pass test-a1", "pass test-a2")}
    )
    _make_hostile_folders(subs / "submitted")
    zips = _make_hostile_zips(subs)
    summary = grade(course, subs)
    graded = {(i.learner_id, i.notebook): i.score for i in summary.items}
    assert graded == {("ann", "01-alpha"): 5.0}
    origins = {Path(r.origin).name for r in summary.rejected}
    assert {z.name for z in zips} | {"truncated.zip", "empty.zip"} <= origins
    for learner in ("deepfolder", "deepmeta", "notjson", "fifo", "linked"):
        assert any(r.learner_id == learner for r in summary.rejected), learner
    for rejection in summary.rejected:
        line = str(rejection)
        assert "\n" not in line and "Recursion" not in line and len(line) < 600, line
    nested = [r.reason for r in summary.rejected if "nested more than" in r.reason]
    assert len(nested) >= 5
    # The hostile zips all claimed "ann": none of them reached ann's pages.
    index = (course.output_dir / "feedback" / "ann" / "index.html").read_text("utf-8")
    assert "manifest" not in index and "archive" not in index
    assert (course.output_dir / "grades.csv").read_text("utf-8").count("\n") == 2
    assert honest.is_dir()


def test_a_submission_that_stalls_intake_is_rejected_and_the_batch_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    course = make_course(tmp_path / "course")
    subs = tmp_path / "subs"
    folder_submission(subs / "submitted", "ann", {"01-alpha": answer("pass test-a1")})
    folder_submission(subs / "submitted", "slow", {"01-alpha": answer("# stall")})
    real = intake_module.check_notebook_bytes

    def stall_on_marker(data: bytes, **kwargs: Any) -> dict[str, Any]:
        if b"# stall" in data:  # stands for a parse path we have not found yet
            while True:
                pass
        return real(data, **kwargs)

    monkeypatch.setattr(intake_module, "check_notebook_bytes", stall_on_marker)
    summary = grade_submissions(
        [subs],
        course=course,
        executor=SerialExecutor(FAKE),
        console=Console(file=io.StringIO()),
        show_progress=False,
        limits=IntakeLimits(max_seconds=0.5),
    )
    assert {(i.learner_id, i.score) for i in summary.items} == {("ann", 2.0)}
    (rejection,) = summary.rejected
    assert rejection.learner_id == "slow" and "took longer than 0.5 s" in rejection.reason
    assert (course.output_dir / "feedback" / "slow" / "index.html").is_file()


def test_time_limit_interrupts_a_loop_and_restores_the_outer_limit() -> None:
    with (
        pytest.raises(TimeLimitExceeded, match=r"spinning took longer than 0\.2 s"),
        time_limit(0.2, "spinning"),
    ):
        while True:
            pass
    with pytest.raises(TimeLimitExceeded, match="outer"), time_limit(0.3, "outer"):
        with time_limit(30, "inner"):
            pass  # the inner limit ended; the outer one must still fire
        while True:
            pass


def test_time_limit_holds_outside_the_main_thread_as_on_a_dask_worker() -> None:
    caught: list[BaseException] = []

    def spin() -> None:
        try:
            with time_limit(30, "outer"), time_limit(0.2, "spinning"):
                while True:
                    pass
        except TimeLimitExceeded as exc:
            caught.append(exc)
        with time_limit(0.05, "quick"):
            pass  # ends in time: nothing is raised later in this thread
        total = 0
        for number in range(200_000):
            total += number
        caught.append(ValueError(str(total)))

    worker = threading.Thread(target=spin)
    worker.start()
    worker.join()
    assert [str(exc) for exc in caught] == [
        "spinning took longer than 0.2 s",
        str(sum(range(200_000))),
    ]


def test_zip_members_are_never_written_outside_staging(tmp_path: Path) -> None:
    # zipfile itself never extracts here; this guards that intake reads members in memory.
    path = zip_submission(tmp_path, "ann", {"01-alpha": answer()})
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == [MANIFEST_NAME, "notebooks/01-alpha.ipynb"]


# Every name the output folders use for the course's own files and folders.
OWN_NAMES = [
    "registry.json",
    "issuer.json",
    "revocations.json",
    "index.html",
    "grades.csv",
    "report.html",
    "feedback",
    "certificates",
    "learners",
    "unverified",
    "autograded",
    "01-alpha.html",
]


def test_ids_that_are_the_courses_own_file_names_never_collide(tmp_path: Path) -> None:
    from certificates.issue import learner_folder

    course = make_course(tmp_path / "course")
    subs = tmp_path / "subs"
    for name in OWN_NAMES:
        folder_submission(subs / "submitted", name, {"01-alpha": answer("pass test-a1")})
    summary = grade(course, subs)
    assert summary.rejected == [] and summary.count("graded") == len(OWN_NAMES)
    out = course.output_dir
    assert (out / "grades.csv").is_file()  # still the class's file, not a learner folder
    grades = (out / "grades.csv").read_text("utf-8")
    assert all(f"\n{name}," in grades for name in OWN_NAMES)
    for name in OWN_NAMES:
        assert (out / "feedback" / name / "index.html").is_file()
        assert (course.root / "autograded" / name / "01-alpha" / "01-alpha.ipynb").is_file()
        certificate = learner_folder(out / "certificates", name)
        assert certificate.parent == out / "certificates" / "learners"
    # feedback/ and autograded/ hold nothing but the learners' folders
    assert sorted(p.name for p in (out / "feedback").iterdir()) == sorted(OWN_NAMES)
    assert sorted(p.name for p in (course.root / "autograded").iterdir()) == sorted(OWN_NAMES)
