"""Intake: every malformed submission is rejected with its reason; the rest is accepted."""

from __future__ import annotations

import json
import os
import stat
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from grader.pipeline.catalog import Catalog, load_catalog
from grader.pipeline.errors import IntakeError
from grader.pipeline.intake import (
    MANIFEST_NAME,
    IntakeLimits,
    IntakeReport,
    LearnerInfo,
    build_submission_zip,
    check_notebook_bytes,
    collect_submissions,
    read_manifest,
    validate_learner_id,
)
from grader.pipeline.received import ReceivedLedger
from tests.grader.pipeline.builders import (
    COURSE_ID,
    answer,
    folder_submission,
    make_course,
    notebook,
    rewrite_zip,
    write_notebook,
    zip_submission,
)


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return load_catalog(make_course(tmp_path / "course").source_dir)


def collect(paths: list[Path], catalog: Catalog, tmp_path: Path, **limits: int) -> IntakeReport:
    staging = tmp_path / "staging"
    staging.mkdir(exist_ok=True)
    return collect_submissions(
        paths,
        catalog=catalog,
        course_id=COURSE_ID,
        staging_dir=staging,
        limits=IntakeLimits(**limits),
    )


def only_reason(report: IntakeReport) -> str:
    assert len(report.rejected) == 1, [str(r) for r in report.rejected]
    line = str(report.rejected[0])
    assert "\n" not in line
    return report.rejected[0].reason


def good_zip(folder: Path, learner: str = "ann") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return zip_submission(
        folder, learner, {"01-alpha": answer("pass test-a1"), "02-beta": answer()}
    )


# ------------------------------------------------------------------ accepted shapes


def test_zip_and_folder_submissions_are_staged_with_their_hashes(
    catalog: Catalog, tmp_path: Path
) -> None:
    subs = tmp_path / "subs"
    zipped = good_zip(subs, "ann")
    folder_submission(subs / "submitted", "bob", {"02-beta": answer("pass test-b1")})
    report = collect([subs], catalog, tmp_path)
    assert report.rejected == []
    got = {(s.learner.id, s.notebook) for s in report.accepted}
    assert got == {("ann", "01-alpha"), ("ann", "02-beta"), ("bob", "02-beta")}
    for staged in report.accepted:
        assert staged.path.is_file() and staged.path.name == f"{staged.notebook}.ipynb"
        assert not staged.path.is_relative_to(subs)
        import hashlib

        assert hashlib.sha256(staged.path.read_bytes()).hexdigest() == staged.sha256
    assert zipped.name == "ann.zip"


def test_a_single_learner_folder_can_be_given(catalog: Catalog, tmp_path: Path) -> None:
    learner = folder_submission(tmp_path / "submitted", "cy", {"01-alpha": answer()})
    report = collect([learner], catalog, tmp_path)
    assert [(s.learner.id, s.notebook) for s in report.accepted] == [("cy", "01-alpha")]


def test_zip_manifest_proposes_name_and_email(catalog: Catalog, tmp_path: Path) -> None:
    path = zip_submission(
        tmp_path, "dee", {"01-alpha": answer()}, name="Dee Dee", email="dee@example.org"
    )
    report = collect([path], catalog, tmp_path)
    assert report.accepted[0].learner == LearnerInfo("dee", "Dee Dee", "dee@example.org")


def test_same_notebook_twice_in_one_batch_is_graded_once(catalog: Catalog, tmp_path: Path) -> None:
    path = good_zip(tmp_path / "a", "ann")
    learner = folder_submission(tmp_path / "submitted", "ann", {"01-alpha": answer()})
    report = collect([path, learner], catalog, tmp_path)
    assert len([s for s in report.accepted if s.notebook == "01-alpha"]) == 1
    assert "submitted twice" in only_reason(report)


# ------------------------------------------------------------------ malformed zips


def test_bad_zip_is_rejected_and_the_rest_graded(catalog: Catalog, tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    good_zip(subs, "ann")
    (subs / "broken.zip").write_bytes(b"PK\x03\x04 this is not really a zip")
    report = collect([subs], catalog, tmp_path)
    assert "not a valid zip archive" in only_reason(report)
    assert {s.learner.id for s in report.accepted} == {"ann"}


def _add_member(path: Path, name: str, data: bytes = b"x", mode: int | None = None) -> None:
    with zipfile.ZipFile(path, "a") as archive:
        info = zipfile.ZipInfo(name)
        if mode is not None:
            info.external_attr = mode << 16
        archive.writestr(info, data)


@pytest.mark.parametrize("name", ["../evil.ipynb", "/etc/evil", "a/../../evil", "C:evil", "a\\b"])
def test_zip_slip_paths_are_rejected(catalog: Catalog, tmp_path: Path, name: str) -> None:
    path = good_zip(tmp_path / "subs")
    _add_member(path, name)
    reason = only_reason(collect([path], catalog, tmp_path))
    assert "unsafe path" in reason and "zip-slip" in reason
    assert not (tmp_path / "evil.ipynb").exists()


def test_symlink_in_zip_is_rejected(catalog: Catalog, tmp_path: Path) -> None:
    path = good_zip(tmp_path / "subs")
    _add_member(path, "notebooks/link", b"/etc/passwd", mode=stat.S_IFLNK | 0o777)
    assert "symbolic link" in only_reason(collect([path], catalog, tmp_path))


def test_manifest_hash_mismatch_is_rejected(catalog: Catalog, tmp_path: Path) -> None:
    path = good_zip(tmp_path / "subs")

    def tamper(members: dict[str, bytes]) -> dict[str, bytes]:
        nb = notebook("01-alpha", answer("pass test-a1", "pass test-a2"))
        members["notebooks/01-alpha.ipynb"] = json.dumps(nb).encode()
        return members

    rewrite_zip(path, tamper)
    reason = only_reason(collect([path], catalog, tmp_path))
    assert "does not match the manifest's hash" in reason


def test_whole_zip_is_rejected_when_one_notebook_is_bad(catalog: Catalog, tmp_path: Path) -> None:
    path = good_zip(tmp_path / "subs")

    def corrupt(members: dict[str, bytes]) -> dict[str, bytes]:
        manifest = json.loads(members[MANIFEST_NAME])
        data = b"{not json"
        members["notebooks/02-beta.ipynb"] = data
        import hashlib

        for entry in manifest["notebooks"]:
            if entry["name"] == "02-beta":
                entry["sha256"] = hashlib.sha256(data).hexdigest()
        members[MANIFEST_NAME] = json.dumps(manifest).encode()
        return members

    rewrite_zip(path, corrupt)
    report = collect([path], catalog, tmp_path)
    assert report.accepted == []
    assert "notebook 02-beta is not JSON" in only_reason(report)
    assert report.rejected[0].learner_id == "ann"


def _edit_manifest(path: Path, **changes: object) -> Path:
    def edit(members: dict[str, bytes]) -> dict[str, bytes]:
        manifest = json.loads(members[MANIFEST_NAME])
        for key, value in changes.items():
            target, _, field = key.partition("__")
            if field:
                manifest[target][field] = value
            else:
                manifest[target] = value
        members[MANIFEST_NAME] = json.dumps(manifest).encode()
        return members

    return rewrite_zip(path, edit)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"format_version": 0}, "format version 0 is too old"),
        ({"format_version": 99}, "format version 99 is too new"),
        ({"format": "something-else"}, "not a context-course submission manifest"),
        ({"learner__id": "../../etc"}, "contains a path separator"),
        ({"learner__id": "a..b"}, "contains '..'"),
        ({"learner__id": "ann\x1b[31m"}, "contains control characters"),
        ({"learner__email": "not-an-email"}, "is not an email address"),
        ({"course__id": "other-course"}, "is for course 'other-course'"),
    ],
)
def test_manifest_problems_are_rejected(
    catalog: Catalog, tmp_path: Path, changes: dict[str, object], expected: str
) -> None:
    path = _edit_manifest(good_zip(tmp_path / "subs"), **changes)
    assert expected in only_reason(collect([path], catalog, tmp_path))


def test_unknown_notebook_name_in_manifest_is_rejected(catalog: Catalog, tmp_path: Path) -> None:
    path = zip_submission(tmp_path, "ann", {"01-alpha": answer()})

    def rename(members: dict[str, bytes]) -> dict[str, bytes]:
        manifest = json.loads(members[MANIFEST_NAME])
        manifest["notebooks"][0]["name"] = "99-nope"
        members[MANIFEST_NAME] = json.dumps(manifest).encode()
        return members

    rewrite_zip(path, rename)
    reason = only_reason(collect([path], catalog, tmp_path))
    assert "unknown notebook '99-nope'" in reason and "01-alpha, 02-beta" in reason


def test_file_not_in_manifest_is_rejected(catalog: Catalog, tmp_path: Path) -> None:
    path = good_zip(tmp_path / "subs")
    _add_member(path, "notebooks/extra.py", b"print('hi')")
    assert "does not list" in only_reason(collect([path], catalog, tmp_path))


def test_zip_without_manifest_is_rejected(catalog: Catalog, tmp_path: Path) -> None:
    path = tmp_path / "bare.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("01-alpha.ipynb", json.dumps(notebook("01-alpha", answer())))
    assert "no manifest.json" in only_reason(collect([path], catalog, tmp_path))


def test_oversized_zip_member_is_rejected_before_extraction(
    catalog: Catalog, tmp_path: Path
) -> None:
    path = good_zip(tmp_path / "subs")
    reason = only_reason(collect([path], catalog, tmp_path, max_notebook_bytes=100))
    assert "over the 100 bytes limit" in reason
    assert list((tmp_path / "staging").iterdir()) == []


def test_zip_bomb_with_a_lying_size_header_is_capped(catalog: Catalog, tmp_path: Path) -> None:
    path = good_zip(tmp_path / "subs")
    big = b"0" * 50_000

    def inflate(members: dict[str, bytes]) -> dict[str, bytes]:
        manifest = json.loads(members[MANIFEST_NAME])
        import hashlib

        manifest["notebooks"][0]["sha256"] = hashlib.sha256(big).hexdigest()
        members[MANIFEST_NAME] = json.dumps(manifest).encode()
        members["notebooks/01-alpha.ipynb"] = big
        return members

    rewrite_zip(path, inflate)
    # Patch the central directory's uncompressed size to claim 10 bytes.
    data = bytearray(path.read_bytes())
    name = b"notebooks/01-alpha.ipynb"
    central = data.find(b"PK\x01\x02" + bytes(0))
    while central != -1:
        name_len = int.from_bytes(data[central + 28 : central + 30], "little")
        if bytes(data[central + 46 : central + 46 + name_len]) == name:
            data[central + 24 : central + 28] = (10).to_bytes(4, "little")
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))
    reason = only_reason(collect([path], catalog, tmp_path, max_notebook_bytes=1000))
    assert "limit" in reason or "not a valid zip archive" in reason


# ------------------------------------------------------------------ malformed folders


def test_folder_notebook_problems_reject_only_that_notebook(
    catalog: Catalog, tmp_path: Path
) -> None:
    submitted = tmp_path / "submitted"
    folder_submission(submitted, "ann", {"01-alpha": answer("pass test-a1")})
    bad = submitted / "ann" / "02-beta" / "02-beta.ipynb"
    bad.parent.mkdir(parents=True)
    bad.write_text("{ this is not json", encoding="utf-8")
    report = collect([submitted], catalog, tmp_path)
    assert [(s.learner.id, s.notebook) for s in report.accepted] == [("ann", "01-alpha")]
    assert "is not JSON (line 1" in only_reason(report)
    assert report.rejected[0].notebook == "02-beta"


def _folder_with(tmp_path: Path, nb: dict[str, object] | bytes, learner: str = "ann") -> Path:
    path = tmp_path / "submitted" / learner / "01-alpha" / "01-alpha.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(nb if isinstance(nb, bytes) else json.dumps(nb).encode())
    return tmp_path / "submitted"


def test_nbformat_3_notebook_is_rejected(catalog: Catalog, tmp_path: Path) -> None:
    nb = notebook("01-alpha", answer())
    nb["nbformat"] = 3
    reason = only_reason(collect([_folder_with(tmp_path, nb)], catalog, tmp_path))
    assert "only nbformat 4 notebooks are accepted" in reason


def test_schema_invalid_notebook_is_rejected(catalog: Catalog, tmp_path: Path) -> None:
    nb = notebook("01-alpha", answer())
    nb["cells"][1]["cell_type"] = "spreadsheet"  # type: ignore[index]
    reason = only_reason(collect([_folder_with(tmp_path, nb)], catalog, tmp_path))
    assert "not a valid nbformat 4 notebook" in reason


def test_missing_cell_id_is_rejected(catalog: Catalog, tmp_path: Path) -> None:
    nb = notebook("01-alpha", answer())
    del nb["cells"][2]["id"]  # type: ignore[index]
    reason = only_reason(collect([_folder_with(tmp_path, nb)], catalog, tmp_path))
    assert "cell 3 has no id" in reason


def test_duplicate_cell_ids_are_rejected(catalog: Catalog, tmp_path: Path) -> None:
    nb = notebook("01-alpha", answer())
    nb["cells"][3]["id"] = nb["cells"][1]["id"]  # type: ignore[index]
    reason = only_reason(collect([_folder_with(tmp_path, nb)], catalog, tmp_path))
    assert "cells 2 and 4 share the id 'answer'" in reason


def test_200_mb_notebook_is_rejected_without_reading_it(catalog: Catalog, tmp_path: Path) -> None:
    path = tmp_path / "submitted" / "ann" / "01-alpha" / "01-alpha.ipynb"
    path.parent.mkdir(parents=True)
    with path.open("wb") as handle:
        handle.truncate(200 * 1024 * 1024)  # sparse: costs no disk and no read
    reason = only_reason(collect([tmp_path / "submitted"], catalog, tmp_path))
    assert "is 200 MiB, over the 20 MiB limit" in reason


def test_symlinked_notebook_is_rejected(catalog: Catalog, tmp_path: Path) -> None:
    secret = write_notebook(tmp_path / "secret.ipynb", notebook("01-alpha", answer()))
    link = tmp_path / "submitted" / "ann" / "01-alpha" / "01-alpha.ipynb"
    link.parent.mkdir(parents=True)
    os.symlink(secret, link)
    reason = only_reason(collect([tmp_path / "submitted"], catalog, tmp_path))
    assert "symbolic link" in reason


def test_symlinked_learner_folder_is_rejected(catalog: Catalog, tmp_path: Path) -> None:
    real = folder_submission(tmp_path / "elsewhere", "ann", {"01-alpha": answer()})
    (tmp_path / "submitted").mkdir()
    folder_submission(tmp_path / "submitted", "bob", {"01-alpha": answer()})
    os.symlink(real, tmp_path / "submitted" / "ann")
    report = collect([tmp_path / "submitted"], catalog, tmp_path)
    assert "symbolic link" in only_reason(report)
    assert {s.learner.id for s in report.accepted} == {"bob"}


def test_unknown_notebook_folder_is_rejected(catalog: Catalog, tmp_path: Path) -> None:
    submitted = tmp_path / "submitted"
    folder_submission(submitted, "ann", {"01-alpha": answer()})
    write_notebook(submitted / "ann" / "07-zeta" / "07-zeta.ipynb", notebook("01-alpha", ""))
    report = collect([submitted], catalog, tmp_path)
    assert "unknown notebook '07-zeta'" in only_reason(report)
    assert len(report.accepted) == 1


@pytest.mark.parametrize(
    ("learner", "expected"),
    [
        ("ann\x07", "contains control characters"),
        ("a..b", "contains '..'"),
        (".hidden-ish", None),  # folders starting with a dot are skipped, not graded
        ("ann smith", "may only contain"),
    ],
)
def test_bad_learner_folder_names_are_rejected(
    catalog: Catalog, tmp_path: Path, learner: str, expected: str | None
) -> None:
    submitted = _folder_with(tmp_path, notebook("01-alpha", answer()), learner=learner)
    report = collect([submitted], catalog, tmp_path)
    assert report.accepted == []
    if expected is None:
        assert report.rejected == []
    else:
        assert expected in only_reason(report)


def test_missing_path_is_rejected(catalog: Catalog, tmp_path: Path) -> None:
    assert "does not exist" in only_reason(collect([tmp_path / "nope"], catalog, tmp_path))


# ------------------------------------------------------------------ unit checks


@pytest.mark.parametrize("good", ["ann", "a.b-c_d@e+f", "Ünal", "x" * 64, "registry.json"])
def test_valid_learner_ids(good: str) -> None:
    assert validate_learner_id(good) == good


@pytest.mark.parametrize(
    "bad", ["", "a/b", "..", "a\nb", "x" * 65, ".a", "_a", "-a", "a.", "@", "a b", 7]
)
def test_invalid_learner_ids(bad: object) -> None:
    with pytest.raises(IntakeError):
        validate_learner_id(bad)


def test_not_utf8_notebook() -> None:
    with pytest.raises(IntakeError, match="not UTF-8"):
        check_notebook_bytes(b"\xff\xfe{}")


@pytest.mark.parametrize("depth", [100_000, 900, 65])
def test_deeply_nested_json_is_rejected(depth: int) -> None:
    with pytest.raises(IntakeError, match="nested more than 64 levels deep"):
        check_notebook_bytes(b"[" * depth + b"]" * depth)


def test_deep_metadata_in_an_otherwise_valid_notebook_is_rejected_before_validation() -> None:
    # 900 levels: json.loads manages it, nbformat's schema validation would recurse out.
    nested: object = 1
    for _ in range(900):
        nested = {"x": nested}
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"deep": nested}, "cells": []}
    with pytest.raises(IntakeError, match="nested more than 64 levels deep"):
        check_notebook_bytes(json.dumps(nb).encode())


def test_build_submission_zip_round_trips_through_read_manifest(
    catalog: Catalog, tmp_path: Path
) -> None:
    path = zip_submission(tmp_path, "ann", {"01-alpha": answer()}, name="Ann", email="a@b.co")
    with zipfile.ZipFile(path) as archive:
        manifest = read_manifest(archive.read(MANIFEST_NAME), catalog=catalog, course_id=COURSE_ID)
    assert manifest["format_version"] == 1
    assert manifest["learner"] == {"id": "ann", "name": "Ann", "email": "a@b.co"}
    assert [n["name"] for n in manifest["notebooks"]] == ["01-alpha"]
    assert not list(tmp_path.glob(".ann.zip.*.tmp"))


def test_build_submission_zip_refuses_a_bad_notebook_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "01-alpha.ipynb"
    bad.write_text("not json", encoding="utf-8")
    with pytest.raises(IntakeError, match="notebook 01-alpha is not JSON"):
        build_submission_zip(
            [bad],
            learner=LearnerInfo("ann"),
            course_id=COURSE_ID,
            course_version="t1",
            output=tmp_path / "out.zip",
        )
    assert not (tmp_path / "out.zip").exists()


# ------------------------------------------------------------------ hostile files


def _many_entries(path: Path, count: int) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for index in range(count):
            archive.writestr(f"e{index}", b"")
    return path


def test_a_long_member_list_is_refused_before_zipfile_parses_it(
    catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _many_entries(tmp_path / "many.zip", 2_000)

    def parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the central directory was parsed before the caps were checked")

    monkeypatch.setattr("grader.pipeline.intake.zipfile.ZipFile", parse)
    reason = only_reason(collect([path], catalog, tmp_path))
    assert "2000 entries" in reason and "over the limit of 64 entries" in reason


def test_an_end_record_that_understates_the_member_list_is_refused(
    catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _many_entries(tmp_path / "lying.zip", 5_000)
    data = bytearray(path.read_bytes())
    end = data.rfind(b"PK\x05\x06")
    data[end + 8 : end + 12] = (3).to_bytes(2, "little") * 2  # "3 entries" (this disk, total)
    path.write_bytes(bytes(data))

    def parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the central directory was parsed before the caps were checked")

    monkeypatch.setattr("grader.pipeline.intake.zipfile.ZipFile", parse)
    reason = only_reason(collect([path], catalog, tmp_path))
    assert "lists 3 entries in" in reason and "over the limit of 64 entries" in reason


@pytest.mark.timeout(30)
def test_a_fifo_posing_as_a_zip_is_rejected_without_blocking(
    catalog: Catalog, tmp_path: Path
) -> None:
    subs = tmp_path / "subs"
    good_zip(subs, "ann")
    os.mkfifo(subs / "zz-bob.zip")  # reading it would wait forever for a writer
    report = collect([subs], catalog, tmp_path)
    assert "zz-bob.zip is not a regular file" in only_reason(report)
    assert {s.learner.id for s in report.accepted} == {"ann"}


@pytest.mark.timeout(30)
def test_a_fifo_or_device_given_as_a_submission_is_one_rejection(
    catalog: Catalog, tmp_path: Path
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for given in (fifo, Path("/dev/null")):
        assert "is not a regular file" in only_reason(collect([given], catalog, tmp_path))


def test_a_notebook_folder_holding_a_fifo_rejects_only_that_notebook(
    catalog: Catalog, tmp_path: Path
) -> None:
    submitted = tmp_path / "submitted"
    folder_submission(submitted, "ann", {"01-alpha": answer()})
    (submitted / "ann" / "02-beta").mkdir()
    os.mkfifo(submitted / "ann" / "02-beta" / "02-beta.ipynb")
    report = collect([submitted], catalog, tmp_path)
    assert "not a regular file" in only_reason(report)
    assert [(s.learner.id, s.notebook) for s in report.accepted] == [("ann", "01-alpha")]


def test_a_notebook_with_absurdly_many_cells_is_rejected(catalog: Catalog, tmp_path: Path) -> None:
    nb = notebook("01-alpha", answer())
    filler = {"cell_type": "markdown", "metadata": {}, "source": "x"}
    nb["cells"] = [*nb["cells"], *({**filler, "id": f"f{i}"} for i in range(40))]
    report = collect([_folder_with(tmp_path, nb)], catalog, tmp_path, max_cells=30)
    assert only_reason(report) == "has 44 cells, over the limit of 30"


# ------------------------------------------------------------------ submission time


def _claim_created(path: Path, created: str) -> Path:
    def edit(members: dict[str, bytes]) -> dict[str, bytes]:
        manifest = json.loads(members[MANIFEST_NAME])
        manifest["created"] = created
        members[MANIFEST_NAME] = json.dumps(manifest).encode()
        return members

    return rewrite_zip(path, edit)


def _collect_seen(
    paths: list[Path], catalog: Catalog, tmp_path: Path, ledger: ReceivedLedger
) -> IntakeReport:
    staging = tmp_path / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    report = collect_submissions(
        paths,
        catalog=catalog,
        course_id=COURSE_ID,
        staging_dir=staging,
        first_seen=ledger.first_seen,
    )
    ledger.save()
    return report


def test_submission_time_is_first_sight_not_file_time_or_manifest_claim(
    catalog: Catalog, tmp_path: Path
) -> None:
    path = _claim_created(good_zip(tmp_path / "subs"), "1999-01-01T00:00:00Z")
    old = datetime(2020, 3, 4, 5, 6, 7, tzinfo=UTC).timestamp()
    os.utime(path, (old, old))  # a learner can set any file time
    ledger_path = tmp_path / "received.json"
    first = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    report = _collect_seen([path], catalog, tmp_path, ReceivedLedger(ledger_path, now=first))
    assert report.rejected == []
    assert {item.submitted_at for item in report.accepted} == {first}
    assert {item.claimed_at for item in report.accepted} == {datetime(1999, 1, 1, tzinfo=UTC)}
    # The same bytes handed in again later keep the time they were first seen.
    later = datetime(2026, 5, 1, tzinfo=UTC)
    again = _collect_seen([path], catalog, tmp_path / "b", ReceivedLedger(ledger_path, now=later))
    assert {item.submitted_at for item in again.accepted} == {first}


def test_without_a_ledger_files_count_as_received_now(catalog: Catalog, tmp_path: Path) -> None:
    path = good_zip(tmp_path / "subs")
    future = datetime(2999, 1, 1, tzinfo=UTC).timestamp()
    os.utime(path, (future, future))
    before = datetime.now(UTC)
    report = collect([path], catalog, tmp_path)
    after = datetime.now(UTC)
    assert report.accepted
    for item in report.accepted:
        assert item.submitted_at is not None
        assert before <= item.submitted_at <= after
