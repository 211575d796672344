"""Issuing from an nbgrader gradebook: levels, idempotence, upgrades, evidence, failures."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from certificates import (
    GradebookError,
    LevelPolicy,
    RegistryError,
    RenderError,
    revoke,
    verify_bytes,
)
from certificates.curriculum import EXERCISES
from certificates.issue import certify, learner_folder, sign_certificate
from certificates.issuer import pin_keyring
from certificates.registry import Registry
from context_course.gradebook_scores import read_gradebook
from tests.certificates.builders import (
    COURSE_ID,
    ISSUER_DID,
    NOW,
    Student,
    add_evidence_table,
    build_gradebook,
    update_points,
)
from tests.certificates.conftest import Issued

LATER = NOW + timedelta(days=1)


def _copy(issued: Issued, tmp_path: Path) -> tuple[Issued, Path]:
    """A private copy of the session's course output and gradebook, safe to change."""
    out = tmp_path / "out"
    shutil.copytree(issued.out, out)
    db = tmp_path / "gradebook.db"
    shutil.copy(issued.db_url.removeprefix("sqlite:///"), db)
    settings = replace(issued.settings, output_dir=out)
    return Issued(settings=settings, keyring=issued.keyring, db_url=f"sqlite:///{db}"), db


def test_read_gradebook_gives_percent_scores_per_exercise(issued: Issued) -> None:
    records = {r.learner.id: r for r in read_gradebook(issued.db_url, "context-course")}
    assert sorted(records) == ["ana", "li", "max", "zoe"]
    assert records["ana"].percents()[2] == 95.0
    assert records["zoe"].percents().get(6) is None  # not submitted
    assert records["li"].learner.display_name == "李小龍"
    assert records["ana"].scores[1].submission_hash == ""  # no evidence table


def test_the_first_run_issues_the_right_level_to_each_learner(issued: Issued) -> None:
    registry = Registry.load(issued.out)
    levels = {r.learner_id: r.level for r in registry.records}
    assert levels == {"ana": "gold", "li": "silver", "zoe": "bronze"}
    assert not (issued.out / "max").exists()
    assert sorted(r.status_index for r in registry.records) == [0, 1, 2]
    for learner in ("ana", "li", "zoe"):
        names = sorted(p.name for p in issued.folder(learner).iterdir())
        assert names == [
            "badge.svg",
            "certificate.html",
            "certificate.pdf",
            "certificate.png",
            "credential.json",
            "credential.jwt",
        ]
    assert (issued.out / "revocations.json").exists()


def test_re_running_issues_nothing_new(issued: Issued, tmp_path: Path) -> None:
    copy, _ = _copy(issued, tmp_path)
    before = {p: p.read_bytes() for p in copy.out.rglob("*") if p.is_file()}
    records = read_gradebook(copy.db_url, "context-course")
    outcomes = certify(records, settings=copy.settings, keyring=copy.keyring, now=LATER)
    assert {o.learner_id: o.action for o in outcomes} == {
        "ana": "unchanged",
        "li": "unchanged",
        "max": "not-eligible",
        "zoe": "unchanged",
    }
    after = {p: p.read_bytes() for p in copy.out.rglob("*") if p.is_file()}
    changed = [p.name for p in before if before[p] != after[p]]
    assert changed == []
    assert len(Registry.load(copy.out).records) == 3


def test_a_regraded_holder_is_told_what_they_hold(issued: Issued, tmp_path: Path) -> None:
    copy, _ = _copy(issued, tmp_path)
    update_points(copy.db_url, "ana", [1, 1, 1, 1, 1, 1, 1, 1])
    records = read_gradebook(copy.db_url, "context-course", ["ana"])
    (outcome,) = certify(records, settings=copy.settings, keyring=copy.keyring, now=LATER)
    assert outcome.action == "not-eligible"
    assert (
        outcome.message.startswith("holds Gold") and "no level reached yet" not in outcome.message
    )


@pytest.mark.slow
def test_a_higher_level_supersedes_the_lower_one(issued: Issued, tmp_path: Path) -> None:
    copy, _ = _copy(issued, tmp_path)
    old = copy.credential("zoe")
    update_points(copy.db_url, "zoe", [7, 8, 9, 7.5, 8, 8, 8, None])
    records = read_gradebook(copy.db_url, "context-course", ["zoe"])
    (outcome,) = certify(records, settings=copy.settings, keyring=copy.keyring, now=LATER)
    assert outcome.action == "upgraded" and outcome.level == "silver"
    assert str(old["id"]) in outcome.message
    registry = Registry.load(copy.out)
    states = {r.id: (r.level, r.state) for r in registry.records if r.learner_id == "zoe"}
    assert states[str(old["id"])] == ("bronze", "superseded")
    assert states[str(outcome.credential_id)] == ("silver", "active")
    pinned = pin_keyring(copy.keyring, ISSUER_DID)
    new_pdf = (copy.folder("zoe") / "certificate.pdf").read_bytes()
    assert verify_bytes(new_pdf, issuer=pinned, now=LATER).level == "Silver"
    # The superseded certificate still tells the truth, so it still verifies.
    assert verify_bytes(json.dumps(old).encode(), issuer=pinned, now=LATER).valid


def test_a_revoked_certificate_is_not_re_issued_automatically(
    issued: Issued, tmp_path: Path
) -> None:
    copy, _ = _copy(issued, tmp_path)
    zoe = str(copy.credential("zoe")["id"])
    record, _ = revoke(copy.settings, zoe, reason="shared solutions")
    assert record.state == "revoked"
    records = read_gradebook(copy.db_url, "context-course", ["zoe"])
    (outcome,) = certify(records, settings=copy.settings, keyring=copy.keyring, now=LATER)
    assert outcome.action == "blocked" and "shared solutions" in outcome.message
    assert "--reissue-revoked" in outcome.message
    with pytest.raises(RegistryError, match="no certificate"):
        revoke(copy.settings, "urn:uuid:nope", reason="x")


def test_evidence_comes_from_the_grading_pipelines_table(issued: Issued, tmp_path: Path) -> None:
    copy, _ = _copy(issued, tmp_path)
    digest = "ab" * 32
    add_evidence_table(copy.db_url, {("ana", "03-dirty-keys-persistence"): f"sha256:{digest}"})
    (record,) = read_gradebook(copy.db_url, "context-course", ["ana"])
    assert record.scores[3].submission_hash == f"sha256:{digest}"
    credential, _ = sign_certificate(
        record,
        level_key="gold",
        settings=copy.settings,
        keyring=copy.keyring,
        status_index=9,
        now=NOW,
    )
    (evidence,) = credential["evidence"]
    assert evidence["id"] == f"urn:sha256:{digest}"
    assert evidence["type"] == ["Evidence"]
    assert "grader 0.1.0" in evidence["narrative"] and "policy 1" in evidence["narrative"]
    assert "evidence" not in issued.credential("ana")  # no table, no evidence


def test_one_learners_failure_does_not_stop_the_batch(
    issued: Issued, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = replace(issued.settings, output_dir=tmp_path / "fresh")

    def broken(*args: object, **kwargs: object) -> bytes:
        raise RenderError("the printer is on fire")

    monkeypatch.setattr("certificates.issue.pdf_document", broken)
    records = read_gradebook(issued.db_url, "context-course", ["zoe", "max"])
    outcomes = certify(records, settings=settings, keyring=issued.keyring, now=NOW)
    assert [(o.learner_id, o.action) for o in outcomes] == [
        ("zoe", "failed"),
        ("max", "not-eligible"),
    ]
    assert "on fire" in outcomes[0].message
    assert not (settings.output_dir / "learners" / "zoe").exists()
    assert Registry.load(settings.output_dir).records == []


def test_gradebook_problems_are_one_clear_error(issued: Issued, tmp_path: Path) -> None:
    with pytest.raises(GradebookError, match="no gradebook at"):
        read_gradebook(f"sqlite:///{tmp_path}/missing.db", "context-course")
    assert not (tmp_path / "missing.db").exists()
    with pytest.raises(GradebookError, match="no learner 'nobody'"):
        read_gradebook(issued.db_url, "context-course", ["nobody"])


def _set_manual_score(url: str, learner: str, exercise: int, value: float) -> None:
    """What an instructor typing into formgrader does (nbgrader does not bound it)."""
    import warnings

    from nbgrader.api import Gradebook

    slug = EXERCISES[exercise - 1].slug
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gradebook = Gradebook(url, course_id=COURSE_ID)
        try:
            gradebook.find_grade("answer", slug, slug, learner).manual_score = value
            gradebook.db.commit()
        finally:
            gradebook.close()
            gradebook.engine.dispose()


def test_a_manual_score_outside_the_points_buys_no_level(tmp_path: Path) -> None:
    kim = Student("kim", "Kim", "Park", "kim@example.org", [7, 7, 7, 7, 7, 7, 7, 9])
    url = build_gradebook(tmp_path / "gradebook.db", [kim])
    policy = LevelPolicy.default()
    (before,) = read_gradebook(url, COURSE_ID)
    assert policy.decide(before.percents()).key == "silver"  # type: ignore[union-attr]
    _set_manual_score(url, "kim", 1, 100)  # "100" typed for "10.0": 1000% would buy Gold
    (after,) = read_gradebook(url, COURSE_ID)
    assert after.percents()[1] == 100.0 and after.scores[1].score == 10.0
    assert policy.decide(after.percents()).key == "silver"  # type: ignore[union-attr]
    _set_manual_score(url, "kim", 2, -5)
    (negative,) = read_gradebook(url, COURSE_ID)
    assert negative.percents()[2] == 0.0 and negative.scores[2].score == 0.0


def test_learner_ids_never_share_a_certificate_folder(tmp_path: Path) -> None:
    ids = ["a+b", "a_b", "a@b", "Ana", "ana", "..x", "x.", "ünal", "_nal"]
    folders = [learner_folder(tmp_path, learner) for learner in ids]
    # distinct even on a case-insensitive file system (macOS, Windows)
    assert len({folder.name.lower() for folder in folders}) == len(ids)
    for folder in folders:
        assert folder.parent == tmp_path / "learners" and not folder.name.startswith(".")
    assert learner_folder(tmp_path, "ana").name == "ana"  # plain ids stay readable
