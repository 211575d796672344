"""``context-course demo``: the instructor's whole job on the shipped course, end to end."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from certificates.check import verify_against_site
from context_course.cli import main
from context_course.demo import DemoError, run_demo


@pytest.mark.slow
@pytest.mark.needs("pdf", "poppler")
def test_demo_grades_gives_feedback_and_certificates_that_verify(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # runnable from any folder: it uses the shipped course
    assert main(["demo", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    out = tmp_path / "context-course-demo"
    assert result["out"] == str(out)
    learners = {row["id"]: row for row in result["learners"]}

    # grades: the solver gets everything, the empty and the hostile learners nothing real
    ada, grace, alan, mallory = (learners[k] for k in ("ada", "grace", "alan", "mallory"))
    assert ada["score"] == ada["max_score"] > 0
    assert 0 < grace["score"] < ada["score"]
    assert alan["score"] == 0
    assert mallory["score"] < 0.05 * ada["max_score"]
    with open(out / "output" / "grades.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    totals = {row["learner_id"]: float(row["total"]) for row in rows}
    assert totals == pytest.approx(
        {"ada": ada["score"], "grace": grace["score"], "alan": 0.0, "mallory": mallory["score"]},
        abs=1e-3,
    )

    # feedback pages for every learner, one per notebook plus an index
    for learner in ("ada", "grace", "alan", "mallory"):
        pages = sorted(p.name for p in (out / "output" / "feedback" / learner).iterdir())
        assert "index.html" in pages and len(pages) > 1
    assert (out / "output" / "report.html").is_file()

    # certificates: earned ones exist in every format, the others do not
    assert ada["certificate"] is not None and grace["certificate"] == "bronze"
    assert alan["certificate"] is None and mallory["certificate"] is None
    folder = out / "output" / "certificates" / "learners" / "ada"
    for name in (
        "certificate.pdf",
        "certificate.html",
        "certificate.png",
        "badge.svg",
        "credential.json",
        "credential.jwt",
    ):
        assert (folder / name).stat().st_size > 0, name
    assert not (out / "output" / "certificates" / "learners" / "alan").exists()

    # the demo verified one, and anyone can verify it again against the published site
    assert result["verdict"]["valid"] is True
    site = out / "output" / "site"
    assert (site / "did.json").is_file() and (site / "verify" / "index.html").is_file()
    verdict = verify_against_site(folder / "certificate.pdf", issuer=site)
    assert verdict.valid and verdict.learner == "Ada Lovelace"
    assert verdict.revocation == "not revoked"
    assert main(["verify", str(folder / "credential.jwt"), "--issuer", str(site)]) == 0
    assert "VALID" in capsys.readouterr().out

    # every credential the demo issued passes the ecosystem's own verifiers (vc.js, jose)
    from tests.certificates.test_standard_verifiers import run_js

    issued = sorted((out / "output" / "certificates" / "learners").glob("*/credential.*"))
    assert len(issued) >= 4
    verdicts = run_js(
        site, *issued, site / "revocations.json", issuer_url="https://context-course.example/issuer"
    )
    assert {name: row["error"] for name, row in verdicts.items() if not row["verified"]} == {}

    # the demo keys stay in the demo folder
    assert (out / "issuer-keys" / "keys.json").is_file()

    # running it again replaces the previous demo
    assert main(["demo", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["learners"][0]["score"] == ada["score"]


def test_demo_refuses_a_folder_that_holds_something_else(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "mine.txt").write_text("precious")
    assert main(["demo", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "not empty and was not made by the demo" in err
    assert "Traceback" not in err
    assert (tmp_path / "mine.txt").read_text() == "precious"


def test_demo_without_an_instructor_course(tmp_path: Path) -> None:
    (tmp_path / "course").mkdir()
    (tmp_path / "course" / "course.toml").write_text('[course]\nid = "x"\n')
    with pytest.raises(DemoError, match="needs the instructor notebooks"):
        run_demo(tmp_path / "out", course_dir=tmp_path / "course")
