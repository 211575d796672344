"""``context-course certify | publish | keys | verify | revoke`` run in-process via ``main``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from context_course.cli import main
from tests.certificates.builders import BRONZE, GOLD, NONE, build_gradebook

COURSE_TOML = Path(__file__).resolve().parents[3] / "course.toml"


@pytest.fixture
def course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A course folder with the shipped course.toml; keys under a tmp XDG_CONFIG_HOME."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    folder = tmp_path / "course"
    folder.mkdir()
    text = COURSE_TOML.read_text(encoding="utf-8")
    placeholder = 'issuer_url = "https://context-course.example/issuer"'
    assert placeholder in text
    mine = 'issuer_url = "https://courses.example.org/context"'
    (folder / "course.toml").write_text(text.replace(placeholder, mine), encoding="utf-8")
    monkeypatch.chdir(folder)
    return folder


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


DID = "did:web:courses.example.org:context"


def test_keys_init_refuses_to_overwrite_and_export_writes_the_did_document(
    course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "keys", "init")
    assert code == 0 and f"{DID}#z6Mk" in out
    assert (tmp_path / "xdg" / "context-course" / "issuer" / "keys.json").exists()
    code, _, err = run(capsys, "keys", "init")
    assert code == 2 and err.startswith("error: ") and "refusing to overwrite" in err
    assert len(err.strip().splitlines()) == 1
    code, out, _ = run(capsys, "keys", "export", "--out", str(tmp_path / "did.json"))
    assert code == 0 and "2 keys" in out
    document = json.loads((tmp_path / "did.json").read_text())
    assert document["id"] == DID
    code, out, _ = run(capsys, "keys", "rotate")
    assert code == 0 and "rotated" in out and "context-course publish" in out
    code, out, _ = run(capsys, "publish")
    assert code == 0 and "serve it at https://courses.example.org/context/" in out
    did = json.loads((course / "output" / "site" / "did.json").read_text())
    assert len(did["verificationMethod"]) == 4


def test_certify_and_publish_refuse_the_placeholder_issuer_in_one_line(
    course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(COURSE_TOML, course / "course.toml")
    build_gradebook(course / "gradebook.db", [GOLD])
    for command in (["certify", "--all"], ["publish"]):
        code, _, err = run(capsys, *command)
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert "placeholder" in err and "issuer_url" in err and "course.toml" in err


@pytest.mark.slow
@pytest.mark.needs("pdf", "poppler")
def test_certify_verify_revoke_from_the_command_line(
    course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = build_gradebook(course / "gradebook.db", [GOLD, BRONZE, NONE])
    code, out, err = run(capsys, "certify", "--all", "--json")
    assert code == 0, err
    outcomes = {o["learner"]: o for o in json.loads(out)}
    assert outcomes["ana"]["action"] == "issued" and outcomes["ana"]["level"] == "gold"
    assert outcomes["max"]["action"] == "not-eligible"
    code, out, _ = run(capsys, "certify", "--learner", "ana", "--db", url)
    assert code == 0 and "ana: unchanged Gold" in out

    certs = course / "output" / "certificates"
    site = course / "output" / "site"
    pdf = certs / "learners" / "ana" / "certificate.pdf"
    code, out, _ = run(capsys, "publish")
    assert code == 0, out
    code, out, _ = run(capsys, "verify", str(pdf), "--issuer", str(site))
    assert code == 0 and out.startswith("VALID: Ana Ñúñez-Gómez — Gold")
    code, out, _ = run(capsys, "verify", str(certs / "learners" / "zoe" / "badge.svg"), "--json")
    verdict = json.loads(out)
    assert code == 0 and verdict["status"] == "VALID" and verdict["level"] == "Bronze"
    assert verdict["revocation"] == "not revoked"  # this course's own published site
    assert verdict["issuer"]["id"] == DID

    cert_id = json.loads((certs / "learners" / "ana" / "credential.json").read_text())["id"]
    code, out, _ = run(capsys, "revoke", cert_id, "--reason", "issued in error")
    assert code == 0 and "revoked" in out and "context-course publish" in out
    code, out, _ = run(capsys, "publish")
    code, out, _ = run(capsys, "verify", str(pdf), "--issuer", str(site))
    assert code == 1 and out.startswith("INVALID: revoked")


def test_verify_reports_bad_input_in_one_line_and_exits_non_zero(
    course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"%PDF-1.7 truncated")
    code, out, _ = run(capsys, "verify", str(junk))
    assert code == 1 and out.startswith("INVALID: malformed input")
    # One rule: a file that cannot be read is an error (exit 2), whichever file it is.
    missing = tmp_path / "missing.pdf"
    code, out, err = run(capsys, "verify", str(missing), "--json")
    assert (code, out) == (2, "")
    assert err == f"error: cannot read certificate file {missing}: No such file or directory\n"
    code, out, err = run(capsys, "verify", str(junk), "--issuer", str(missing))
    assert (code, out) == (2, "")
    assert err.startswith("error: ") and str(missing) in err and err.count("\n") == 1


def test_certify_and_revoke_usage_errors_are_one_line(
    course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "certify")
    assert code == 2 and "--learner ID" in err and "--all" in err
    code, _, err = run(capsys, "certify", "--all", "--db", "sqlite:///nowhere/gb.db")
    assert code == 2 and "no gradebook at" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "revoke", "urn:uuid:nope", "--reason", "x")
    assert code == 2 and err.startswith("error: ") and "Traceback" not in err


@pytest.mark.parametrize(
    "command",
    [
        ["certify"],
        ["publish"],
        ["keys", "init"],
        ["keys", "export"],
        ["keys", "rotate"],
        ["verify"],
        ["revoke"],
    ],
)
def test_every_certificate_command_has_help_with_an_example(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0
    assert "Example:" in out and "context-course " + command[0] in out


def test_an_unwritable_key_folder_is_one_line_not_a_traceback(
    course: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the key folder's parent should be", encoding="utf-8")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(blocker))
    for command in (["keys", "init"], ["keys", "rotate"]):
        code, _, err = run(capsys, *command)
        assert code == 2 and err.startswith("error: "), command
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_bad_gradebook_url_is_one_line_without_the_password(
    course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (course / "notes.db").write_text("not a database", encoding="utf-8")
    for url, reason in (
        ("postgresql://grader:s3cret@127.0.0.1:9/gradebook", "connection"),
        ("sqlite:///notes.db", "file is not a database"),
    ):
        code, _, err = run(capsys, "certify", "--all", "--db", url)
        assert code == 2 and err.startswith("error: cannot open gradebook"), err
        assert reason in err and len(err.strip().splitlines()) == 1, err
        assert "s3cret" not in err
