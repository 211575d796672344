"""``context-course serve`` and its operator subcommands, through ``main``."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from context_course.cli import main
from context_lib.service import new_master_key
from tests.conftest import free_port, wait_for_port


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CONTEXT_SERVICE_MASTER_KEY", new_master_key())
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # the audit witness
    return f"sqlite:///{tmp_path / 'svc.db'}"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def create(capsys: pytest.CaptureFixture[str], store: str, name: str = "Acme") -> tuple[str, str]:
    code, out, _ = run(capsys, "serve", "create-tenant", name, "--store", store, "--max-keys", "5")
    assert code == 0, out
    tenant = re.search(r"tenant:\s+(t_[0-9a-f]+)", out)
    key = re.search(r"admin key:\s+(cck_\S+)", out)
    assert tenant and key
    return tenant.group(1), key.group(1)


def test_operator_commands(capsys: pytest.CaptureFixture[str], store: str) -> None:
    tenant, _ = create(capsys, store)
    code, out, _ = run(capsys, "serve", "issue-key", tenant, "--role", "write", "--store", store)
    assert code == 0 and "(write)" in out
    key_id = re.search(r"key id:\s+(\w+)", out).group(1)  # type: ignore[union-attr]
    assert run(capsys, "serve", "revoke-key", tenant, key_id, "--store", store)[0] == 0
    code, out, _ = run(capsys, "serve", "tenants", "--json", "--store", store)
    assert code == 0 and '"max_keys": 5' in out and "Acme" in out
    code, out, _ = run(capsys, "serve", "limits", tenant, "--rate", "5", "--store", store)
    assert code == 0 and "rate=5/s" in out
    code, out, _ = run(capsys, "serve", "verify-audit", "--store", store)
    assert code == 0 and out.startswith("audit log VALID")
    assert run(capsys, "serve", "purge", "--store", store)[0] == 0
    code, _, err = run(capsys, "serve", "erase-tenant", tenant, "--store", store)
    assert code != 0 and "--yes" in err
    assert run(capsys, "serve", "erase-tenant", tenant, "--yes", "--store", store)[0] == 0
    code, out, _ = run(capsys, "serve", "tenants", "--store", store)
    assert "erased" in out
    code, out, _ = run(capsys, "serve", "master-key")
    assert code == 0 and len(out.strip()) == 44


def test_mistakes_are_one_line_errors(capsys: pytest.CaptureFixture[str], store: str) -> None:
    tenant, _ = create(capsys, store)
    cases = [
        ("serve", "issue-key", "t_nope", "--store", store),
        ("serve", "issue-key", tenant, "--role", "root", "--store", store),
        ("serve", "revoke-key", tenant, "000000000000", "--store", store),
        ("serve", "limits", tenant, "--store", store),
        ("serve", "tenants", "--store", "ftp://nowhere"),
        ("serve", "tenants", "--store", "sqlite://relative.db"),
    ]
    for argv in cases:
        code, _, err = run(capsys, *argv)
        assert code != 0, argv
        assert err.startswith("error: ") and err.count("\n") == 1, (argv, err)
        assert "Traceback" not in err


def test_a_port_in_use_is_one_line_before_anything_starts(
    capsys: pytest.CaptureFixture[str], store: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        code, out, err = run(capsys, "serve", "--port", port, "--store", store)
    assert code == 1
    assert err == (
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use; "
        "another server is using it: stop it or choose another --port\n"
    )
    assert "Context service on" not in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--store", "sqlite:///elsewhere.db", "tenants"], "--store goes after the subcommand"),
        (["--master-key-file", "k", "purge"], "--master-key-file goes after the subcommand"),
        (["--port", "9000", "tenants"], "--port applies only when serving, not to 'tenants'"),
    ],
)
def test_server_options_before_a_subcommand_are_refused_not_ignored(
    capsys: pytest.CaptureFixture[str], store: str, argv: list[str], message: str
) -> None:
    code, _, err = run(capsys, "serve", *argv)
    assert code == 2
    assert err.startswith(f"error: {message}") and err.count("\n") == 1


def test_a_master_key_file_that_cannot_be_created_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONTEXT_SERVICE_MASTER_KEY", raising=False)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    key_file = blocker / "master.key"
    store = f"sqlite:///{tmp_path / 'svc.db'}"
    code, _, err = run(
        capsys, "serve", "tenants", "--store", store, "--master-key-file", str(key_file)
    )
    assert code == 1
    assert err.startswith(f"error: cannot create the master key file {key_file}: ")
    assert err.count("\n") == 1


def test_a_wrong_master_key_is_refused(
    capsys: pytest.CaptureFixture[str], store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    create(capsys, store)
    monkeypatch.setenv("CONTEXT_SERVICE_MASTER_KEY", new_master_key())
    code, _, err = run(capsys, "serve", "tenants", "--store", store)
    assert code == 1 and "master key does not match" in err
    monkeypatch.setenv("CONTEXT_SERVICE_MASTER_KEY", "too-short")
    code, _, err = run(capsys, "serve", "tenants", "--store", store)
    assert code == 1 and "not 32 bytes" in err


def test_the_master_key_file_is_created_private(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONTEXT_SERVICE_MASTER_KEY", raising=False)
    key_file = tmp_path / "keys" / "master.key"
    store = f"sqlite:///{tmp_path / 'data' / 'svc.db'}"
    code, _, _ = run(
        capsys, "serve", "create-tenant", "A", "--store", store, "--master-key-file", str(key_file)
    )
    assert code == 0 and key_file.stat().st_mode & 0o777 == 0o600
    code, out, _ = run(
        capsys, "serve", "tenants", "--store", store, "--master-key-file", str(key_file)
    )
    assert code == 0 and " A" in out


def test_every_subcommand_has_help_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    names = [
        "create-tenant",
        "issue-key",
        "revoke-key",
        "tenants",
        "limits",
        "erase-tenant",
        "verify-audit",
        "purge",
        "master-key",
    ]
    for argv in [["serve", "--help"], *(["serve", name, "--help"] for name in names)]:
        code, out, _ = run(capsys, *argv)
        assert code == 0 and "Example" in out and "context-course serve" in out, argv


@pytest.mark.slow
def test_serve_runs_the_http_api(
    capsys: pytest.CaptureFixture[str], store: str, tmp_path: Path
) -> None:
    _, admin = create(capsys, store)
    port = free_port()
    env = {**os.environ, "CONTEXT_SERVICE_STORE": store}
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "context_course",
            "serve",
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
        ],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, process=proc)  # readiness: the port answers, or the server died
        # A loaded machine may take long to answer: generous bounds, never a race.
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            headers = {"Authorization": f"Bearer {admin}"}
            put = client.put(
                "/v1/contexts/app/values/greeting", json={"value": "hi"}, headers=headers
            )
            assert put.status_code == 200
            assert client.get("/v1/contexts/app/values/greeting", headers=headers).json() == {
                "key": "greeting",
                "value": "hi",
            }
            assert client.get("/v1/contexts/app").status_code == 401
            assert "paths" in client.get("/openapi.json").json()
    finally:
        proc.terminate()
        proc.wait(timeout=120)
        log.close()
    assert "Context service on http://127.0.0.1" in (tmp_path / "server.log").read_text()
    assert run(capsys, "serve", "verify-audit", "--store", store)[0] == 0
