"""Issue 17 item 2: someone who can write the database (but has no master key) tampers
with the audit log; ``context-course serve verify-audit`` reports every kind of it."""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from context_course.cli import main
from context_lib.service import new_master_key, open_service
from context_lib.service.audit import VERSION, canonical


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, str]]:
    """A store with two tenants and a few audited writes; (database file, tenant id)."""
    monkeypatch.setenv("CONTEXT_SERVICE_MASTER_KEY", new_master_key())
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # the witness lives here
    db = tmp_path / "data" / "svc.db"
    service = open_service(f"sqlite:///{db}")
    try:
        victim = service.create_tenant("Victim")
        other = service.create_tenant("Other")
        for tenant in (victim, other):
            _, secret = service.issue_key(tenant.id, "write")
            p = service.authorize(secret, "write", "set")
            for i in range(4):
                service.write(p, "main", {f"k{i}": i}, who="mallory@example.com")
    finally:
        service.close()
    yield db, victim.id


def verify(capsys: pytest.CaptureFixture[str], db: Path) -> tuple[int, str, str]:
    code = main(["serve", "verify-audit", "--store", f"sqlite:///{db}"])
    out, err = capsys.readouterr()
    return code, out, err


def tamper(db: Path, change: Callable[[sqlite3.Connection], None]) -> None:
    with sqlite3.connect(db) as conn:
        change(conn)


def _sha(*parts: object) -> str:
    """What an attacker without the key can compute: the unkeyed hash of exactly what
    the entry's MAC covers (so an unkeyed chain would accept the forgery)."""
    return hashlib.sha256(canonical(list(parts))).hexdigest()


def test_an_untouched_store_verifies(
    capsys: pytest.CaptureFixture[str], store: tuple[Path, str]
) -> None:
    code, out, err = verify(capsys, store[0])
    assert code == 0 and out.startswith("audit log VALID") and not err


def test_a_rewritten_entry_with_recomputed_later_hashes_and_head(
    capsys: pytest.CaptureFixture[str], store: tuple[Path, str]
) -> None:
    db, victim = store

    def rewrite(conn: sqlite3.Connection) -> None:
        rows = conn.execute(
            "SELECT seq, ts, actor, action, status, digest FROM audit WHERE chain = ? ORDER BY seq",
            (victim,),
        ).fetchall()
        prev = conn.execute(
            "SELECT hash FROM audit WHERE chain = ? AND seq = 2", (victim,)
        ).fetchone()[0]
        for seq, ts, actor, action, status, digest in rows[2:]:
            status = 403 if seq == 3 else status  # the lie
            body = (VERSION, victim, seq, repr(float(ts)), actor, action, status, digest, prev)
            new = _sha(*body)
            conn.execute(
                "UPDATE audit SET status = ?, prev_hash = ?, hash = ? WHERE chain = ? AND seq = ?",
                (status, prev, new, victim, seq),
            )
            prev = new
        conn.execute("UPDATE audit_heads SET hash = ? WHERE chain = ?", (prev, victim))

    tamper(db, rewrite)
    code, _, err = verify(capsys, db)
    assert code == 1
    assert f"chain '{victim}' entry 3 was changed after it was written" in err


def test_a_cut_tail_with_the_head_moved_back(
    capsys: pytest.CaptureFixture[str], store: tuple[Path, str]
) -> None:
    db, victim = store

    def cut(conn: sqlite3.Connection) -> None:
        last = conn.execute("SELECT MAX(seq) FROM audit WHERE chain = ?", (victim,)).fetchone()[0]
        for table in ("audit", "audit_sealed"):
            conn.execute(f"DELETE FROM {table} WHERE chain = ? AND seq >= ?", (victim, last - 1))
        seq, hash_ = conn.execute(
            "SELECT seq, hash FROM audit WHERE chain = ? ORDER BY seq DESC LIMIT 1", (victim,)
        ).fetchone()
        conn.execute(
            "UPDATE audit_heads SET seq = ?, hash = ? WHERE chain = ?", (seq, hash_, victim)
        )

    tamper(db, cut)
    code, _, err = verify(capsys, db)
    assert code == 1 and "but the witness saw entry" in err and "removed from the end" in err


def test_a_forged_payload_with_a_new_salt(
    capsys: pytest.CaptureFixture[str], store: tuple[Path, str]
) -> None:
    db, victim = store

    def forge(conn: sqlite3.Connection) -> None:
        key, nonce = AESGCM.generate_key(256), secrets.token_bytes(12)
        body = json.dumps({"salt": secrets.token_hex(16), "payload": {"who": "someone@else"}})
        sealed = nonce + AESGCM(key).encrypt(nonce, body.encode(), victim.encode())
        conn.execute(
            "UPDATE audit_sealed SET sealed = ? WHERE chain = ? AND seq = "
            "(SELECT MAX(seq) FROM audit_sealed WHERE chain = ?)",
            (sealed, victim, victim),
        )

    tamper(db, forge)
    code, _, err = verify(capsys, db)
    assert code == 1 and "has a payload that was changed or forged" in err


def test_a_payload_moved_from_another_entry(
    capsys: pytest.CaptureFixture[str], store: tuple[Path, str]
) -> None:
    db, victim = store

    def move(conn: sqlite3.Connection) -> None:
        seqs = [
            r[0]
            for r in conn.execute(
                "SELECT seq FROM audit_sealed WHERE chain = ? ORDER BY seq", (victim,)
            )
        ]
        blob = conn.execute(
            "SELECT sealed FROM audit_sealed WHERE chain = ? AND seq = ?", (victim, seqs[0])
        ).fetchone()[0]
        conn.execute(
            "UPDATE audit_sealed SET sealed = ? WHERE chain = ? AND seq = ?",
            (blob, victim, seqs[-1]),
        )

    tamper(db, move)
    code, _, err = verify(capsys, db)
    assert code == 1 and "has a payload that was changed or forged" in err


def test_a_deleted_payload_row(capsys: pytest.CaptureFixture[str], store: tuple[Path, str]) -> None:
    db, victim = store
    tamper(
        db,
        lambda conn: conn.execute(
            "DELETE FROM audit_sealed WHERE chain = ? AND seq = "
            "(SELECT MIN(seq) FROM audit_sealed WHERE chain = ?)",
            (victim, victim),
        ),
    )
    code, _, err = verify(capsys, db)
    assert code == 1 and "lost its payload (deleted, not erased)" in err


def test_a_payload_marked_erased_by_someone_else(
    capsys: pytest.CaptureFixture[str], store: tuple[Path, str]
) -> None:
    db, victim = store
    tamper(
        db,
        lambda conn: conn.execute(
            "UPDATE audit_sealed SET sealed = NULL, erased = ? WHERE chain = ?",
            (_sha("erased"), victim),
        ),
    )
    code, _, err = verify(capsys, db)
    assert code == 1 and "removed without an erasure mark" in err


def test_a_whole_tenant_chain_deleted(
    capsys: pytest.CaptureFixture[str], store: tuple[Path, str]
) -> None:
    db, victim = store

    def delete(conn: sqlite3.Connection) -> None:
        for table in ("audit", "audit_sealed", "audit_heads"):
            conn.execute(f"DELETE FROM {table} WHERE chain = ?", (victim,))

    tamper(db, delete)
    code, _, err = verify(capsys, db)
    assert code == 1
    assert f"chain '{victim}' ends at entry 0 but the witness saw entry" in err


def test_a_deleted_witness_is_reported(
    capsys: pytest.CaptureFixture[str], store: tuple[Path, str], tmp_path: Path
) -> None:
    witnesses = list((tmp_path / "config").rglob("*.log"))
    assert len(witnesses) == 1
    witnesses[0].unlink()
    code, _, err = verify(capsys, store[0])
    assert code == 1 and "witness" in err and "missing or empty" in err


def test_lawful_erasure_keeps_the_log_valid(
    capsys: pytest.CaptureFixture[str], store: tuple[Path, str]
) -> None:
    db, victim = store
    assert main(["serve", "erase-tenant", victim, "--yes", "--store", f"sqlite:///{db}"]) == 0
    capsys.readouterr()
    code, out, _ = verify(capsys, db)
    assert code == 0 and "erased payload(s)" in out and " 0 erased" not in out
